//! Attack cases, each able to fail: brute force spread over flows, fifty racers for one
//! code, SMS pumping.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::flows::{TestFlow, pyotp_at, race, successes};
use crate::harness::Server;

async fn wrong_guess(
    s: &Server,
    (flow, factor, code): &(TestFlow, String, String),
    remaining: u64,
) {
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let problem = s
        .expect_problem(
            Method::POST,
            &flow.path("/verify"),
            &flow.token,
            Some(json!({ "factor_id": factor, "code": wrong })),
            StatusCode::BAD_REQUEST,
            "invalid_code",
        )
        .await;
    assert_eq!(
        problem["attempts_remaining"], remaining,
        "the count is per user, not per flow"
    );
}

pub async fn brute_force_is_counted_across_flows_and_resends(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    s.policy(&t, json!({ "mode": "required", "factors": ["email"] }))
        .await;
    let user = s.user(&t, "victim", "password").await;
    let enroll_flow = s.flow_for(&t, &user).await;
    s.enroll_by_code(
        &t,
        &enroll_flow,
        json!({ "type": "email" }),
        "victim@example.com",
        1,
    )
    .await;
    // A new hour (5 codes per user per hour). Five flows; each sends a fresh code (which
    // voids the previous flow's: one live code per factor) and guesses wrong.
    s.advance(3601.0).await;
    let mut flows = Vec::new();
    for i in 0..5 {
        let flow = s.flow_for(&t, &user).await;
        let factor = flow.first_factor();
        s.expect(
            Method::POST,
            &flow.path("/challenges"),
            &flow.token,
            Some(json!({ "factor_id": factor })),
            StatusCode::CREATED,
        )
        .await;
        let code = s.nth_code(&t, "victim@example.com", 2 + i).await;
        flows.push((flow, factor, code));
        wrong_guess(&s, &flows[i], 4 - i as u64).await;
        s.advance(31.0).await;
    }
    // The earlier flows' codes were voided by the resends.
    let (flow, factor, code) = &flows[0];
    s.expect_problem(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "factor_id": factor, "code": code })),
        StatusCode::BAD_REQUEST,
        "code_expired",
    )
    .await;
    // Past the threshold even the right code is refused.
    s.advance(-31.0).await;
    let (flow, factor, code) = &flows[4];
    s.expect_problem(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "factor_id": factor, "code": code })),
        StatusCode::LOCKED,
        "factor_locked",
    )
    .await;
    // Released by time: the right code works.
    s.advance(30.0).await;
    s.expect(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "factor_id": factor, "code": code })),
        StatusCode::OK,
    )
    .await;
}

