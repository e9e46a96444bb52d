//! The delivery worker as separate processes on the server's database: a crash mid-run,
//! two workers sharing a queue, graceful stop, and no code in the logs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use twostep_core::TenantId;
use twostep_core::crypto::SecretBox;
use twostep_queue::{Enqueued, Outgoing, Queue, enqueue};
use twostep_store::deliveries::{self, Caps};
use twostep_store::{DatabaseConnection, PageRequest, outbox};
use uuid::Uuid;

use crate::harness::{Backend, Process, Server, TEST_SECRET_KEY};

const WIDE: Caps = Caps {
    per_destination: 100_000,
    per_tenant: 100_000,
};

/// Fast leases and sweeps, so that recovery after a kill takes seconds.
const QUICK: &[(&str, &str)] = &[
    ("TWOSTEP_DELIVERY_LEASE_SECONDS", "2"),
    ("TWOSTEP_SWEEP_INTERVAL_SECONDS", "1"),
    ("TWOSTEP_ORPHAN_AFTER_SECONDS", "3"),
    ("TWOSTEP_DELIVERY_RETRY_BASE_MS", "100"),
];

struct Load {
    db: DatabaseConnection,
    tenant: Uuid,
    key: String,
    codes: Vec<String>,
}

/// Queues `n` emails with distinct 8-digit codes for a new tenant.
async fn queue_emails(s: &Server, n: usize) -> Load {
    let created = s.tenant("Acme", "pro").await;
    let tenant = TenantId::parse(&created.id).unwrap().uuid();
    let db = twostep_store::connect(s.database_url()).await.unwrap();
    let queue = Queue::setup(&db).await.unwrap();
    let secret_box = SecretBox::from_base64(TEST_SECRET_KEY).unwrap();
    let mut codes = Vec::new();
    for i in 0..n {
        let code = format!("{:08}", 73_000_000 + i * 7);
        let message = Outgoing {
            tenant_id: tenant,
            channel: "email",
            destination: format!("user{i}@example.com"),
            code: code.clone(),
            expires_at: chrono::Utc::now() + chrono::Duration::minutes(10),
        };
        let queued = enqueue(&db, &queue, &secret_box, message, WIDE)
            .await
            .unwrap();
        assert!(matches!(queued, Enqueued::Queued(_)));
        codes.push(code);
    }
    Load {
        db,
        tenant,
        key: created.key,
        codes,
    }
}

async fn sent(load: &Load) -> u64 {
    deliveries::count(&load.db, load.tenant, deliveries::SENT)
        .await
        .unwrap()
}

