//! Auth flows under pressure: races for one code, failure throttling, expiry, and what
//! the database keeps.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::flows::{TestFlow, pyotp_at, successes};
use crate::harness::{Server, TestTenant};

/// Sends `body` to `rest` of each flow at once; the statuses.
async fn race(s: &Arc<Server>, flows: &[TestFlow], rest: &str, body: Value) -> Vec<StatusCode> {
    let jobs = flows
        .iter()
        .map(|f| (f.clone(), rest.to_owned(), body.clone()))
        .collect();
    crate::flows::race(s, jobs).await
}

async fn totp_user(s: &Server, t: &TestTenant, name: &str) -> (String, String, Vec<String>) {
    let user = s.user(t, name, "password").await;
    let (enrolled, verified) = s.enroll_totp(&s.flow_for(t, &user).await).await;
    let codes = verified["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (
        user,
        enrolled["otpauth_uri"].as_str().unwrap().to_owned(),
        codes,
    )
}

pub async fn concurrent_verifies_accept_one(s: Server) {
    let s = Arc::new(s);
    let t = s.tenant("Acme", "pro").await;
    s.policy(
        &t,
        json!({ "mode": "required", "factors": ["totp", "email"] }),
    )
    .await;

    // TOTP: one code raced from 20 flows of the user.
    let (user, uri, codes) = totp_user(&s, &t, "racer").await;
    let mut flows = Vec::new();
    for _ in 0..20 {
        flows.push(s.flow_for(&t, &user).await);
    }
    let factor = flows[0].first_factor();
    let code = pyotp_at(&uri, s.advance(30.0).await);
    let statuses = race(
        &s,
        &flows,
        "/verify",
        json!({ "factor_id": factor, "code": code }),
    )
    .await;
    assert_eq!(successes(&statuses), 1, "TOTP: {statuses:?}");

    // A recovery code raced from 20 flows (another user: the first one's failures count).
    let (user, _, codes2) = totp_user(&s, &t, "racer2").await;
    let mut flows = Vec::new();
    for _ in 0..20 {
        flows.push(s.flow_for(&t, &user).await);
    }
    let statuses = race(&s, &flows, "/verify", json!({ "recovery_code": codes2[3] })).await;
    assert_eq!(successes(&statuses), 1, "recovery code: {statuses:?}");
    assert_eq!(codes.len(), 10);

    // An email code raced 20 times in its flow.
    let mail = s.user(&t, "mailer", "password").await;
    let flow = s.flow_for(&t, &mail).await;
    let (verify, code, _) = s
        .begin_code_enrollment(
            &t,
            &flow,
            json!({ "type": "email" }),
            "mailer@example.com",
            1,
        )
        .await;
    let statuses = race(
        &s,
        &vec![flow.clone(); 20],
        &verify,
        json!({ "code": code }),
    )
    .await;
    assert_eq!(successes(&statuses), 1, "email enrollment: {statuses:?}");
    let flow = s.flow_for(&t, &mail).await;
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
    let code = s.nth_code(&t, "mailer@example.com", 2).await;
    let statuses = race(
        &s,
        &vec![flow.clone(); 20],
        "/verify",
        json!({ "factor_id": factor, "code": code }),
    )
    .await;
    assert_eq!(successes(&statuses), 1, "email sign-in: {statuses:?}");
}

