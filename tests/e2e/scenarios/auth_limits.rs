//! Auth flows under pressure: races for one code, failure throttling, expiry, and what
//! the database keeps.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};

use crate::flows::{TestFlow, base32_decode, pyotp_at};
use crate::harness::{Server, TestTenant};

/// Sends `body` to `rest` of each flow at once; the statuses.
async fn race(s: &Arc<Server>, flows: &[TestFlow], rest: &str, body: Value) -> Vec<StatusCode> {
    let tasks: Vec<_> = flows
        .iter()
        .map(|flow| {
            let (s, flow, rest, body) = (s.clone(), flow.clone(), rest.to_owned(), body.clone());
            tokio::spawn(async move { s.step(&flow, Method::POST, &rest, Some(body)).await.0 })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

fn successes(statuses: &[StatusCode]) -> usize {
    statuses.iter().filter(|s| **s == StatusCode::OK).count()
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
    let factor = flows[0].started["factors"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
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
    let enrolled = s
        .expect(
            Method::POST,
            &flow.path("/enrollments"),
            &flow.token,
            Some(json!({ "type": "email" })),
            StatusCode::CREATED,
        )
        .await;
    let code = s.nth_code(&t, "mailer@example.com", 1).await;
    let verify = format!(
        "/enrollments/{}/verify",
        enrolled["enrollment_id"].as_str().unwrap()
    );
    let statuses = race(
        &s,
        &vec![flow.clone(); 20],
        &verify,
        json!({ "code": code }),
    )
    .await;
    assert_eq!(successes(&statuses), 1, "email enrollment: {statuses:?}");
    let flow = s.flow_for(&t, &mail).await;
    let factor = flow.started["factors"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
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
    let factor = flow.started["factors"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
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
    let enrolled = s
        .expect(
            Method::POST,
            &flow.path("/enrollments"),
            &flow.token,
            Some(json!({ "type": "email" })),
            StatusCode::CREATED,
        )
        .await;
    let code = s.nth_code(&t, "jo@example.com", 1).await;
    // 9:59 after sending: still good.
    s.advance(599.0).await;
    let verify = format!(
        "/enrollments/{}/verify",
        enrolled["enrollment_id"].as_str().unwrap()
    );
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
    let factor = flow.started["factors"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
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

/// The SQLite file (with its WAL), or on PostgreSQL a `pg_dump` and every row of every
/// table as JSON (bytea shows as hex).
async fn dump(s: &Server) -> Vec<u8> {
    if s.database_url().starts_with("sqlite:") {
        let path = s
            .database_url()
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        return bytes;
    }
    // pg_dump where it is installed and matches the server; every row as JSON besides.
    let mut out = Vec::new();
    if let Ok(dump) = std::process::Command::new("pg_dump")
        .args(["--data-only", s.database_url()])
        .output()
        && dump.status.success()
    {
        out.extend(dump.stdout);
    }
    let db = Database::connect(s.database_url()).await.unwrap();
    let tables = db
        .query_all_raw(Statement::from_string(DbBackend::Postgres, "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema IN ('public', 'apalis') AND table_type = 'BASE TABLE'"))
        .await
        .unwrap();
    for row in tables {
        let table: String = row.try_get("", "t").unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT row_to_json(x)::text AS j FROM {table} x"),
            ))
            .await
            .unwrap();
        for r in rows {
            let text: String = r.try_get("", "j").unwrap();
            out.extend(text.into_bytes());
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether `code` stands alone (no digit either side) somewhere in `haystack`.
fn holds_code(haystack: &[u8], code: &str) -> bool {
    let code = code.as_bytes();
    haystack.windows(code.len() + 2).any(|w| {
        !w[0].is_ascii_digit() && !w[w.len() - 1].is_ascii_digit() && &w[1..w.len() - 1] == code
    })
}

/// The email code sent to `to` through SES on moto.
async fn code_from_moto(moto: &str, to: &str) -> String {
    for _ in 0..300 {
        let state: Value = reqwest::get(format!("{moto}/moto-api/data.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let body = state["ses"]["Message"].as_array().and_then(|all| {
            all.iter()
                .find(|m| m["destinations"]["ToAddresses"][0] == to)
                .map(|m| m["body"].as_str().unwrap_or("").to_owned())
        });
        if let Some(body) = body {
            return body
                .split(|c: char| !c.is_ascii_digit())
                .find(|run| run.len() == 8)
                .unwrap_or_else(|| panic!("no code in {body}"))
                .to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no email to {to} at moto");
}

pub async fn no_plaintext_secrets_at_rest(s: Server) {
    // Email through SES on moto when it runs (./scripts/test), so that no outbox keeps a
    // copy of the message; the outbox sender stores messages by design.
    let moto = std::env::var("TWOSTEP_TEST_MOTO_URL").ok();
    let domain = format!("r{}.example.com", uuid::Uuid::now_v7().simple());
    let (s, mut worker) = match &moto {
        None => (s, None),
        Some(moto) => {
            let s = s.without_worker().await;
            let verified = reqwest::Client::new()
                .post(format!("{moto}/v2/email/identities"))
                .header("authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0")
                .json(&json!({ "EmailIdentity": domain }))
                .send()
                .await
                .unwrap();
            assert!(verified.status().is_success());
            let from = format!("no-reply@{domain}");
            let worker = s.spawn_worker(
                2,
                &[
                    ("TWOSTEP_EMAIL_SENDER", "ses"),
                    ("TWOSTEP_EMAIL_FROM", from.as_str()),
                    ("AWS_ENDPOINT_URL", moto.as_str()),
                    ("AWS_REGION", "us-east-1"),
                    ("AWS_ACCESS_KEY_ID", "test"),
                    ("AWS_SECRET_ACCESS_KEY", "test"),
                ],
            );
            (s, Some(worker))
        }
    };
    let t = s.tenant("Acme", "pro").await;
    // 8-digit codes: a chance match in the scanned bytes is then negligible.
    s.policy(&t, json!({ "mode": "required", "factors": ["totp", "email"], "otp": { "length": 8, "ttl_seconds": 600, "max_attempts": 5 } })).await;
    let user = s.user(&t, "kim", "password").await;
    let flow = s.flow_for(&t, &user).await;
    let (enrolled, verified) = s.enroll_totp(&flow).await;
    let secret = enrolled["secret"].as_str().unwrap().to_owned();
    let codes: Vec<String> = verified["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let address = format!("lee@{domain}");
    let mail = s
        .user_with(&t, json!({ "external_id": "lee", "email": address }))
        .await;
    let mail_flow = s.flow_for(&t, &mail).await;
    let enrolled_mail = s
        .expect(
            Method::POST,
            &mail_flow.path("/enrollments"),
            &mail_flow.token,
            Some(json!({ "type": "email" })),
            StatusCode::CREATED,
        )
        .await;
    let code = match &moto {
        Some(moto) => code_from_moto(moto, &address).await,
        None => s.nth_code(&t, &address, 1).await,
    };
    assert_eq!(code.len(), 8);
    // The code works (so it is the real one), then the scan.
    let verify = format!(
        "/enrollments/{}/verify",
        enrolled_mail["enrollment_id"].as_str().unwrap()
    );
    s.expect(
        Method::POST,
        &mail_flow.path(&verify),
        &mail_flow.token,
        Some(json!({ "code": code })),
        StatusCode::OK,
    )
    .await;

    let mut needles: Vec<(String, Vec<u8>)> = vec![
        ("totp secret (base32)".into(), secret.clone().into_bytes()),
        (
            "totp secret (hex)".into(),
            hex(&base32_decode(&secret)).into_bytes(),
        ),
        ("flow token".into(), flow.token.clone().into_bytes()),
        (
            "flow token (email flow)".into(),
            mail_flow.token.clone().into_bytes(),
        ),
        ("api key".into(), t.key.clone().into_bytes()),
    ];
    if s.database_url().starts_with("sqlite:") {
        needles.push(("totp secret (raw)".into(), base32_decode(&secret)));
    }
    for c in &codes {
        needles.push(("recovery code".into(), c.clone().into_bytes()));
        needles.push((
            "recovery code (plain)".into(),
            c.replace('-', "").into_bytes(),
        ));
    }
    let data = dump(&s).await;
    assert!(data.len() > 10_000, "the dump holds the data");
    assert!(holds(&data, b"kim"), "the scan can find what is stored");
    for (what, needle) in &needles {
        assert!(!holds(&data, needle), "{what} found in the database");
    }
    if moto.is_some() {
        assert!(
            !holds_code(&data, &code),
            "the email code found in the database"
        );
    } else {
        println!(
            "NOTE: email code not scanned in the database (outbox sender keeps messages; set TWOSTEP_TEST_MOTO_URL)"
        );
    }
    let mut logs = s.logs().join("\n");
    if let Some(worker) = worker.as_mut() {
        worker.signal_and_wait("-TERM");
        logs.push_str(&worker.logs().join("\n"));
    }
    for (what, needle) in needles
        .iter()
        .filter(|(w, _)| !w.contains("raw") && !w.contains("hex"))
    {
        assert!(!holds(logs.as_bytes(), needle), "{what} found in the logs");
    }
    assert!(
        !holds_code(logs.as_bytes(), &code),
        "email code in the logs"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
