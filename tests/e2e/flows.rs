//! Auth-flow helpers: policies, flows, the test clock, codes read from the outbox, TOTP
//! codes from pyotp and result tokens checked with PyJWT (independent implementations,
//! installed by `scripts/test`).

use std::process::Command;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Server, TestTenant};

/// The Python with pyotp and PyJWT (`TWOSTEP_TEST_PYTHON`, set by `scripts/test`).
pub fn python() -> String {
    std::env::var("TWOSTEP_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("TWOSTEP_TEST_PYTHON is not set: run the suite with ./scripts/test, which installs pyotp and PyJWT")
    })
}

fn run_python(script: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// The TOTP code pyotp computes from `uri` at Unix time `at`.
pub fn pyotp_at(uri: &str, at: i64) -> String {
    run_python(
        "import sys, pyotp; print(pyotp.parse_uri(sys.argv[1]).at(int(sys.argv[2])))",
        &[uri, &at.to_string()],
    )
    .expect("pyotp")
}

/// Verifies `token` with PyJWT against `jwks` for audience `aud`; the claims, or PyJWT's
/// complaint. `leeway` seconds cover a test clock moved ahead of real time.
pub fn pyjwt_verify(jwks: &Value, token: &str, aud: &str, leeway: u32) -> Result<Value, String> {
    let script = r#"
import sys, json, jwt
jwks = jwt.PyJWKSet.from_json(sys.argv[1])
kid = jwt.get_unverified_header(sys.argv[2])["kid"]
key = next(k for k in jwks.keys if k.key_id == kid)
claims = jwt.decode(sys.argv[2], key=key, algorithms=["EdDSA"], audience=sys.argv[3],
                    leeway=int(sys.argv[4]), options={"require": ["exp", "iat", "sub", "aud", "jti"]})
print(json.dumps(claims))
"#;
    run_python(
        script,
        &[&jwks.to_string(), token, aud, &leeway.to_string()],
    )
    .map(|out| serde_json::from_str(&out).expect("claims json"))
}

/// A started flow: its id, token and first answer.
#[derive(Debug, Clone)]
pub struct TestFlow {
    pub id: String,
    pub token: String,
    pub started: Value,
}

impl TestFlow {
    /// The id of the first factor the flow offers (`fct_…`).
    pub fn first_factor(&self) -> String {
        self.started["factors"][0]["id"]
            .as_str()
            .expect("a factor")
            .to_owned()
    }

    /// `/auth/v1/flows/{id}` + `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/auth/v1/flows/{}{rest}", self.id)
    }
}

impl Server {
    /// Moves the server's test clock; returns its time (Unix seconds).
    pub async fn advance(&self, seconds: f64) -> i64 {
        let now = self
            .expect(
                Method::POST,
                "/testing/clock",
                "unused",
                Some(json!({ "advance_seconds": seconds })),
                StatusCode::OK,
            )
            .await;
        now["unix"].as_i64().expect("unix")
    }

    /// The server's time (Unix seconds).
    pub async fn now(&self) -> i64 {
        self.advance(0.0).await
    }

    /// Sets the tenant's environment policy.
    pub async fn policy(&self, t: &TestTenant, body: Value) {
        self.expect(
            Method::PUT,
            "/admin/v1/mfa-policy",
            &t.key,
            Some(body),
            StatusCode::OK,
        )
        .await;
    }

    /// Starts a flow with `body`.
    pub async fn flow(&self, t: &TestTenant, body: Value) -> TestFlow {
        let started = self
            .expect(
                Method::POST,
                "/auth/v1/flows",
                &t.key,
                Some(body),
                StatusCode::CREATED,
            )
            .await;
        TestFlow {
            id: started["flow_id"].as_str().expect("flow_id").to_owned(),
            token: started["flow_token"]
                .as_str()
                .expect("flow_token")
                .to_owned(),
            started,
        }
    }

    /// Starts a flow for `user_id`.
    pub async fn flow_for(&self, t: &TestTenant, user_id: &str) -> TestFlow {
        self.flow(t, json!({ "user_id": user_id })).await
    }

    /// A step of `flow` with its token.
    pub async fn step(
        &self,
        flow: &TestFlow,
        method: Method,
        rest: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(method, &flow.path(rest), &flow.token, body).await
    }

