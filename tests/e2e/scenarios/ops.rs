//! Health, readiness, docs, served OpenAPI documents, logs and shutdown.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::Server;

pub async fn ops_endpoints_and_graceful_shutdown(mut s: Server) {
    let (status, _, body) = s.raw(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _, body) = s.raw(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );

    // The served documents are the committed ones.
    for name in ["admin", "auth"] {
        let (status, content_type, served) = s
            .raw(Method::GET, &format!("/openapi/{name}.json"), None, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("application/json"));
        let committed: Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/../../openapi/{name}.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            served, committed,
            "/openapi/{name}.json differs from openapi/{name}.json"
        );
    }
    // The interactive docs come from the binary itself.
    let resp = reqwest::get(format!("{}/docs/", s.base)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let config = reqwest::get(format!("{}/docs/swagger-initializer.js", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        config.contains("/openapi/admin.json") && config.contains("/openapi/auth.json"),
        "{config}"
    );
    assert!(
        !html.contains("https://") || !html.contains("<script src=\"https://"),
        "docs load scripts from the network"
    );

    // Every request carries a request id, echoed and logged.
    let t = s.tenant("Acme", "pro").await;
    let resp = reqwest::Client::new()
        .get(format!("{}/admin/v1/tenant", s.base))
        .bearer_auth(&t.key)
        .header("x-request-id", "test-request-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "test-request-42");
    let resp = reqwest::get(format!("{}/healthz", s.base)).await.unwrap();
    assert!(!resp.headers()["x-request-id"].is_empty());

    // JSON logs, with the request id on the request's lines, and no secret anywhere.
    let logs = s.logs();
    let logged = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|v| {
            v["span"]["request_id"] == "test-request-42" && v["span"]["path"] == "/admin/v1/tenant"
        });
    assert!(logged, "the request id is not in the logs: {logs:#?}");
    for line in &logs {
        assert!(
            !line.contains(&t.key) && !line.contains(&s.operator),
            "a secret was logged: {line}"
        );
    }

    // SIGTERM: stops accepting, finishes, exits cleanly.
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
    assert!(s.logs().iter().any(|l| l.contains("shutdown requested")));
    assert!(s.logs().iter().any(|l| l.contains("\"stopped\"")));
}

/// The first `sh` block under `heading` in the README, run with bash against `s` as
/// written but for the operator token, the address and `prelude`; its stdout.
async fn run_readme_section(s: Server, heading: &str, prelude: &str) -> String {
    let readme =
        std::fs::read_to_string(format!("{}/../../README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let section = readme.split(heading).nth(1).expect("walkthrough section");
    let script = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("code block");
    assert!(
        script.contains("OP=tso_paste_the_printed_token_here")
            && script.contains("API=http://127.0.0.1:8080")
    );
    let script = script
        .replace(
            "OP=tso_paste_the_printed_token_here",
            &format!("OP={}", s.operator),
        )
        .replace("API=http://127.0.0.1:8080", &format!("API={}", s.base));
    // The prelude goes after the variables and the `json` helper it may use.
    let (head, rest) = script.split_once("\njson()").expect("json helper");
    let (json_line, rest) = rest.split_once('\n').expect("lines");
    let script = format!("{head}\njson(){json_line}\n{prelude}\n{rest}");
    let server = std::sync::Arc::new(s);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .output()
            .expect("bash")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "walkthrough failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);
    stdout
}

/// The README's curl walkthrough, run as written (but for the token and address).
pub async fn readme_walkthrough_works(s: Server) {
    let stdout = run_readme_section(s, "## Walkthrough with curl", "").await;
    for expected in [
        "\"id\":\"scale\"",
        "204",
        "\"decided_by\":\"organization_policy\"",
        "restricted_factors_only",
        "plan_downgrade_conflict",
        "\"suspended_organizations\":[\"org_",
        "tenant.plan_changed",
    ] {
        assert!(
            stdout.contains(expected),
            "walkthrough output lacks {expected}: {stdout}"
        );
    }
}

/// The README's sign-in walkthrough, as written. `oathtool` is stood in for by pyotp (an
/// independent implementation; oathtool needs a system package) at the server's clock.
pub async fn readme_sign_in_walkthrough_works(s: Server) {
    let python = crate::flows::python();
    let prelude = format!(
        r#"oathtool() {{ local t; t=$(curl -s -X POST "$API/testing/clock" -H 'Content-Type: application/json' -d '{{}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["unix"])'); "{python}" -c 'import sys, pyotp; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))' "${{@: -1}}" "$t"; }}"#
    );
    let stdout = run_readme_section(s, "## Sign-in walkthrough with curl", &prelude).await;
    for expected in [
        "\"state\":\"enrollment_required\"",
        "otpauth://totp/Acme:grace%40example.com?secret=",
        "\"recovery_codes\":[",
        "\"state\":\"completed\"",
        "\"result_token\":\"ey",
        "\"kty\":\"OKP\"",
    ] {
        assert!(
            stdout.contains(expected),
            "sign-in walkthrough output lacks {expected}: {stdout}"
        );
    }
}
