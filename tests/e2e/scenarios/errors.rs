//! Credentials, bad input, duplicates: every refusal a problem+json answer.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Server;

pub async fn credentials_are_checked(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    let tenant_paths = [
        "/admin/v1/tenant",
        "/admin/v1/organizations",
        "/admin/v1/users",
        "/admin/v1/mfa-policy",
        "/admin/v1/api-keys",
        "/admin/v1/audit-events",
    ];
    let operator_paths = ["/admin/v1/plans", "/admin/v1/tenants"];
    let wrong_key = format!("tsk_{}", "0".repeat(64));
    for path in tenant_paths.iter().chain(operator_paths.iter()) {
        let (status, content_type, body) = s.raw(Method::GET, path, None, None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{path} without credentials"
        );
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["code"], "unauthorized");
        for token in [wrong_key.as_str(), "garbage", ""] {
            s.expect_problem(
                Method::GET,
                path,
                token,
                None,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            )
            .await;
        }
    }
    // Each credential opens its own surface only.
    for path in operator_paths {
        s.expect_problem(
            Method::GET,
            path,
            &t.key,
            None,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    }
    for path in tenant_paths {
        s.expect_problem(
            Method::GET,
            path,
            &s.operator,
            None,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
        s.expect(Method::GET, path, &t.key, None, StatusCode::OK)
            .await;
    }
    // The scheme is case-insensitive; a Basic header is not a bearer token.
    let resp = reqwest::Client::new()
        .get(format!("{}/admin/v1/tenant", s.base))
        .header("authorization", format!("bearer {}", t.key))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = reqwest::Client::new()
        .get(format!("{}/admin/v1/tenant", s.base))
        .header("authorization", format!("Basic {}", t.key))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
}

pub async fn revoked_keys_stop_at_once(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    let created = s
        .expect(
            Method::POST,
            "/admin/v1/api-keys",
            &t.key,
            Some(json!({ "name": "temp" })),
            StatusCode::CREATED,
        )
        .await;
    let key = created["api_key"].as_str().unwrap();
    s.expect(Method::GET, "/admin/v1/tenant", key, None, StatusCode::OK)
        .await;
    let path = format!("/admin/v1/api-keys/{}", created["id"].as_str().unwrap());
    s.expect(Method::DELETE, &path, &t.key, None, StatusCode::NO_CONTENT)
        .await;
    s.expect_problem(
        Method::GET,
        "/admin/v1/tenant",
        key,
        None,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // Revoking twice finds nothing live; the list shows when it was revoked.
    s.expect_problem(
        Method::DELETE,
        &path,
        &t.key,
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let keys = s
        .expect(
            Method::GET,
            "/admin/v1/api-keys",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    let revoked = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == created["id"])
        .unwrap();
    assert!(revoked["revoked_at"].is_string());
    // A key can revoke itself; it stops working for the next request.
    let first = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] != created["id"])
        .unwrap();
    let path = format!("/admin/v1/api-keys/{}", first["id"].as_str().unwrap());
    s.expect(Method::DELETE, &path, &t.key, None, StatusCode::NO_CONTENT)
        .await;
    s.expect_problem(
        Method::GET,
        "/admin/v1/tenant",
        &t.key,
        None,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

fn printed_token(logs: &[String]) -> Option<String> {
    logs.iter()
        .filter_map(|l| l.split_once("generated operator token"))
        .filter_map(|(_, rest)| rest.split_whitespace().last().map(str::to_owned))
        .next()
}

pub async fn generated_operator_token_is_printed_once(s: Server) {
    // Restart this database without a configured token: one is generated and printed.
    let s = s.restart(None).await;
    let token = printed_token(&s.logs()).expect("a generated token is printed");
    assert!(token.starts_with("tso_"), "{token}");
    s.expect(Method::GET, "/admin/v1/plans", &token, None, StatusCode::OK)
        .await;
    // Only its digest is kept: the next start prints nothing, and the token still works.
    let s = s.restart(None).await;
    assert_eq!(printed_token(&s.logs()), None);
    s.expect(Method::GET, "/admin/v1/plans", &token, None, StatusCode::OK)
        .await;
    s.expect_problem(
        Method::GET,
        "/admin/v1/plans",
        "tso_wrong",
        None,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // A configured token takes precedence over the stored one.
    let s = s.restart(Some("configured-operator-token")).await;
    s.expect(
        Method::GET,
        "/admin/v1/plans",
        "configured-operator-token",
        None,
        StatusCode::OK,
    )
    .await;
    s.expect_problem(
        Method::GET,
        "/admin/v1/plans",
        &token,
        None,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

fn field_errors(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn bad_input_is_refused_with_problems(s: Server) {
    let t = s.tenant("Acme", "scale").await;
    let long = "x".repeat(300);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/admin/v1/users",
            json!({ "external_id": "u", "email": "not-an-email" }),
            "email",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": "u", "email": "a@b@c" }),
            "email",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": "u", "phone": "4155552671" }),
            "phone",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": "u", "phone": "+1 415 555 2671" }),
            "phone",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": "u", "phone": "+999" }),
            "phone",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": "u", "phone": "+١٤١٥٥٥٥٢٦٧١" }),
            "phone",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": "" }),
            "external_id",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": long }),
            "external_id",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": "u", "primary_method": "carrier_pigeon" }),
            "primary_method",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": "u", "nickname": "x" }),
            "nickname",
        ),
        (
            "/admin/v1/users",
            json!({ "external_id": 5 }),
            "external_id",
        ),
        ("/admin/v1/users", json!({}), "body"),
        (
            "/admin/v1/organizations",
            json!({ "code": "", "name": "A" }),
            "code",
        ),
        (
            "/admin/v1/organizations",
            json!({ "code": "a", "name": "   " }),
            "name",
        ),
        (
            "/admin/v1/organizations",
            json!({ "code": "a", "name": long }),
            "name",
        ),
        (
            "/admin/v1/organizations",
            json!({ "code": "has space", "name": "A" }),
            "code",
        ),
        ("/admin/v1/api-keys", json!({ "name": "" }), "name"),
    ];
    for (path, body, field) in cases {
        let problem = s
            .expect_problem(
                Method::POST,
                path,
                &t.key,
                Some(body.clone()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
        assert!(
            field_errors(&problem).contains(&field.to_owned()),
            "{path} {body}: {problem}"
        );
    }
    // Every bad field is reported at once.
    let problem = s
        .expect_problem(
            Method::POST,
            "/admin/v1/users",
            &t.key,
            Some(json!({ "external_id": "", "email": "x", "phone": "1" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    assert_eq!(field_errors(&problem), ["external_id", "email", "phone"]);

    let policies: Vec<(Value, &str)> = vec![
        (json!({ "mode": "sometimes" }), "mode"),
        (
            json!({ "mode": "required", "factors": ["voice"] }),
            "factors[0]",
        ),
        (json!({ "mode": "required", "factors": [] }), "factors"),
        (
            json!({ "mode": "required", "factors": ["totp", "totp"] }),
            "factors",
        ),
        (
            json!({ "mode": "required", "otp": { "length": 7 } }),
            "otp.length",
        ),
        (
            json!({ "mode": "required", "otp": { "ttl_seconds": 3600 } }),
            "otp.ttl_seconds",
        ),
        (
            json!({ "mode": "required", "otp": { "max_attempts": 50 } }),
            "otp.max_attempts",
        ),
        (
            json!({ "mode": "required", "primary_methods": ["telepathy"] }),
            "primary_methods[0]",
        ),
        (json!({ "mode": "required", "extra": true }), "extra"),
    ];
    for (body, field) in policies {
        let problem = s
            .expect_problem(
                Method::PUT,
                "/admin/v1/mfa-policy",
                &t.key,
                Some(body.clone()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
        assert!(
            field_errors(&problem).contains(&field.to_owned()),
            "{body}: {problem}"
        );
    }
    let org = s.org(&t, "acme").await;
    let path = format!("/admin/v1/organizations/{org}/mfa-policy");
    for body in [
        json!({ "mode": "off" }),
        json!({ "mode": "required", "factors": ["fax"] }),
        json!({ "mode": "required", "factors": [] }),
        json!({}),
    ] {
        s.expect_problem(
            Method::PUT,
            &path,
            &t.key,
            Some(body),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    // Operator input.
    let op = s.operator.clone();
    s.expect_problem(
        Method::POST,
        "/admin/v1/tenants",
        &op,
        Some(json!({ "name": "X", "plan_id": "platinum" })),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    s.expect_problem(
        Method::POST,
        "/admin/v1/tenants",
        &op,
        Some(json!({ "name": "", "plan_id": "free" })),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    s.expect_problem(
        Method::POST,
        "/admin/v1/plans",
        &op,
        Some(json!({ "id": "Bad Id", "name": "X", "rank": 1, "entitlements": {} })),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    s.expect_problem(
        Method::POST,
        "/admin/v1/plans",
        &op,
        Some(json!({ "id": "ok", "name": "X", "rank": 1, "entitlements": { "teleport": true } })),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    s.expect_problem(
        Method::PUT,
        &format!("/admin/v1/tenants/{}/plan", t.id),
        &op,
        Some(json!({ "plan_id": "platinum" })),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

pub async fn malformed_requests_never_answer_500(s: Server) {
    let t = s.tenant("Acme", "scale").await;
    let key = Some(t.key.as_str());
    let json_ct = "application/json";
    // Body problems, on every endpoint that takes a body.
    let bodies = [
        ("POST", "/admin/v1/users"),
        ("POST", "/admin/v1/organizations"),
        ("POST", "/admin/v1/api-keys"),
        ("PUT", "/admin/v1/mfa-policy"),
    ];
    for (method, path) in bodies {
        let method: Method = method.parse().unwrap();
        let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
            (
                json_ct,
                b"{".to_vec(),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                json_ct,
                b"".to_vec(),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                json_ct,
                b"{} trailing".to_vec(),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                json_ct,
                b"[]".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            (
                json_ct,
                b"null".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            (
                json_ct,
                vec![0xff, 0xfe],
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                "text/plain",
                b"{}".to_vec(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                json_ct,
                format!("{{\"name\":\"{}\"}}", "a".repeat(70 * 1024)).into_bytes(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
        ];
        for (content_type, bytes, status, code) in cases {
            let (got, ct, body) = s
                .raw(method.clone(), path, key, Some((content_type, bytes)))
                .await;
            assert_eq!(
                (got, body["code"].as_str()),
                (status, Some(code)),
                "{method} {path} {content_type}: {body}"
            );
            assert_eq!(ct, "application/problem+json");
        }
        let (got, _, body) = s.raw(method.clone(), path, key, None).await;
        assert_eq!(
            got,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{method} {path} without body: {body}"
        );
    }
    // Bad ids in paths are simply not found.
    for path in [
        "/admin/v1/organizations/nope",
        "/admin/v1/organizations/usr_0190f3c4a2b87c3d8e9f0a1b2c3d4e5f",
        "/admin/v1/organizations/org_%00",
        "/admin/v1/organizations/org_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "/admin/v1/users/usr_",
        "/admin/v1/users/%F0%9F%92%A9",
        "/admin/v1/users/usr_0190f3c4a2b87c3d8e9f0a1b2c3d4e5f/effective-policy",
        "/admin/v1/organizations/x/members",
        "/admin/v1/no-such-thing",
    ] {
        let (got, ct, body) = s.raw(Method::GET, path, key, None).await;
        assert_eq!(got, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(ct, "application/problem+json");
    }
    for path in [
        "/admin/v1/tenants/ten_x",
        "/admin/v1/plans/nope",
        "/admin/v1/tenants/%ff",
    ] {
        s.expect_problem(
            Method::GET,
            path,
            &s.operator,
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    // A method the route does not have.
    let (got, ct, body) = s.raw(Method::PATCH, "/admin/v1/tenant", key, None).await;
    assert_eq!(
        (got, ct.as_str(), body["code"].as_str()),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "application/problem+json",
            Some("method_not_allowed")
        )
    );
    // Bad query strings.
    let user = s.user(&t, "u1", "password").await;
    for query in ["org_id=nope", "primary_method=telepathy", "org_id="] {
        s.expect_problem(
            Method::GET,
            &format!("/admin/v1/users/{user}/effective-policy?{query}"),
            &t.key,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    s.expect_problem(
        Method::GET,
        "/admin/v1/audit-events?user_id=nope",
        &t.key,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // Nothing above was logged as a server error.
    assert!(
        !s.logs()
            .iter()
            .any(|l| l.contains("\"status\":500") || l.contains("request failed")),
        "a 500 was logged"
    );
}

pub async fn duplicates_conflict(s: Server) {
    let t = s.tenant("Acme", "scale").await;
    let other = s.tenant("Other", "scale").await;
    s.org(&t, "acme").await;
    let second = s.org(&t, "acme-2").await;
    let problem = s
        .expect_problem(
            Method::POST,
            "/admin/v1/organizations",
            &t.key,
            Some(json!({ "code": "acme", "name": "Again" })),
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;
    assert!(problem["detail"].as_str().unwrap().contains("code"));
    s.expect_problem(
        Method::PATCH,
        &format!("/admin/v1/organizations/{second}"),
        &t.key,
        Some(json!({ "code": "acme" })),
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    // Codes and external ids are unique per tenant, not across tenants.
    s.org(&other, "acme").await;
    s.user(&t, "u-1", "password").await;
    let u2 = s.user(&t, "u-2", "password").await;
    s.expect_problem(
        Method::POST,
        "/admin/v1/users",
        &t.key,
        Some(json!({ "external_id": "u-1" })),
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    s.expect_problem(
        Method::PATCH,
        &format!("/admin/v1/users/{u2}"),
        &t.key,
        Some(json!({ "external_id": "u-1" })),
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    s.user(&other, "u-1", "password").await;
    let op = s.operator.clone();
    s.expect_problem(
        Method::POST,
        "/admin/v1/plans",
        &op,
        Some(json!({ "id": "scale", "name": "Again", "rank": 1, "entitlements": {} })),
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}
