//! Starts the real `twostep` binary on port 0 against a fresh database and talks to it
//! over HTTP, as a tenant's backend would.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// Which database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the server keeps its data; removed when dropped.
enum TestDb {
    /// Removed with its directory when dropped.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    async fn create(backend: Backend) -> Option<(Self, String)> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("twostep.db").display()
                );
                Some((Self::Sqlite { _dir: dir }, url))
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TWOSTEP_TEST_DATABASE_URL") else {
                    eprintln!("SKIPPED: PostgreSQL test (TWOSTEP_TEST_DATABASE_URL is not set)");
                    return None;
                };
                let name = format!("twostep_test_{}", uuid::Uuid::now_v7().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let url = match admin_url.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("TWOSTEP_TEST_DATABASE_URL needs a database path"),
                };
                Some((Self::Postgres { admin_url, name }, url))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; use a runtime of its own on a thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                        admin.close().await.ok();
                    }
                });
            })
            .join();
        }
    }
}

/// A running server and a client for it.
pub struct Server {
    process: Process,
    pub base: String,
    pub operator: String,
    pub backend: Backend,
    client: reqwest::Client,
    url: String,
    // Dropped after the child is killed (field order), so PostgreSQL can drop it.
    db: Option<TestDb>,
}

/// A child process whose output is collected line by line.
pub struct Process {
    pub child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn spawn(cmd: Command) -> Self {
        Self::spawn_forwarding(cmd, None)
    }

    /// Starts `cmd`, collecting its output and also sending each line to `lines`.
    fn spawn_forwarding(mut cmd: Command, lines: Option<mpsc::Sender<String>>) -> Self {
        let mut child = cmd.spawn().expect("start twostep");
        let logs = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let logs = logs.clone();
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    logs.lock().expect("logs").push(line.clone());
                    if let Some(tx) = &lines {
                        let _ = tx.send(line);
                    }
                }
            });
        }
        Self { child, logs }
    }

    /// Everything it printed so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs").clone()
    }

    /// Sends `signal` (e.g. `-KILL`, `-TERM`) and waits for the exit status.
    pub fn signal_and_wait(&mut self, signal: &str) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("process did not stop after {signal}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tenant as the tests use it: its id and API key.
#[derive(Debug, Clone)]
pub struct TestTenant {
    pub id: String,
    pub key: String,
}

/// The service key every test server uses (base64 of 32 bytes), so that tests can seal
/// codes the server opens.
pub const TEST_SECRET_KEY: &str = "dHdvc3RlcC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGU=";

/// The result-token signing key of every test server (base64 Ed25519 seed).
pub const TEST_SIGNING_KEY: &str = "c2lnbmluZy1rZXktZm9yLXR3b3N0ZXAtdGVzdHMtMDE=";

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_twostep")
}

impl Server {
    /// Starts a server on a fresh database; `None` (after saying so) when the backend is
    /// not configured on this machine.
    pub async fn start(backend: Backend) -> Option<Self> {
        let (db, url) = TestDb::create(backend).await?;
        let operator = format!("op-{}", uuid::Uuid::now_v7().simple());
        Some(
            Self::spawn(backend, db, &url, Some(&operator), &[])
                .await
                .with_operator(operator),
        )
    }

    /// The database URL the server runs on, for tests that work on it directly.
    pub fn database_url(&self) -> &str {
        &self.url
    }

    /// Starts `twostep worker` on this server's database, with `env` on top of the test
    /// defaults; its output is collected in the returned process's logs.
    pub fn spawn_worker(&self, concurrency: usize, env: &[(&str, &str)]) -> Process {
        let mut cmd = Command::new(binary());
        cmd.args(["worker", "--concurrency", &concurrency.to_string()])
            .env("TWOSTEP_DATABASE_URL", &self.url)
            .env("TWOSTEP_SECRET_KEY", TEST_SECRET_KEY)
            .env("TWOSTEP_EMAIL_SENDER", "outbox")
            .env("TWOSTEP_SMS_SENDER", "outbox")
            .env("TWOSTEP_LOG", "info")
            .env_remove("TWOSTEP_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            cmd.env(key, value);
        }
        Process::spawn(cmd)
    }
}

/// Lets moto's SES v2 send from `domain` (CreateEmailIdentity; moto reads the service
/// from the signature header and does not check the signature).
pub async fn verify_ses_domain(moto: &str, domain: &str) {
    let verified = reqwest::Client::new()
        .post(format!("{moto}/v2/email/identities"))
        .header("authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0")
        .json(&json!({ "EmailIdentity": domain }))
        .send()
        .await
        .unwrap();
    assert!(verified.status().is_success());
}

impl Server {
    /// Starts `twostep worker` sending through the AWS SDK to the local AWS-compatible
    /// server at `moto`, with `env` on top (the senders and their settings).
    pub fn spawn_aws_worker(&self, moto: &str, env: &[(&str, &str)]) -> Process {
        let mut all = vec![
            ("AWS_ENDPOINT_URL", moto),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ];
        all.extend_from_slice(env);
        self.spawn_worker(2, &all)
    }

    fn with_operator(mut self, operator: String) -> Self {
        self.operator = operator;
        self
    }

