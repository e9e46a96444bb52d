//! Auth-flow speed against the release binary: verify requests per second and latency at
//! 1, 16 and 64 concurrent clients (every verify on a fresh TOTP step, so the replay guard
//! runs each time), wrong-code verifies, flow starts per second, recovery-code verify time
//! beside one argon2id hash, and the server's peak RSS.
//!
//! `cargo bench --bench auth` (PostgreSQL too when TWOSTEP_TEST_DATABASE_URL is set). A
//! benchmark, not a test: it prints figures and asserts only that requests succeed.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use twostep_core::totp::TotpKey;

const KEY: &str = "dHdvc3RlcC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGU=";
const SIGNING: &str = "c2lnbmluZy1rZXktZm9yLXR3b3N0ZXAtdGVzdHMtMDE=";
const OPERATOR: &str = "bench-operator-token-0123456789";
/// Users with a TOTP factor; each verifies once per 30 s step of the test clock.
const USERS: usize = 64;
/// Steps (rounds) per concurrency level.
const ROUNDS: usize = 8;

struct Server {
    child: Child,
    base: String,
    http: Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(url: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_twostep"))
            .args(["serve", "--migrate"])
            .env("TWOSTEP_DATABASE_URL", url)
            .env("TWOSTEP_LISTEN", format!("127.0.0.1:{port}"))
            .env("TWOSTEP_SECRET_KEY", KEY)
            .env("TWOSTEP_SIGNING_KEY", SIGNING)
            .env("TWOSTEP_OPERATOR_TOKEN", OPERATOR)
            .env("TWOSTEP_TEST_CLOCK", "true")
            .env("TWOSTEP_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: Client::builder()
                .pool_max_idle_per_host(128)
                .build()
                .unwrap(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, value) = self.call(method, path, token, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {value}");
        value
    }

    async fn wait_ready(&self) {
        for _ in 0..600 {
            if self
                .http
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not start");
    }

    async fn advance(&self, seconds: i64) -> u64 {
        let now = self
            .ok(
                reqwest::Method::POST,
                "/testing/clock",
                "",
                Some(json!({ "advance_seconds": seconds })),
            )
            .await;
        now["unix"].as_u64().unwrap()
    }

    fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .map(str::to_owned)
            })
            .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    }
}

struct User {
    id: String,
    factor: String,
    key: TotpKey,
    recovery: Vec<String>,
}

