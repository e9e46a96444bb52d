//! Handler tests: the router driven with `oneshot` over a fresh SQLite database.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use twostep_core::secret::token_digest;

use super::*;

const OPERATOR: &str = "operator-token-for-tests";

async fn state() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = twostep_store::connect(&url).await.unwrap();
    twostep_store::migrate(&db).await.unwrap();
    let queue = twostep_queue::Queue::setup(&db).await.unwrap();
    let state = AppState {
        db,
        operator_token_digest: token_digest(OPERATOR).into(),
        queue,
        secret_box: std::sync::Arc::new(twostep_core::crypto::SecretBox::new(&[7; 32])),
        signer: std::sync::Arc::new(
            twostep_core::signing::ResultSigner::from_base64(
                &twostep_core::signing::ResultSigner::generate_base64(),
            )
            .unwrap(),
        ),
        issuer: "twostep-test".into(),
        clock: std::sync::Arc::new(twostep_core::clock::SystemClock),
        test_clock: None,
    };
    (dir, state)
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, content_type, body)
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {OPERATOR}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn json_rejections_are_problems() {
    let (_dir, state) = state().await;
    let app = app(state, Surfaces::All);
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post("/admin/v1/tenants", "text/plain", "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post("/admin/v1/tenants", "application/json", "{"),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            post("/admin/v1/tenants", "application/json", "[1]"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(
                "/admin/v1/tenants",
                "application/json",
                r#"{"name":"A","plan_id":"pro","x":1}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(
                "/admin/v1/tenants",
                "application/json",
                vec![b' '; BODY_LIMIT + 1],
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (req, status, code) in cases {
        let (got, content_type, body) = send(&app, req).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
        assert_eq!(content_type, error::PROBLEM_JSON);
        assert_eq!(body["status"], status.as_u16());
        assert!(body["type"].as_str().unwrap().ends_with(code));
    }
    let (_, _, body) = send(
        &app,
        post(
            "/admin/v1/tenants",
            "application/json",
            r#"{"name":"A","plan_id":"pro","x":1}"#,
        ),
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "x");
    // A charset parameter or a +json type is still JSON.
    let (got, _, _) = send(
        &app,
        post(
            "/admin/v1/tenants",
            "application/json; charset=utf-8",
            r#"{"name":"A","plan_id":"pro"}"#,
        ),
    )
    .await;
    assert_eq!(got, StatusCode::CREATED);
    let (got, _, _) = send(
        &app,
        post(
            "/admin/v1/tenants",
            "application/merge-patch+json",
            r#"{"name":"B","plan_id":"pro"}"#,
        ),
    )
    .await;
    assert_eq!(got, StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let (_dir, state) = state().await;
    let app = app(state, Surfaces::All);
    let (status, content_type, body) =
        send(&app, Request::get("/nowhere").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, content_type.as_str(), body["code"].as_str()),
        (
            StatusCode::NOT_FOUND,
            error::PROBLEM_JSON,
            Some("not_found")
        )
    );
    let (status, _, body) = send(
        &app,
        Request::put("/admin/v1/plans").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn surfaces_can_be_served_alone() {
    let (_dir, state) = state().await;
    let plans = || {
        Request::get("/admin/v1/plans")
            .header(header::AUTHORIZATION, format!("Bearer {OPERATOR}"))
            .body(Body::empty())
            .unwrap()
    };
    let admin = app(state.clone(), Surfaces::Admin);
    assert_eq!(send(&admin, plans()).await.0, StatusCode::OK);
    let auth = app(state, Surfaces::Auth);
    assert_eq!(send(&auth, plans()).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&auth, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn operator_token_is_compared_by_digest() {
    let (_dir, state) = state().await;
    let app = app(state, Surfaces::All);
    let with = |token: &str| {
        Request::get("/admin/v1/tenants")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, with(OPERATOR)).await.0, StatusCode::OK);
    let (status, _, body) = send(&app, with("operator-token-for-tests-")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
}

fn committed(name: &str) -> Value {
    let path = format!("{}/../../openapi/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The committed documents are what the code generates; run `twostep openapi` after
/// changing a route or a schema.
#[test]
fn openapi_files_match_the_code() {
    for (name, doc) in [
        ("admin.json", admin_openapi()),
        ("auth.json", auth_openapi()),
    ] {
        let generated = serde_json::to_value(&doc).unwrap();
        assert!(
            generated == committed(name),
            "openapi/{name} is stale: run `cargo run -- openapi` and commit the result"
        );
    }
}

/// Every operation documents the problems it can answer, and its credentials.
#[test]
fn every_operation_documents_its_problems() {
    let doc = serde_json::to_value(admin_openapi()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            for status in ["401", "422", "500"] {
                let problem = &responses[status]["content"][error::PROBLEM_JSON];
                assert!(problem.is_object(), "{method} {path} lacks {status}");
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            let scheme =
                if path.starts_with("/admin/v1/plans") || path.starts_with("/admin/v1/tenants") {
                    "operator_token"
                } else {
                    "api_key"
                };
            assert_eq!(op["security"], json!([{ scheme: [] }]), "{method} {path}");
        }
    }
    assert!(operations >= 30, "{operations}");
}

#[tokio::test]
async fn rate_limits_say_when_to_come_back() {
    let resp = ApiError::RateLimited(1800).into_response();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "1800");
    assert_eq!(resp.headers()[header::CONTENT_TYPE], error::PROBLEM_JSON);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        (body["code"].as_str(), body["status"].as_u64()),
        (Some("rate_limited"), Some(429))
    );
}

#[tokio::test]
async fn flow_steps_need_the_flow_token_and_the_test_clock_route_is_off() {
    let (_dir, state) = state().await;
    let kid = state.signer.kid().to_owned();
    let app = app(state, Surfaces::All);
    let flow = "/auth/v1/flows/flw_00000000000070008000000000000000";
    let bare = |method: &str, path: &str, token: Option<&str>| {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        req.header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap()
    };
    // No token, or a token of another kind: 401.
    for token in [None, Some(OPERATOR), Some("tsk_notakey")] {
        let (status, _, body) = send(&app, bare("POST", &format!("{flow}/skip"), token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {body}");
    }
    // A well-formed token of no flow: 404, as for any flow it does not belong to.
    let token = format!("tft_{}", "ab".repeat(32));
    let (status, _, body) = send(&app, bare("POST", &format!("{flow}/skip"), Some(&token))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // The JWKS is public and names the signing key.
    let (status, _, jwks) = send(&app, bare("GET", "/auth/v1/.well-known/jwks.json", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            jwks["keys"][0]["kid"].as_str(),
            jwks["keys"][0]["crv"].as_str()
        ),
        (Some(kid.as_str()), Some("Ed25519"))
    );
    // Without the test clock the clock cannot be moved.
    let (status, _, _) = send(&app, bare("POST", "/testing/clock", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