pub async fn fifty_racers_get_one_success(s: Server) {
    let s = Arc::new(s);
    let t = s.tenant("Acme", "pro").await;
    s.policy(
        &t,
        json!({ "mode": "required", "factors": ["totp", "email", "sms"] }),
    )
    .await;

    // TOTP, and a recovery code: one code, fifty flows of the user.
    for kind in ["totp", "recovery"] {
        let user = s.user(&t, &format!("{kind}-racer"), "password").await;
        let (enrolled, verified) = s.enroll_totp(&s.flow_for(&t, &user).await).await;
        let mut flows = Vec::new();
        for _ in 0..50 {
            flows.push(s.flow_for(&t, &user).await);
        }
        let factor = flows[0].first_factor();
        let now = s.advance(30.0).await;
        let body = if kind == "totp" {
            json!({ "factor_id": factor, "code": pyotp_at(enrolled["otpauth_uri"].as_str().unwrap(), now) })
        } else {
            json!({ "recovery_code": verified["recovery_codes"][0] })
        };
        let jobs = flows
            .into_iter()
            .map(|f| (f, "/verify".to_owned(), body.clone()))
            .collect();
        assert_eq!(successes(&race(&s, jobs).await), 1, "{kind}");
    }

    // Email and SMS codes: fifty verifies of the code in its flow.
    for (kind, contact) in [
        ("email", json!({ "email": "mail-racer@example.com" })),
        ("sms", json!({ "phone": "+14155550142" })),
    ] {
        let mut fields = json!({ "external_id": format!("{kind}-racer") });
        fields
            .as_object_mut()
            .unwrap()
            .extend(contact.as_object().unwrap().clone());
        let user = s.user_with(&t, fields).await;
        let destination = if kind == "email" {
            "mail-racer@example.com"
        } else {
            "+14155550142"
        };
        let flow = s.flow_for(&t, &user).await;
        let (verify, code, _) = s
            .begin_code_enrollment(&t, &flow, json!({ "type": kind }), destination, 1)
            .await;
        let jobs = (0..50)
            .map(|_| (flow.clone(), verify.clone(), json!({ "code": code })))
            .collect();
        assert_eq!(successes(&race(&s, jobs).await), 1, "{kind} enrollment");
        let flow = s.flow_for(&t, &user).await;
        let factor = flow.first_factor();
        s.advance(31.0).await;
        s.expect(
            Method::POST,
            &flow.path("/challenges"),
            &flow.token,
            Some(json!({ "factor_id": factor })),
            StatusCode::CREATED,
        )
        .await;
        let code = s.nth_code(&t, destination, 2).await;
        let jobs = (0..50)
            .map(|_| {
                (
                    flow.clone(),
                    "/verify".to_owned(),
                    json!({ "factor_id": factor, "code": code }),
                )
            })
            .collect();
        assert_eq!(successes(&race(&s, jobs).await), 1, "{kind} sign-in");
    }

    // Fifty completions of one flow: one result.
    s.policy(&t, json!({ "mode": "optional", "factors": ["totp"] }))
        .await;
    let user = s.user(&t, "skipper", "password").await;
    let flow = s.flow_for(&t, &user).await;
    let jobs = (0..50)
        .map(|_| (flow.clone(), "/skip".to_owned(), Value::Null))
        .collect();
    assert_eq!(successes(&race(&s, jobs).await), 1, "completions");
    // A completed flow is not verified or completed again.
    s.expect_problem(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "recovery_code": "0000-0000-0000-0000" })),
        StatusCode::CONFLICT,
        "flow_state",
    )
    .await;
    s.expect_problem(
        Method::POST,
        &flow.path("/skip"),
        &flow.token,
        None,
        StatusCode::CONFLICT,
        "flow_state",
    )
    .await;
}

pub async fn sms_pumping_stops_at_the_cap(s: Server) {
    let Ok(moto) = std::env::var("TWOSTEP_TEST_MOTO_URL") else {
        println!(
            "SKIPPED: SMS pumping against SNS (TWOSTEP_TEST_MOTO_URL is not set; ./scripts/test sets it)"
        );
        return;
    };
    let s = s.without_worker().await;
    let t = s.tenant("Pumped", "pro").await;
    s.expect(
        Method::PATCH,
        &format!("/admin/v1/tenants/{}", t.id),
        &s.operator,
        Some(json!({ "delivery_caps": { "sms": { "per_destination": 5, "per_tenant": 20 }, "email": { "per_destination": 10, "per_tenant": 2000 } } })),
        StatusCode::OK,
    )
    .await;
    s.policy(&t, json!({ "mode": "required", "factors": ["sms"] }))
        .await;
    // Valid NANP numbers nobody else uses here: exchange 234–299, a random block of 200.
    let random = uuid::Uuid::now_v7().as_u128();
    let exchange = 234 + (random % 66) as u64;
    let block = ((random >> 8) % 9_800) as u64;
    let numbers: Vec<String> = (0..200)
        .map(|i| format!("+1415{exchange}{:04}", block + i))
        .collect();
    let mut accepted = 0;
    for (i, number) in numbers.iter().enumerate() {
        let (status, created) = s
            .call(
                Method::POST,
                "/admin/v1/users",
                &t.key,
                Some(json!({ "external_id": format!("p{i}"), "phone": number })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{number}: {created}");
        let user = created["id"].as_str().unwrap().to_owned();
        let flow = s.flow_for(&t, &user).await;
        let (status, answer) = s
            .step(
                &flow,
                Method::POST,
                "/enrollments",
                Some(json!({ "type": "sms" })),
            )
            .await;
        match status {
            StatusCode::CREATED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => assert_eq!(answer["code"], "rate_limited"),
            other => panic!("{other}: {answer}"),
        }
    }
    assert_eq!(accepted, 20, "the tenant's hourly SMS cap");
    let mut worker = s.spawn_aws_worker(moto.as_str(), &[("TWOSTEP_SMS_SENDER", "sns")]);
    let sent_to_ours = || async {
        let state: Value = reqwest::get(format!("{moto}/moto-api/data.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state["sns"]["SMS"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|m| numbers.iter().any(|n| m["phone_number"] == n.as_str()))
                    .count()
            })
            .unwrap_or(0)
    };
    for _ in 0..300 {
        if sent_to_ours().await >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sent_to_ours().await, 20, "SNS saw a message past the cap");
    worker.signal_and_wait("-TERM");
}

/// Guesses sent in parallel are decided one at a time per user: no more wrong codes are
/// checked than the throttle allows, however many arrive at once.
pub async fn parallel_guesses_cannot_outrun_the_throttle(s: Server) {
    let s = Arc::new(s);
    let t = s.tenant("Acme", "pro").await;
    s.policy(&t, json!({ "mode": "required", "factors": ["totp"] }))
        .await;
    let user = s.user(&t, "target", "password").await;
    let (enrolled, _) = s.enroll_totp(&s.flow_for(&t, &user).await).await;
    let mut flows = Vec::new();
    for _ in 0..40 {
        flows.push(s.flow_for(&t, &user).await);
    }
    let factor = flows[0].first_factor();
    let now = s.advance(30.0).await;
    let good = pyotp_at(enrolled["otpauth_uri"].as_str().unwrap(), now);
    let mut checked = 0;
    // Several waves: each may find the user free, none may check more than the rule allows.
    for wave in 0..4 {
        let jobs = flows
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let wrong = format!(
                    "{:06}",
                    (good.parse::<u32>().unwrap() + 1 + i as u32) % 1_000_000
                );
                (
                    f.clone(),
                    "/verify".to_owned(),
                    json!({ "factor_id": factor, "code": wrong }),
                )
            })
            .collect();
        let statuses = race(&s, jobs).await;
        checked += statuses
            .iter()
            .filter(|s| **s == StatusCode::BAD_REQUEST)
            .count();
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::BAD_REQUEST || *s == StatusCode::LOCKED),
            "wave {wave}: {statuses:?}"
        );
    }
    assert!(
        checked <= 5,
        "{checked} wrong codes were checked before the first wait"
    );
    assert!(checked >= 1, "no guess was checked at all");
    // The user now waits: even the right code is refused.
    s.expect_problem(
        Method::POST,
        &flows[0].path("/verify"),
        &flows[0].token,
        Some(json!({ "factor_id": factor, "code": good })),
        StatusCode::LOCKED,
        "factor_locked",
    )
    .await;
}