fn base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut acc, mut out) = (0u32, 0u64, Vec::new());
    for c in text.bytes() {
        acc = (acc << 5) | ALPHABET.iter().position(|&a| a == c).unwrap() as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(label: &str, what: &str, mut samples: Vec<Duration>, wall: Duration) {
    samples.sort();
    println!(
        "{label:<9} {what:<28} {:>5} req  {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        samples.len(),
        samples.len() as f64 / wall.as_secs_f64(),
        pct(&samples, 0.50),
        pct(&samples, 0.99)
    );
}

async fn flow(s: &Server, key: &str, user: &str) -> (String, String) {
    let f = s
        .ok(
            reqwest::Method::POST,
            "/auth/v1/flows",
            key,
            Some(json!({ "user_id": user })),
        )
        .await;
    (
        f["flow_id"].as_str().unwrap().to_owned(),
        f["flow_token"].as_str().unwrap().to_owned(),
    )
}

/// Runs `jobs` with `clients` at a time; per-job latency and the wall time.
async fn concurrently<F, Fut>(clients: usize, jobs: usize, job: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (job, next) = (job.clone(), next.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= jobs {
                        return times;
                    }
                    let t = Instant::now();
                    job(i).await;
                    times.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    (all, start.elapsed())
}

async fn run(url: &str, label: &str) {
    let s = Arc::new(Server::start(url));
    s.wait_ready().await;
    let t = s
        .ok(
            reqwest::Method::POST,
            "/admin/v1/tenants",
            OPERATOR,
            Some(json!({ "name": "Bench", "plan_id": "pro" })),
        )
        .await;
    let key = t["api_key"].as_str().unwrap().to_owned();
    s.ok(
        reqwest::Method::PUT,
        "/admin/v1/mfa-policy",
        &key,
        Some(json!({ "mode": "required", "factors": ["totp"] })),
    )
    .await;

    // Users, enrolled (this also times flow starts).
    let mut users = Vec::new();
    for i in 0..USERS * 2 {
        let u = s
            .ok(
                reqwest::Method::POST,
                "/admin/v1/users",
                &key,
                Some(json!({ "external_id": format!("u{i}") })),
            )
            .await;
        let id = u["id"].as_str().unwrap().to_owned();
        let (fid, ft) = flow(&s, &key, &id).await;
        let e = s
            .ok(
                reqwest::Method::POST,
                &format!("/auth/v1/flows/{fid}/enrollments"),
                &ft,
                Some(json!({ "type": "totp" })),
            )
            .await;
        let totp = TotpKey::new(&base32(e["secret"].as_str().unwrap())).unwrap();
        let now = s.advance(0).await;
        let v = s
            .ok(
                reqwest::Method::POST,
                &format!(
                    "/auth/v1/flows/{fid}/enrollments/{}/verify",
                    e["enrollment_id"].as_str().unwrap()
                ),
                &ft,
                Some(json!({ "code": totp.code_at(now) })),
            )
            .await;
        users.push(User {
            id,
            factor: v["factor_id"].as_str().unwrap().to_owned(),
            key: totp,
            recovery: v["recovery_codes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect(),
        });
    }
    let users = Arc::new(users);

    // Flow starts.
    let (times, wall) = {
        let (s, key, users) = (s.clone(), key.clone(), users.clone());
        concurrently(16, 1000, move |i| {
            let (s, key, users) = (s.clone(), key.clone(), users.clone());
            async move {
                flow(&s, &key, &users[i % USERS].id).await;
            }
        })
        .await
    };
    report(label, "flow start (16 clients)", times, wall);

    // Right codes on fresh steps: each round every user verifies once, then time moves on.
    for clients in [1, 16, 64] {
        let mut all = Vec::new();
        let mut wall = Duration::ZERO;
        for _ in 0..ROUNDS {
            let now = s.advance(30).await;
            let mut flows = Vec::new();
            for u in users.iter().take(USERS) {
                flows.push(flow(&s, &key, &u.id).await);
            }
            let flows = Arc::new(flows);
            let (s2, users2) = (s.clone(), users.clone());
            let (times, w) = concurrently(clients, USERS, move |i| {
                let (s, users, flows) = (s2.clone(), users2.clone(), flows.clone());
                async move {
                    let (fid, ft) = &flows[i];
                    let body =
                        json!({ "factor_id": users[i].factor, "code": users[i].key.code_at(now) });
                    let (status, v) = s
                        .call(
                            reqwest::Method::POST,
                            &format!("/auth/v1/flows/{fid}/verify"),
                            ft,
                            Some(body),
                        )
                        .await;
                    assert_eq!(status, 200, "{v}");
                }
            })
            .await;
            all.extend(times);
            wall += w;
        }
        report(
            label,
            &format!("verify totp ({clients} clients)"),
            all,
            wall,
        );
    }

    // Wrong codes: four per user (below the throttling threshold), on the second half.
    let now = s.advance(30).await;
    let mut flows = Vec::new();
    for u in users.iter().skip(USERS) {
        flows.push(flow(&s, &key, &u.id).await);
    }
    let flows = Arc::new(flows);
    let (s2, users2) = (s.clone(), users.clone());
    let (times, wall) = concurrently(16, USERS * 4, move |i| {
        let (s, users, flows) = (s2.clone(), users2.clone(), flows.clone());
        async move {
            let u = &users[USERS + i % USERS];
            let wrong = format!(
                "{:06}",
                (u.key.code_at(now).parse::<u32>().unwrap() + 1) % 1_000_000
            );
            let (fid, ft) = &flows[i % USERS];
            let (status, v) = s
                .call(
                    reqwest::Method::POST,
                    &format!("/auth/v1/flows/{fid}/verify"),
                    ft,
                    Some(json!({ "factor_id": u.factor, "code": wrong })),
                )
                .await;
            assert_eq!(status, 400, "{v}");
        }
    })
    .await;
    report(label, "verify wrong code (16)", times, wall);

    // Recovery codes: one request each, sequential; compare with one argon2id hash here.
    let mut times = Vec::new();
    for u in users.iter().take(20) {
        let (fid, ft) = flow(&s, &key, &u.id).await;
        let t0 = Instant::now();
        let (status, v) = s
            .call(
                reqwest::Method::POST,
                &format!("/auth/v1/flows/{fid}/verify"),
                &ft,
                Some(json!({ "recovery_code": u.recovery[9] })),
            )
            .await;
        times.push(t0.elapsed());
        assert_eq!(status, 200, "{v}");
    }
    let wall = times.iter().sum();
    report(label, "verify recovery code (1)", times, wall);
    let t0 = Instant::now();
    let (_, set) = twostep_core::recovery::generate().unwrap();
    println!(
        "{label:<9} one argon2id hash here         {:>7.2} ms (the set of 10 took {:.0} ms)",
        t0.elapsed().as_secs_f64() * 1000.0 / 10.0,
        t0.elapsed().as_secs_f64() * 1000.0
    );
    drop(set);
    println!(
        "{label:<9} server peak RSS               {:>7.1} MiB",
        s.peak_rss_kib() as f64 / 1024.0
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    run(&url, "sqlite").await;
    let Ok(admin_url) = std::env::var("TWOSTEP_TEST_DATABASE_URL") else {
        println!("postgres  skipped (TWOSTEP_TEST_DATABASE_URL is not set)");
        return;
    };
    let name = format!("twostep_bench_{}", uuid::Uuid::now_v7().simple());
    let admin = Database::connect(&admin_url).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    run(&url, "postgres").await;
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
}
