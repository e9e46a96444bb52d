//! The worker on a real SQLite database and the real apalis queue, with scripted senders.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use twostep_delivery::{MessageId, OutboxSender};
use twostep_queue::{Enqueued, Outgoing, enqueue};
use twostep_store::audit::Actor;
use twostep_store::deliveries::{Caps, FAILED};
use twostep_store::{PageRequest, audit, outbox};

use super::*;

/// Fails with `failure` for the first `fail_times` calls, then succeeds; records texts.
struct Scripted {
    fail_times: usize,
    failure: SendError,
    calls: AtomicUsize,
    sent: Mutex<Vec<String>>,
}

impl Scripted {
    fn new(fail_times: usize, failure: SendError) -> Arc<Self> {
        Arc::new(Self {
            fail_times,
            failure,
            calls: AtomicUsize::new(0),
            sent: Mutex::new(Vec::new()),
        })
    }

    fn attempt(&self, text: &str) -> Result<MessageId, SendError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.fail_times {
            return Err(self.failure.clone());
        }
        self.sent.lock().unwrap().push(text.to_owned());
        Ok("provider-1".into())
    }
}

#[async_trait]
impl EmailSender for Scripted {
    async fn send_email(&self, email: &Email) -> Result<MessageId, SendError> {
        self.attempt(&email.text)
    }
}

#[async_trait]
impl SmsSender for Scripted {
    async fn send_sms(&self, sms: &Sms) -> Result<MessageId, SendError> {
        self.attempt(&sms.text)
    }
}

const WIDE: Caps = Caps {
    per_destination: 1000,
    per_tenant: 100_000,
};

struct Env {
    _dir: tempfile::TempDir,
    worker: Worker,
    tenant: Uuid,
}

async fn setup(sender: Arc<Scripted>) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = twostep_store::connect(&url).await.unwrap();
    twostep_store::migrate(&db).await.unwrap();
    let queue = Queue::setup(&db).await.unwrap();
    let (tenant, _) = tenants::create(&db, &Actor("operator".into()), "Acme", "pro", vec![9; 32])
        .await
        .unwrap();
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        lease: Duration::from_secs(60),
    };
    let worker = Worker {
        db,
        queue,
        secret_box: SecretBox::from_base64(&SecretBox::generate_base64()).unwrap(),
        email: sender.clone(),
        sms: sender,
        policy,
    };
    Env {
        _dir: dir,
        worker,
        tenant: tenant.id,
    }
}

async fn queue_code(env: &Env, channel: &'static str, code: &str, ttl: chrono::Duration) -> Uuid {
    let message = Outgoing {
        tenant_id: env.tenant,
        channel,
        destination: if channel == "sms" {
            "+14155552671".into()
        } else {
            "ada@example.com".into()
        },
        code: code.into(),
        expires_at: chrono::Utc::now() + ttl,
    };
    match enqueue(
        &env.worker.db,
        &env.worker.queue,
        &env.worker.secret_box,
        message,
        WIDE,
    )
    .await
    .unwrap()
    {
        Enqueued::Queued(id) => id,
        other => panic!("{other:?}"),
    }
}

async fn row(env: &Env, id: Uuid) -> twostep_store::entity::delivery::Model {
    deliveries::find(&env.worker.db, id).await.unwrap().unwrap()
}

#[tokio::test]
async fn sends_once_and_wipes_the_code() {
    let sender = Scripted::new(0, SendError::Permanent("x".into()));
    let env = setup(sender.clone()).await;
    let id = queue_code(&env, "email", "493021", chrono::Duration::minutes(10)).await;
    let queued = row(&env, id).await;
    assert!(queued.enqueued_at.is_some());
    let sealed = queued.secret.clone().unwrap();
    assert!(
        !sealed.windows(6).any(|w| w == b"493021"),
        "the code is stored in plaintext"
    );

    assert_eq!(env.worker.try_execute(id).await.unwrap(), Outcome::Sent);
    assert_eq!(
        env.worker.try_execute(id).await.unwrap(),
        Outcome::AlreadySent
    );
    let sent = sender.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("493021") && sent[0].contains("Acme"));
    let done = row(&env, id).await;
    assert_eq!((done.status.as_str(), done.attempts), (SENT, 1));
    assert_eq!(done.secret, None);
    assert_eq!(done.provider_message_id.as_deref(), Some("provider-1"));
}

