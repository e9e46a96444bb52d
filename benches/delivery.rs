//! Delivery throughput and latency through the real worker binary and the outbox sender.
//!
//! `cargo bench --bench delivery` (PostgreSQL too when TWOSTEP_TEST_DATABASE_URL is set).
//! Prints, per backend and worker count: deliveries per second draining a preloaded queue,
//! and the time from queue insert to send (p50/p99) with idle workers waiting. A benchmark,
//! not a test: it asserts nothing about speed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};
use twostep_core::crypto::SecretBox;
use twostep_queue::{Enqueued, Outgoing, Queue, enqueue};
use twostep_store::audit::Actor;
use twostep_store::deliveries::{self, Caps};
use twostep_store::{DatabaseConnection, PageRequest, tenants};

const KEY: &str = "dHdvc3RlcC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGU=";
const WIDE: Caps = Caps {
    per_destination: 1_000_000,
    per_tenant: 1_000_000,
};
const PRELOAD: usize = 2000;
const LATENCY_SAMPLES: usize = 200;

struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

fn start_workers(url: &str, n: usize) -> Workers {
    Workers(
        (0..n)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_twostep"))
                    .args(["worker", "--concurrency", "8"])
                    .env("TWOSTEP_DATABASE_URL", url)
                    .env("TWOSTEP_SECRET_KEY", KEY)
                    .env("TWOSTEP_EMAIL_SENDER", "outbox")
                    .env("TWOSTEP_LOG", "warn")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start worker")
            })
            .collect(),
    )
}

struct Setup {
    db: DatabaseConnection,
    queue: Queue,
    secret_box: SecretBox,
    tenant: uuid::Uuid,
}

async fn setup(url: &str) -> Setup {
    let status = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .arg("migrate")
        .env("TWOSTEP_DATABASE_URL", url)
        .env("TWOSTEP_LOG", "warn")
        .stdout(Stdio::null())
        .status()
        .expect("migrate");
    assert!(status.success());
    let db = twostep_store::connect(url).await.expect("connect");
    let queue = Queue::setup(&db).await.expect("queue");
    let (tenant, _) = tenants::create(
        &db,
        &Actor("bench".into()),
        "Bench",
        "pro",
        uuid::Uuid::now_v7().as_bytes().repeat(2),
    )
    .await
    .expect("tenant");
    Setup {
        db,
        queue,
        secret_box: SecretBox::from_base64(KEY).unwrap(),
        tenant: tenant.id,
    }
}

async fn push(s: &Setup, i: usize) {
    let message = Outgoing {
        tenant_id: s.tenant,
        channel: "email",
        destination: format!("user{i}@example.com"),
        code: format!("{:06}", i % 1_000_000),
        expires_at: chrono::Utc::now() + chrono::Duration::minutes(10),
    };
    assert!(matches!(
        enqueue(&s.db, &s.queue, &s.secret_box, message, WIDE)
            .await
            .unwrap(),
        Enqueued::Queued(_)
    ));
}

async fn wait_sent(s: &Setup, n: u64) {
    while deliveries::count(&s.db, s.tenant, deliveries::SENT)
        .await
        .unwrap()
        < n
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run(url: &str, label: &str, workers: usize) {
    // Throughput: preload the queue, then time the drain.
    let s = setup(url).await;
    for i in 0..PRELOAD {
        push(&s, i).await;
    }
    let started = Instant::now();
    let running = start_workers(url, workers);
    wait_sent(&s, PRELOAD as u64).await;
    let rate = PRELOAD as f64 / started.elapsed().as_secs_f64();

    // Latency: workers idle and waiting; one delivery at a time.
    let before = deliveries::count(&s.db, s.tenant, deliveries::SENT)
        .await
        .unwrap();
    for i in 0..LATENCY_SAMPLES {
        push(&s, PRELOAD + i).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_sent(&s, before + LATENCY_SAMPLES as u64).await;
    drop(running);
    let mut latencies = Vec::new();
    let mut cursor = None;
    loop {
        let page = deliveries::list(
            &s.db,
            s.tenant,
            Some(deliveries::SENT),
            PageRequest { cursor, limit: 200 },
        )
        .await
        .unwrap();
        for d in &page.items {
            if let Some(sent) = d.sent_at {
                latencies
                    .push((sent - d.created_at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
        if latencies.len() >= LATENCY_SAMPLES {
            break;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    latencies.truncate(LATENCY_SAMPLES);
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{label:<10} workers={workers}  throughput={rate:>8.1} deliveries/s  insert->sent p50={:>7.1} ms  p99={:>7.1} ms",
        pct(0.50),
        pct(0.99)
    );
}

#[tokio::main]
async fn main() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        run(&url, "sqlite", workers).await;
    }
    let Ok(admin_url) = std::env::var("TWOSTEP_TEST_DATABASE_URL") else {
        println!("postgres   skipped (TWOSTEP_TEST_DATABASE_URL is not set)");
        return;
    };
    for workers in [1, 2] {
        let name = format!("twostep_bench_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(&admin_url).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        run(&url, "postgres", workers).await;
        admin
            .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .unwrap();
    }
}
