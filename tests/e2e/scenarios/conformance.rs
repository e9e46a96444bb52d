//! Checked from outside: schemathesis fuzzes the running server against the committed
//! OpenAPI documents (server errors, undocumented statuses, content types, response
//! schemas and headers).

use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::Server;

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance";

fn schemathesis() -> String {
    std::env::var("TWOSTEP_TEST_SCHEMATHESIS").unwrap_or_else(|_| {
        panic!("TWOSTEP_TEST_SCHEMATHESIS is not set: run the suite with ./scripts/test, which installs schemathesis")
    })
}

/// Runs schemathesis on one document with one credential; panics with its report on any
/// failure. `flow_id` pins the path parameter so the flow steps reach a live flow.
async fn fuzz(s: &Server, doc: &str, token: &str, tag: Option<&str>, flow_id: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(flow_id) = flow_id {
        std::fs::write(
            dir.path().join("schemathesis.toml"),
            format!("[parameters]\n\"path.flow_id\" = \"{flow_id}\"\n"),
        )
        .unwrap();
    }
    let spec = format!("{}/../../openapi/{doc}", env!("CARGO_MANIFEST_DIR"));
    let seed =
        std::env::var("TWOSTEP_TEST_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261204".into());
    let mut cmd = Command::new(schemathesis());
    cmd.current_dir(dir.path())
        .args(["run", &spec, "--url", &s.base, "--checks", CHECKS])
        .args([
            "--max-examples",
            "25",
            "--no-shrink",
            "--warnings",
            "off",
            "--seed",
            &seed,
        ])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .env("NO_COLOR", "1");
    if let Some(tag) = tag {
        cmd.args(["--include-tag", tag]);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("schemathesis runs"))
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis on {doc} ({}) found failures:\n{report}\n{}",
        tag.unwrap_or("all"),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("passed"),
        "schemathesis ran no test case: {report}"
    );
}

pub async fn schemathesis_finds_no_conformance_failures(s: Server) {
    let t = s.tenant("Fuzzed", "scale").await;
    s.policy(
        &t,
        json!({ "mode": "required", "factors": ["totp", "email", "sms"] }),
    )
    .await;
    s.user_with(
        &t,
        json!({ "external_id": "fuzz", "email": "fuzz@example.com", "phone": "+14155550100" }),
    )
    .await;
    let flow = s.flow(&t, json!({ "external_user_id": "fuzz" })).await;
    // Each run its own key: a run may revoke the key it was given.
    let mut keys = Vec::new();
    for name in ["auth", "tenant"] {
        let key = s
            .expect(
                Method::POST,
                "/admin/v1/api-keys",
                &t.key,
                Some(json!({ "name": name })),
                StatusCode::CREATED,
            )
            .await;
        keys.push(key["api_key"].as_str().unwrap().to_owned());
    }
    // Flow steps first, the operator last (it may delete the tenant).
    fuzz(&s, "auth.json", &flow.token, None, Some(&flow.id)).await;
    fuzz(&s, "auth.json", &keys[0], None, None).await;
    fuzz(&s, "admin.json", &keys[1], Some("tenant"), None).await;
    fuzz(&s, "admin.json", &s.operator, Some("operator"), None).await;
}