pub async fn failures_throttle_until_time_or_reset(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    s.policy(&t, json!({ "mode": "required", "factors": ["totp"] }))
        .await;
    let (user, uri, _) = totp_user(&s, &t, "target").await;
    let flow = s.flow_for(&t, &user).await;
    let factor = flow.first_factor();
    let now = s.advance(30.0).await;
    let good = pyotp_at(&uri, now);
    let bad = format!(
        "{:06}",
        (good.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    let verify = |code: &str| json!({ "factor_id": factor, "code": code });
    for left in (0..5).rev() {
        let problem = s
            .expect_problem(
                Method::POST,
                &flow.path("/verify"),
                &flow.token,
                Some(verify(&bad)),
                StatusCode::BAD_REQUEST,
                "invalid_code",
            )
            .await;
        assert_eq!(problem["attempts_remaining"], left);
    }
    // The 5th failure earns a 30 s wait, even for the right code and in another flow.
    let problem = s
        .expect_problem(
            Method::POST,
            &flow.path("/verify"),
            &flow.token,
            Some(verify(&good)),
            StatusCode::LOCKED,
            "factor_locked",
        )
        .await;
    assert_eq!(problem["retry_after"], 30);
    let other = s.flow_for(&t, &user).await;
    s.expect_problem(
        Method::POST,
        &other.path("/verify"),
        &other.token,
        Some(verify(&good)),
        StatusCode::LOCKED,
        "factor_locked",
    )
    .await;
    s.advance(29.0).await;
    let problem = s
        .expect_problem(
            Method::POST,
            &flow.path("/verify"),
            &flow.token,
            Some(verify(&good)),
            StatusCode::LOCKED,
            "factor_locked",
        )
        .await;
    assert_eq!(problem["retry_after"], 1);
    // Time moved by the test clock releases it; the next failure doubles the wait.
    let now = s.advance(1.0).await;
    let bad = format!(
        "{:06}",
        (pyotp_at(&uri, now).parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    s.expect_problem(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(verify(&bad)),
        StatusCode::BAD_REQUEST,
        "invalid_code",
    )
    .await;
    let problem = s
        .expect_problem(
            Method::POST,
            &flow.path("/verify"),
            &flow.token,
            Some(verify(&bad)),
            StatusCode::LOCKED,
            "factor_locked",
        )
        .await;
    assert_eq!(problem["retry_after"], 60);
    let now = s.advance(60.0).await;
    let done = s
        .expect(
            Method::POST,
            &flow.path("/verify"),
            &flow.token,
            Some(verify(&pyotp_at(&uri, now))),
            StatusCode::OK,
        )
        .await;
    assert_eq!(done["state"], "completed");

    // 100 consecutive failures block MFA until an admin reset. Each try waits out the
    // delay (at most 15 minutes) in a new flow (a flow lives 15 minutes).
    let mut failures = 0;
    let last = loop {
        s.advance(15.0 * 60.0).await;
        let flow = s.flow_for(&t, &user).await;
        let (status, problem) = s
            .step(&flow, Method::POST, "/verify", Some(verify("000000")))
            .await;
        if status == StatusCode::LOCKED {
            assert!(problem.get("retry_after").is_none(), "{problem}");
            break flow;
        }
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        failures += 1;
        assert!(failures < 100, "not blocked after {failures} failures");
    };
    assert_eq!(failures, 99, "the 100th failure blocks");
    let problem = s
        .expect_problem(
            Method::POST,
            &last.path("/verify"),
            &last.token,
            Some(verify(&good)),
            StatusCode::LOCKED,
            "factor_locked",
        )
        .await;
    assert!(problem.get("retry_after").is_none(), "{problem}");
    s.advance(24.0 * 3600.0).await;
    let fresh = s.flow_for(&t, &user).await;
    assert_eq!(fresh.started["state"], "locked");
    s.expect_problem(
        Method::POST,
        &fresh.path("/verify"),
        &fresh.token,
        Some(verify(&good)),
        StatusCode::LOCKED,
        "factor_locked",
    )
    .await;
    let events = s
        .expect(
            Method::GET,
            &format!("/admin/v1/audit-events?type=mfa.blocked&user_id={user}"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
    s.expect(
        Method::POST,
        &format!("/admin/v1/users/{user}/mfa/reset"),
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let factors = s
        .expect(
            Method::GET,
            &format!("/admin/v1/users/{user}/factors"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (
            factors["data"].as_array().unwrap().len(),
            factors["recovery_codes_remaining"].as_u64()
        ),
        (0, Some(0))
    );
    assert_eq!(
        s.flow_for(&t, &user).await.started["state"],
        "enrollment_required"
    );
}

pub async fn codes_and_flows_expire(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    s.policy(&t, json!({ "mode": "required", "factors": ["email"] }))
        .await;
    let user = s.user(&t, "jo", "password").await;
    let flow = s.flow_for(&t, &user).await;
    let (verify, code, _) = s
        .begin_code_enrollment(&t, &flow, json!({ "type": "email" }), "jo@example.com", 1)
        .await;
    // 9:59 after sending: still good.
    s.advance(599.0).await;
    s.expect(
        Method::POST,
        &flow.path(&verify),
        &flow.token,
        Some(json!({ "code": code })),
        StatusCode::OK,
    )
    .await;
    // 10:00 after sending: expired.
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
    let code = s.nth_code(&t, "jo@example.com", 2).await;
    s.advance(600.0).await;
    s.expect_problem(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "factor_id": factor, "code": code })),
        StatusCode::BAD_REQUEST,
        "code_expired",
    )
    .await;
    // A flow lives 15 minutes.
    s.advance(300.0).await;
    s.expect_problem(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "factor_id": factor, "code": code })),
        StatusCode::GONE,
        "flow_expired",
    )
    .await;
    let seen = s
        .expect(Method::GET, &flow.path(""), &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(seen["state"], "expired");
    // Another flow's token names nothing here.
    let other = s.flow_for(&t, &user).await;
    s.expect_problem(
        Method::GET,
        &flow.path(""),
        &other.token,
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