    /// Codes written to the outbox for `destination`, newest first.
    pub async fn codes_to(&self, t: &TestTenant, destination: &str) -> Vec<String> {
        let page = self
            .expect(
                Method::GET,
                "/admin/v1/outbox?limit=200",
                &t.key,
                None,
                StatusCode::OK,
            )
            .await;
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter(|m| m["destination"] == destination)
            .map(|m| first_code(m["body"].as_str().expect("body")))
            .collect()
    }

    /// Waits until the `n`th code for `destination` reached the outbox; returns it.
    pub async fn nth_code(&self, t: &TestTenant, destination: &str, n: usize) -> String {
        for _ in 0..200 {
            let codes = self.codes_to(t, destination).await;
            if codes.len() >= n {
                return codes[codes.len() - n].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("code {n} for {destination} never reached the outbox");
    }

    /// A user with `fields` on top of an external id.
    pub async fn user_with(&self, t: &TestTenant, fields: Value) -> String {
        let user = self
            .expect(
                Method::POST,
                "/admin/v1/users",
                &t.key,
                Some(fields),
                StatusCode::CREATED,
            )
            .await;
        user["id"].as_str().expect("id").to_owned()
    }

    /// Enrolls TOTP in `flow` and verifies it with pyotp's code at the server's time;
    /// returns the enrollment answer and the verification answer.
    pub async fn enroll_totp(&self, flow: &TestFlow) -> (Value, Value) {
        let (status, enrolled) = self
            .step(
                flow,
                Method::POST,
                "/enrollments",
                Some(json!({ "type": "totp" })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{enrolled}");
        let uri = enrolled["otpauth_uri"].as_str().expect("uri");
        let code = pyotp_at(uri, self.now().await);
        let path = format!(
            "/enrollments/{}/verify",
            enrolled["enrollment_id"].as_str().expect("id")
        );
        let (status, verified) = self
            .step(flow, Method::POST, &path, Some(json!({ "code": code })))
            .await;
        assert_eq!(status, StatusCode::OK, "{verified}");
        (enrolled, verified)
    }
}

impl Server {
    /// Enrolls an email or SMS factor in `flow` (`body` as the enrollments endpoint takes
    /// it) and reads its code, the `n`th sent to `destination`, from the outbox: the
    /// verify path (relative to the flow), the code and the enrollment answer.
    pub async fn begin_code_enrollment(
        &self,
        t: &TestTenant,
        flow: &TestFlow,
        body: Value,
        destination: &str,
        n: usize,
    ) -> (String, String, Value) {
        let enrolled = self
            .expect(
                Method::POST,
                &flow.path("/enrollments"),
                &flow.token,
                Some(body),
                StatusCode::CREATED,
            )
            .await;
        let code = self.nth_code(t, destination, n).await;
        let verify = format!(
            "/enrollments/{}/verify",
            enrolled["enrollment_id"].as_str().expect("id")
        );
        (verify, code, enrolled)
    }

    /// [`Self::begin_code_enrollment`], then the code verified; the verification answer.
    pub async fn enroll_by_code(
        &self,
        t: &TestTenant,
        flow: &TestFlow,
        body: Value,
        destination: &str,
        n: usize,
    ) -> Value {
        let (verify, code, _) = self
            .begin_code_enrollment(t, flow, body, destination, n)
            .await;
        self.expect(
            Method::POST,
            &flow.path(&verify),
            &flow.token,
            Some(json!({ "code": code })),
            StatusCode::OK,
        )
        .await
    }
}

/// A JSON array of strings.
pub fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string").to_owned())
        .collect()
}

/// The first run of 6 to 8 digits in a message.
fn first_code(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| (6..=8).contains(&run.len()))
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

/// RFC 4648 base32 (no padding) to bytes: to look for a TOTP secret's raw bytes.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut acc, mut out) = (0u32, 0u64, Vec::new());
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base32") as u64;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Sends each job (`flow`, `rest` of its path, body or `null`) at once; the statuses.
pub async fn race(
    s: &std::sync::Arc<Server>,
    jobs: Vec<(TestFlow, String, Value)>,
) -> Vec<StatusCode> {
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|(flow, rest, body)| {
            let s = s.clone();
            tokio::spawn(async move {
                let body = (!body.is_null()).then_some(body);
                s.step(&flow, Method::POST, &rest, body).await.0
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        let status = task.await.unwrap();
        assert!(status.as_u16() < 500, "{status}");
        out.push(status);
    }
    out
}

/// How many answers were 200.
pub fn successes(statuses: &[StatusCode]) -> usize {
    statuses.iter().filter(|s| **s == StatusCode::OK).count()
}