    /// Starts the binary with `TWOSTEP_DATABASE_URL=url`; waits until it listens.
    async fn spawn(
        backend: Backend,
        db: TestDb,
        url: &str,
        operator: Option<&str>,
        args: &[&str],
    ) -> Self {
        let mut cmd = Command::new(binary());
        cmd.args(["serve", "--migrate"])
            .args(args)
            .env("TWOSTEP_DATABASE_URL", url)
            .env("TWOSTEP_LISTEN", "127.0.0.1:0")
            .env("TWOSTEP_LOG", "info")
            .env_remove("TWOSTEP_OPERATOR_TOKEN")
            .env_remove("TWOSTEP_CONFIG")
            .env("TWOSTEP_SECRET_KEY", TEST_SECRET_KEY)
            .env("TWOSTEP_SIGNING_KEY", TEST_SIGNING_KEY)
            .env("TWOSTEP_TEST_CLOCK", "true")
            .env("TWOSTEP_EMAIL_SENDER", "outbox")
            .env("TWOSTEP_SMS_SENDER", "outbox")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = operator {
            cmd.env("TWOSTEP_OPERATOR_TOKEN", token);
        }
        let (tx, rx) = mpsc::channel::<String>();
        let process = Process::spawn_forwarding(cmd, Some(tx));
        let addr = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("server did not start: {:?}", process.logs()));
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["fields"]["message"] == "listening"
            {
                break v["fields"]["addr"].as_str().expect("addr").to_owned();
            }
        };
        Self {
            process,
            base: format!("http://{addr}"),
            operator: String::new(),
            backend,
            client: reqwest::Client::new(),
            url: url.to_owned(),
            db: Some(db),
        }
    }

    /// Everything the server printed so far.
    pub fn logs(&self) -> Vec<String> {
        self.process.logs()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.process.signal_and_wait("-TERM")
    }

    /// Sends a request; returns the status, the content type and the JSON body (`Null`
    /// when there is none).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> (StatusCode, String, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = resp.bytes().await.expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, content_type, value)
    }

    /// Sends a JSON request.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body.map(|b| ("application/json", serde_json::to_vec(&b).expect("json")));
        let (status, content_type, value) = self.raw(method, path, Some(token), body).await;
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                content_type, "application/problem+json",
                "{status} {path}: {value}"
            );
        }
        (status, value)
    }

    /// Asserts a problem answer with `status` and `code`; returns its body.
    pub async fn expect_problem(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        status: StatusCode,
        code: &str,
    ) -> Value {
        let (got, value) = self.call(method.clone(), path, token, body).await;
        assert_eq!(got, status, "{method} {path}: {value}");
        assert_eq!(value["code"], code, "{method} {path}: {value}");
        assert_eq!(value["status"], status.as_u16());
        value
    }

    /// Asserts success with `status`; returns the body.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let (got, value) = self.call(method.clone(), path, token, body).await;
        assert_eq!(got, status, "{method} {path}: {value}");
        value
    }

    /// Creates a tenant on `plan` through the operator API.
    pub async fn tenant(&self, name: &str, plan: &str) -> TestTenant {
        let body = json!({ "name": name, "plan_id": plan });
        let created = self
            .expect(
                Method::POST,
                "/admin/v1/tenants",
                &self.operator,
                Some(body),
                StatusCode::CREATED,
            )
            .await;
        TestTenant {
            id: created["tenant"]["id"].as_str().expect("id").to_owned(),
            key: created["api_key"].as_str().expect("key").to_owned(),
        }
    }

    /// Creates an organization; returns its id.
    pub async fn org(&self, t: &TestTenant, code: &str) -> String {
        let body = json!({ "code": code, "name": format!("Org {code}") });
        let org = self
            .expect(
                Method::POST,
                "/admin/v1/organizations",
                &t.key,
                Some(body),
                StatusCode::CREATED,
            )
            .await;
        org["id"].as_str().expect("id").to_owned()
    }

    /// Creates a user; returns its id.
    pub async fn user(&self, t: &TestTenant, external_id: &str, primary: &str) -> String {
        let body = json!({ "external_id": external_id, "email": format!("{external_id}@example.com"), "primary_method": primary });
        let user = self
            .expect(
                Method::POST,
                "/admin/v1/users",
                &t.key,
                Some(body),
                StatusCode::CREATED,
            )
            .await;
        user["id"].as_str().expect("id").to_owned()
    }

    /// Stops this process and starts a new one on the same database, with `operator`
    /// as the configured operator token (or none).
    pub async fn restart(self, operator: Option<&str>) -> Self {
        self.restart_with(operator, &[]).await
    }

    /// The same server again without its in-process worker, so that only the workers a
    /// test starts send anything.
    pub async fn without_worker(self) -> Self {
        let operator = self.operator.clone();
        self.restart_with(Some(&operator), &["--no-worker"]).await
    }

    async fn restart_with(mut self, operator: Option<&str>, args: &[&str]) -> Self {
        let _ = self.process.child.kill();
        let _ = self.process.child.wait();
        let db = self.db.take().expect("database");
        let (backend, url) = (self.backend, self.url.clone());
        drop(self);
        let server = Self::spawn(backend, db, &url, operator, args).await;
        server.with_operator(operator.unwrap_or_default().to_owned())
    }
}