/// Sends racing each other still stop exactly at the tenant's hourly cap.
pub async fn parallel_sends_stop_at_the_cap(s: Server) {
    let s = Arc::new(s);
    let t = s.tenant("Raced", "pro").await;
    s.expect(
        Method::PATCH,
        &format!("/admin/v1/tenants/{}", t.id),
        &s.operator,
        Some(json!({ "delivery_caps": { "sms": { "per_destination": 5, "per_tenant": 200 }, "email": { "per_destination": 10, "per_tenant": 15 } } })),
        StatusCode::OK,
    )
    .await;
    s.policy(&t, json!({ "mode": "required", "factors": ["email"] }))
        .await;
    let mut flows = Vec::new();
    for i in 0..40 {
        let user = s.user(&t, &format!("r{i}"), "password").await;
        flows.push(s.flow_for(&t, &user).await);
    }
    let jobs = flows
        .into_iter()
        .map(|f| (f, "/enrollments".to_owned(), json!({ "type": "email" })))
        .collect();
    let statuses = race(&s, jobs).await;
    let sent = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let capped = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((sent, capped), (15, 25), "{statuses:?}");

    // Ten resends racing for one factor: the 30 s cooldown lets one through (another
    // tenant: this one's hour is used up).
    let t = s.tenant("Resent", "pro").await;
    s.policy(&t, json!({ "mode": "required", "factors": ["email"] }))
        .await;
    let user = s.user(&t, "resender", "password").await;
    let flow = s.flow_for(&t, &user).await;
    s.enroll_by_code(
        &t,
        &flow,
        json!({ "type": "email" }),
        "resender@example.com",
        1,
    )
    .await;
    let flow = s.flow_for(&t, &user).await;
    let factor = flow.first_factor();
    s.advance(31.0).await;
    let jobs = (0..10)
        .map(|_| {
            (
                flow.clone(),
                "/challenges".to_owned(),
                json!({ "factor_id": factor }),
            )
        })
        .collect();
    let statuses = race(&s, jobs).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{statuses:?}");
}