async fn wait_for_sent(load: &Load, at_least: u64, limit: Duration) {
    let start = Instant::now();
    while sent(load).await < at_least {
        assert!(
            start.elapsed() < limit,
            "only {} of {at_least} sent after {limit:?}",
            sent(load).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many times each code was written to the outbox.
async fn outbox_counts(load: &Load) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let mut cursor = None;
    loop {
        let page = outbox::list(&load.db, load.tenant, PageRequest { cursor, limit: 200 })
            .await
            .unwrap();
        for message in &page.items {
            let code = load
                .codes
                .iter()
                .find(|c| message.body.contains(c.as_str()))
                .expect("a known code");
            *counts.entry(code.clone()).or_default() += 1;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    counts
}

/// No log line holds a code as a token of its own.
fn assert_no_code_logged(logs: &[String], codes: &[String]) {
    for line in logs {
        for token in line.split(|c: char| !c.is_ascii_alphanumeric()) {
            assert!(
                !codes.iter().any(|c| c == token),
                "a code was logged: {line}"
            );
        }
        assert!(
            !line.contains("verification code is"),
            "a message was logged: {line}"
        );
    }
}

pub async fn worker_recovers_after_a_crash(s: Server) {
    let s = s.without_worker().await;
    let load = queue_emails(&s, 500).await;
    let mut first: Process = s.spawn_worker(4, QUICK);
    wait_for_sent(&load, 100, Duration::from_secs(120)).await;
    let status = first.signal_and_wait("-KILL");
    assert!(!status.success());
    let sent_at_kill = sent(&load).await;
    let in_flight = deliveries::count(&load.db, load.tenant, deliveries::SENDING)
        .await
        .unwrap();
    assert!(
        sent_at_kill < 500,
        "the worker finished before the kill; nothing was tested"
    );

    let second = s.spawn_worker(4, QUICK);
    wait_for_sent(&load, 500, Duration::from_secs(180)).await;
    let counts = outbox_counts(&load).await;
    let missing: Vec<_> = load
        .codes
        .iter()
        .filter(|c| !counts.contains_key(*c))
        .collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let twice: usize = counts.values().map(|n| n - 1).sum();
    eprintln!(
        "crash test ({:?}): {sent_at_kill} sent before SIGKILL, {in_flight} in flight, {twice} sent twice",
        s.backend
    );
    assert!(
        twice as u64 <= in_flight,
        "{twice} sent twice, but only {in_flight} were in flight"
    );
    assert_no_code_logged(&first.logs(), &load.codes);
    assert_no_code_logged(&second.logs(), &load.codes);
    assert_no_code_logged(&s.logs(), &load.codes);
}

pub async fn two_workers_share_the_queue(s: Server) {
    if s.backend == Backend::Sqlite {
        eprintln!(
            "SKIPPED: two worker processes share a queue on PostgreSQL only (SQLite has one writer)"
        );
        return;
    }
    let s = s.without_worker().await;
    let load = queue_emails(&s, 1000).await;
    let mut a = s.spawn_worker(4, QUICK);
    let mut b = s.spawn_worker(4, QUICK);
    wait_for_sent(&load, 1000, Duration::from_secs(240)).await;
    let counts = outbox_counts(&load).await;
    assert_eq!(counts.len(), 1000, "every delivery sent");
    assert!(
        counts.values().all(|n| *n == 1),
        "a delivery was sent twice"
    );
    let sends = |p: &Process| {
        p.logs()
            .iter()
            .filter(|l| l.contains("delivery sent"))
            .count()
    };
    let (by_a, by_b) = (sends(&a), sends(&b));
    eprintln!("two workers: {by_a} + {by_b} deliveries");
    assert_eq!(by_a + by_b, 1000);
    assert!(
        by_a > 0 && by_b > 0,
        "one worker did everything: {by_a} / {by_b}"
    );
    // SIGTERM: both stop cleanly.
    assert!(a.signal_and_wait("-TERM").success());
    assert!(b.signal_and_wait("-TERM").success());
    assert_no_code_logged(&a.logs(), &load.codes);
}

pub async fn worker_stops_gracefully(s: Server) {
    let s = s.without_worker().await;
    let load = queue_emails(&s, 20).await;
    let mut worker = s.spawn_worker(2, QUICK);
    wait_for_sent(&load, 20, Duration::from_secs(60)).await;
    let status = worker.signal_and_wait("-TERM");
    assert!(status.success(), "{status:?}: {:?}", worker.logs());
    assert!(
        worker
            .logs()
            .iter()
            .any(|l| l.contains("finishing jobs in flight"))
    );
    // The deliveries are visible to their tenant, masked, without codes; to no one else.
    let owner = load.key.clone();
    let (status, list) = s
        .call(
            Method::GET,
            "/admin/v1/deliveries?status=sent&limit=200",
            &owner,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let items = list["data"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    let first = &items[0];
    assert_eq!(
        (
            first["status"].as_str(),
            first["attempts"].as_i64(),
            first["channel"].as_str()
        ),
        (Some("sent"), Some(1), Some("email"))
    );
    assert!(
        first["destination"].as_str().unwrap().starts_with("u***@"),
        "{first}"
    );
    let text = list.to_string();
    assert!(
        !load.codes.iter().any(|c| text.contains(c.as_str())),
        "a code is in the deliveries list"
    );
    let id = first["id"].as_str().unwrap();
    let (status, one) = s
        .call(
            Method::GET,
            &format!("/admin/v1/deliveries/{id}"),
            &owner,
            None,
        )
        .await;
    assert_eq!((status, one["id"].as_str()), (StatusCode::OK, Some(id)));
    let (status, none) = s
        .call(
            Method::GET,
            "/admin/v1/deliveries?status=queued",
            &owner,
            None,
        )
        .await;
    assert_eq!(
        (status, none["data"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (status, _) = s
        .call(
            Method::GET,
            "/admin/v1/deliveries?status=lost",
            &owner,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let other = s.tenant("Other", "pro").await;
    let (status, body) = s
        .call(Method::GET, "/admin/v1/deliveries", &other.key, None)
        .await;
    assert_eq!(
        (status, body["data"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/admin/v1/deliveries/{id}"),
            &other.key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

pub async fn worker_sends_through_aws(s: Server) {
    let Ok(moto) = std::env::var("TWOSTEP_TEST_MOTO_URL") else {
        eprintln!(
            "SKIPPED: worker through SES/SNS (TWOSTEP_TEST_MOTO_URL is not set; ./scripts/test sets it)"
        );
        return;
    };
    let s = s.without_worker().await;
    let created = s.tenant("Acme Corp", "pro").await;
    let tenant = TenantId::parse(&created.id).unwrap().uuid();
    let domain = format!("w{}.example.com", Uuid::now_v7().simple());
    crate::harness::verify_ses_domain(&moto, &domain).await;

    let db = twostep_store::connect(s.database_url()).await.unwrap();
    let queue = Queue::setup(&db).await.unwrap();
    let secret_box = SecretBox::from_base64(TEST_SECRET_KEY).unwrap();
    let to_email = format!("ada@{domain}");
    let to_phone = format!("+1415555{:04}", Uuid::now_v7().as_u128() % 10_000);
    for (channel, destination, code) in [
        ("email", to_email.clone(), "80412233"),
        ("sms", to_phone.clone(), "80412244"),
    ] {
        let message = Outgoing {
            tenant_id: tenant,
            channel,
            destination,
            code: code.into(),
            expires_at: chrono::Utc::now() + chrono::Duration::minutes(10),
        };
        assert!(matches!(
            enqueue(&db, &queue, &secret_box, message, WIDE)
                .await
                .unwrap(),
            Enqueued::Queued(_)
        ));
    }
    let from = format!("no-reply@{domain}");
    let worker = s.spawn_aws_worker(
        moto.as_str(),
        &[
            ("TWOSTEP_EMAIL_SENDER", "ses"),
            ("TWOSTEP_EMAIL_FROM", from.as_str()),
            ("TWOSTEP_SMS_SENDER", "sns"),
            ("TWOSTEP_SNS_SENDER_ID", "Acme"),
        ],
    );
    let load = Load {
        db,
        tenant,
        key: created.key,
        codes: vec!["80412233".into(), "80412244".into()],
    };
    wait_for_sent(&load, 2, Duration::from_secs(60)).await;

    let state: serde_json::Value = reqwest::get(format!("{moto}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let email = state["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destinations"]["ToAddresses"][0] == to_email.as_str())
        .unwrap_or_else(|| panic!("no email to {to_email}"));
    assert_eq!(email["source"], from.as_str());
    assert_eq!(email["subject"], "Your Acme Corp verification code");
    assert!(email["body"].as_str().unwrap().contains("80412233"));
    let sms = state["sns"]["SMS"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["phone_number"] == to_phone.as_str())
        .unwrap_or_else(|| panic!("no SMS to {to_phone}"));
    assert!(
        sms["message"]
            .as_str()
            .unwrap()
            .starts_with("80412244 is your Acme Corp verification code")
    );
    // The provider's message ids are recorded; the codes are gone from the rows.
    let (_, list) = s
        .call(Method::GET, "/admin/v1/deliveries", &load.key, None)
        .await;
    for d in list["data"].as_array().unwrap() {
        assert_eq!(d["status"], "sent");
        assert!(
            d["provider_message_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{d}"
        );
    }
    assert_no_code_logged(&worker.logs(), &load.codes);
}