/// Python clients generated from the committed documents (openapi-python-client, no hand
/// edits) drive a whole scenario: tenant, organization policy, user, flow, TOTP, factors.
pub async fn generated_python_client_drives_a_scenario(s: Server) {
    let generator = std::env::var("TWOSTEP_TEST_CLIENT_GENERATOR").unwrap_or_else(|_| {
        panic!("TWOSTEP_TEST_CLIENT_GENERATOR is not set: run the suite with ./scripts/test, which installs openapi-python-client")
    });
    let dir = tempfile::tempdir().unwrap();
    let root = format!("{}/../..", env!("CARGO_MANIFEST_DIR"));
    for (doc, package) in [("admin.json", "admin_client"), ("auth.json", "auth_client")] {
        let out = Command::new(&generator)
            .current_dir(dir.path())
            .args(["generate", "--path", &format!("{root}/openapi/{doc}")])
            .args(["--meta", "none", "--output-path", package])
            .output()
            .expect("openapi-python-client runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "generating {package} failed: {text}");
        // Its only tolerated complaint is the missing formatter (ruff) it would run after.
        let complaints: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("WARNING") || l.contains("Unable to") || l.contains("cannot"))
            .collect();
        assert!(complaints.is_empty(), "{package}: {complaints:?}\n{text}");
    }
    let (base, operator, generated) = (s.base.clone(), s.operator.clone(), dir.path().to_owned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(crate::flows::python())
            .arg(format!(
                "{root}/tests/e2e/clients/generated_client_scenario.py"
            ))
            .args([&base, &operator])
            .arg(&generated)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("scenario ok"),
        "the generated client's scenario failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(s);
}

/// Debian tools the verifier checks use; `scripts/test` installs them where it can.
fn system_tools() -> Option<()> {
    let missing: Vec<&str> = ["rsvg-convert", "zbarimg", "oathtool"]
        .into_iter()
        .filter(|tool| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return Some(());
    }
    println!(
        "SKIPPED: {missing:?} not installed (Debian: librsvg2-bin zbar-tools oathtool; ./scripts/test installs them when run as root)"
    );
    None
}

/// The QR code decodes (rsvg-convert + zbarimg) to exactly the otpauth URI; pyotp and
/// oathtool agree on its codes; PyJWT accepts the result token with the JWKS and refuses
/// it tampered, expired, or for another tenant.
pub async fn independent_verifiers_agree(s: Server) {
    use crate::flows::{pyjwt_verify, pyotp_at};
    let t = s.tenant("Verified", "pro").await;
    s.policy(&t, json!({ "mode": "required", "factors": ["totp"] }))
        .await;
    let user = s.user(&t, "vera", "password").await;
    // An hour behind: the result token of this flow is already expired in real time.
    s.advance(-3600.0).await;
    let flow = s.flow_for(&t, &user).await;
    let (enrolled, verified) = s.enroll_totp(&flow).await;
    let jwks = s
        .expect(
            Method::GET,
            "/auth/v1/.well-known/jwks.json",
            "",
            None,
            StatusCode::OK,
        )
        .await;
    let old = verified["result_token"].as_str().unwrap().to_owned();
    let err = pyjwt_verify(&jwks, &old, &t.id, 0).expect_err("expired");
    assert!(err.contains("ExpiredSignatureError"), "{err}");
    s.advance(3600.0).await;
    let now = s.advance(30.0).await;
    let again = s.flow_for(&t, &user).await;
    let factor = again.first_factor();
    let uri = enrolled["otpauth_uri"].as_str().unwrap().to_owned();
    let done = s
        .expect(
            Method::POST,
            &again.path("/verify"),
            &again.token,
            Some(json!({ "factor_id": factor, "code": pyotp_at(&uri, now) })),
            StatusCode::OK,
        )
        .await;
    let token = done["result_token"].as_str().unwrap().to_owned();
    let claims = pyjwt_verify(&jwks, &token, &t.id, 60).expect("verifies");
    assert_eq!(claims["sub"], user.as_str());
    let other = s.tenant("Other", "pro").await;
    let err = pyjwt_verify(&jwks, &token, &other.id, 60).expect_err("audience");
    assert!(err.contains("InvalidAudienceError"), "{err}");
    // One character in the middle of the signature changed: refused.
    let (head, signature) = token.rsplit_once('.').unwrap();
    let mut chars: Vec<char> = signature.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{head}.{}", chars.into_iter().collect::<String>());
    let err = pyjwt_verify(&jwks, &tampered, &t.id, 60).expect_err("tampered");
    assert!(err.contains("InvalidSignatureError"), "{err}");

    if system_tools().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("qr.svg");
    let png = dir.path().join("qr.png");
    std::fs::write(&svg, enrolled["qr_svg"].as_str().unwrap()).unwrap();
    let rendered = Command::new("rsvg-convert")
        .args(["--width", "400", "--background-color", "white", "--output"])
        .arg(&png)
        .arg(&svg)
        .status()
        .unwrap();
    assert!(rendered.success());
    let decoded = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(decoded.status.success(), "zbarimg found no code");
    assert_eq!(String::from_utf8_lossy(&decoded.stdout).trim(), uri);
    let secret = enrolled["secret"].as_str().unwrap();
    for at in [now, now + 30, 2_000_000_000] {
        let oath = Command::new("oathtool")
            .args(["--totp", "-b", secret, &format!("--now=@{at}")])
            .output()
            .unwrap();
        assert!(
            oath.status.success(),
            "{}",
            String::from_utf8_lossy(&oath.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&oath.stdout).trim(),
            pyotp_at(&uri, at),
            "at {at}"
        );
    }
}