#[tokio::test]
async fn transient_failures_are_retried_until_sent() {
    let sender = Scripted::new(2, SendError::Transient("Throttling (HTTP 400)".into()));
    let env = setup(sender.clone()).await;
    let id = queue_code(&env, "sms", "771204", chrono::Duration::minutes(10)).await;
    assert!(matches!(
        env.worker.try_execute(id).await.unwrap(),
        Outcome::Retrying(_)
    ));
    let failed = row(&env, id).await;
    assert_eq!(
        (failed.status.as_str(), failed.last_error.as_deref()),
        (FAILED, Some("Throttling (HTTP 400)"))
    );
    assert!(matches!(
        env.worker.try_execute(id).await.unwrap(),
        Outcome::Retrying(_)
    ));
    assert_eq!(env.worker.try_execute(id).await.unwrap(), Outcome::Sent);
    let done = row(&env, id).await;
    assert_eq!((done.status.as_str(), done.attempts), (SENT, 3));
    assert_eq!(sender.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn permanent_errors_and_exhausted_attempts_are_dead() {
    let sender = Scripted::new(
        usize::MAX,
        SendError::Permanent("MessageRejected (HTTP 400)".into()),
    );
    let env = setup(sender.clone()).await;
    let id = queue_code(&env, "email", "111111", chrono::Duration::minutes(10)).await;
    assert_eq!(env.worker.try_execute(id).await.unwrap(), Outcome::Dead);
    let dead = row(&env, id).await;
    assert_eq!(
        (dead.status.as_str(), dead.attempts, dead.secret.clone()),
        (DEAD, 1, None)
    );
    let events = audit::list(
        &env.worker.db,
        env.tenant,
        audit::Filter {
            action: Some("delivery.dead".into()),
            user_id: None,
        },
        PageRequest {
            cursor: None,
            limit: 10,
        },
    )
    .await
    .unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(env.worker.try_execute(id).await.unwrap(), Outcome::Skipped);

    let sender = Scripted::new(usize::MAX, SendError::Transient("HTTP 503".into()));
    let env = setup(sender.clone()).await;
    let id = queue_code(&env, "email", "222222", chrono::Duration::minutes(10)).await;
    for _ in 0..2 {
        assert!(matches!(
            env.worker.try_execute(id).await.unwrap(),
            Outcome::Retrying(_)
        ));
    }
    assert_eq!(env.worker.try_execute(id).await.unwrap(), Outcome::Dead);
    assert_eq!(row(&env, id).await.attempts, 3);
    assert_eq!(sender.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn expired_codes_are_not_sent() {
    let sender = Scripted::new(0, SendError::Permanent("x".into()));
    let env = setup(sender.clone()).await;
    let id = queue_code(&env, "sms", "333333", chrono::Duration::seconds(-1)).await;
    assert_eq!(env.worker.try_execute(id).await.unwrap(), Outcome::Expired);
    assert_eq!(row(&env, id).await.secret, None);
    assert!(sender.sent.lock().unwrap().is_empty());
    assert_eq!(
        env.worker.try_execute(Uuid::now_v7()).await.unwrap(),
        Outcome::Missing
    );
}

#[tokio::test]
async fn concurrent_runs_of_one_job_send_once() {
    let sender = Scripted::new(0, SendError::Permanent("x".into()));
    let env = setup(sender.clone()).await;
    let id = queue_code(&env, "email", "444444", chrono::Duration::minutes(10)).await;
    let worker = Arc::new(env.worker.clone());
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let worker = worker.clone();
            tokio::spawn(async move { worker.try_execute(id).await.unwrap() })
        })
        .collect();
    let mut sent = 0;
    for run in runs {
        if run.await.unwrap() == Outcome::Sent {
            sent += 1;
        }
    }
    assert_eq!(sent, 1);
    assert_eq!(sender.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn caps_stop_before_anything_is_stored() {
    let sender = Scripted::new(0, SendError::Permanent("x".into()));
    let env = setup(sender.clone()).await;
    let caps = Caps {
        per_destination: 2,
        per_tenant: 3,
    };
    let message = |to: &str| Outgoing {
        tenant_id: env.tenant,
        channel: "sms",
        destination: to.into(),
        code: "555555".into(),
        expires_at: chrono::Utc::now() + chrono::Duration::minutes(10),
    };
    let w = &env.worker;
    for _ in 0..2 {
        assert!(matches!(
            enqueue(
                &w.db,
                &w.queue,
                &w.secret_box,
                message("+14155550001"),
                caps
            )
            .await
            .unwrap(),
            Enqueued::Queued(_)
        ));
    }
    match enqueue(
        &w.db,
        &w.queue,
        &w.secret_box,
        message("+14155550001"),
        caps,
    )
    .await
    .unwrap()
    {
        Enqueued::Capped { retry_after } => {
            assert!((3500..=3600).contains(&retry_after), "{retry_after}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        enqueue(
            &w.db,
            &w.queue,
            &w.secret_box,
            message("+14155550002"),
            caps
        )
        .await
        .unwrap(),
        Enqueued::Queued(_)
    ));
    // The tenant's hourly cap (3) is reached whatever the number.
    assert!(matches!(
        enqueue(
            &w.db,
            &w.queue,
            &w.secret_box,
            message("+14155550003"),
            caps
        )
        .await
        .unwrap(),
        Enqueued::Capped { .. }
    ));
    let stored = deliveries::list(
        &w.db,
        env.tenant,
        None,
        PageRequest {
            cursor: None,
            limit: 50,
        },
    )
    .await
    .unwrap();
    assert_eq!(stored.items.len(), 3);
}

#[tokio::test]
async fn the_sweep_queues_deliveries_that_lost_their_job() {
    let env = setup(Scripted::new(0, SendError::Permanent("x".into()))).await;
    // A row stored without its job, as after a crash between commit and push.
    let id = Uuid::now_v7();
    let new = deliveries::NewDelivery {
        id,
        tenant_id: env.tenant,
        channel: "email",
        destination: "ada@example.com".into(),
        template: "otp_code",
        secret: env.worker.secret_box.seal(b"666666", id.as_bytes()),
        secret_key_id: env.worker.secret_box.key_id().into(),
        expires_at: chrono::Utc::now() + chrono::Duration::minutes(10),
    };
    deliveries::create(&env.worker.db, new, WIDE).await.unwrap();
    assert_eq!(
        env.worker.sweep(Duration::from_secs(600)).await.unwrap(),
        0,
        "too young to be orphaned"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        env.worker.sweep(Duration::from_millis(10)).await.unwrap(),
        1
    );
    assert!(row(&env, id).await.enqueued_at.is_some());
}

#[tokio::test]
async fn the_outbox_sender_works_through_the_worker() {
    let env = setup(Scripted::new(0, SendError::Permanent("x".into()))).await;
    let outbox_sender = Arc::new(OutboxSender::new(env.worker.db.clone()));
    let worker = Worker {
        email: outbox_sender.clone(),
        sms: outbox_sender,
        ..env.worker.clone()
    };
    let id = queue_code(&env, "sms", "987654", chrono::Duration::minutes(10)).await;
    assert_eq!(worker.try_execute(id).await.unwrap(), Outcome::Sent);
    let messages = outbox::list(
        &worker.db,
        env.tenant,
        PageRequest {
            cursor: None,
            limit: 10,
        },
    )
    .await
    .unwrap();
    assert_eq!(messages.items.len(), 1);
    assert!(messages.items[0].body.starts_with("987654"));
}

#[test]
fn backoff_grows_is_capped_and_jittered() {
    let policy = RetryPolicy {
        base_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(60),
        ..RetryPolicy::default()
    };
    for attempt in 1..=10 {
        let expected = Duration::from_secs(2 * (1 << (attempt - 1))).min(Duration::from_secs(60));
        let d = policy.backoff(attempt);
        assert!(
            d >= expected / 2 && d <= expected,
            "attempt {attempt}: {d:?}"
        );
    }
    let samples: std::collections::HashSet<_> = (0..20).map(|_| policy.backoff(5)).collect();
    assert!(samples.len() > 1, "no jitter");
}
