//! Tenant isolation: another tenant's ids answer exactly as ids that do not exist.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Server;

pub async fn tenants_never_see_each_other(s: Server) {
    let a = s.tenant("A", "scale").await;
    let b = s.tenant("B", "scale").await;
    let org = s.org(&a, "a-org").await;
    let user = s.user(&a, "a-user", "password").await;
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{org}/members/{user}"),
        &a.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{org}/mfa-policy"),
        &a.key,
        Some(json!({ "mode": "required" })),
        StatusCode::OK,
    )
    .await;
    let key = s
        .expect(
            Method::POST,
            "/admin/v1/api-keys",
            &a.key,
            Some(json!({ "name": "k" })),
            StatusCode::CREATED,
        )
        .await;
    let key_id = key["id"].as_str().unwrap();
    // A's user has a TOTP factor and a flow.
    s.policy(&a, json!({ "mode": "required", "factors": ["totp"] }))
        .await;
    let a_flow = s.flow_for(&a, &user).await;
    let (enrolled, _) = s.enroll_totp(&a_flow).await;
    let factor = enrolled["enrollment_id"].as_str().unwrap().to_owned();
    let flow_id = a_flow.id.clone();
    let b_org = s.org(&b, "b-org").await;
    let b_user = s.user(&b, "b-user", "password").await;

    // Ids of the same shape that exist nowhere.
    let ghost_org = "org_00000000000070008000000000000000";
    let ghost_user = "usr_00000000000070008000000000000000";
    let ghost_key = "key_00000000000070008000000000000000";
    let ghost_factor = "fct_00000000000070008000000000000000";
    let ghost_flow = "flw_00000000000070008000000000000000";
    let policy = json!({ "mode": "required" });
    let cases: Vec<(Method, String, String, Option<Value>)> = vec![
        (
            Method::GET,
            format!("/admin/v1/organizations/{org}"),
            format!("/admin/v1/organizations/{ghost_org}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/admin/v1/organizations/{org}"),
            format!("/admin/v1/organizations/{ghost_org}"),
            Some(json!({ "name": "mine" })),
        ),
        (
            Method::DELETE,
            format!("/admin/v1/organizations/{org}"),
            format!("/admin/v1/organizations/{ghost_org}"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/v1/organizations/{org}/members"),
            format!("/admin/v1/organizations/{ghost_org}/members"),
            None,
        ),
        (
            Method::PUT,
            format!("/admin/v1/organizations/{org}/members/{b_user}"),
            format!("/admin/v1/organizations/{ghost_org}/members/{b_user}"),
            None,
        ),
        (
            Method::PUT,
            format!("/admin/v1/organizations/{b_org}/members/{user}"),
            format!("/admin/v1/organizations/{b_org}/members/{ghost_user}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/admin/v1/organizations/{org}/members/{user}"),
            format!("/admin/v1/organizations/{ghost_org}/members/{ghost_user}"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/v1/organizations/{org}/mfa-policy"),
            format!("/admin/v1/organizations/{ghost_org}/mfa-policy"),
            None,
        ),
        (
            Method::PUT,
            format!("/admin/v1/organizations/{org}/mfa-policy"),
            format!("/admin/v1/organizations/{ghost_org}/mfa-policy"),
            Some(policy.clone()),
        ),
        (
            Method::DELETE,
            format!("/admin/v1/organizations/{org}/mfa-policy"),
            format!("/admin/v1/organizations/{ghost_org}/mfa-policy"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{user}"),
            format!("/admin/v1/users/{ghost_user}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/admin/v1/users/{user}"),
            format!("/admin/v1/users/{ghost_user}"),
            Some(json!({ "email": "x@example.com" })),
        ),
        (
            Method::DELETE,
            format!("/admin/v1/users/{user}"),
            format!("/admin/v1/users/{ghost_user}"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{user}/effective-policy"),
            format!("/admin/v1/users/{ghost_user}/effective-policy"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{b_user}/effective-policy?org_id={org}"),
            format!("/admin/v1/users/{b_user}/effective-policy?org_id={ghost_org}"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{user}/factors"),
            format!("/admin/v1/users/{ghost_user}/factors"),
            None,
        ),
        (
            Method::DELETE,
            format!("/admin/v1/users/{user}/factors/{factor}"),
            format!("/admin/v1/users/{ghost_user}/factors/{ghost_factor}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/admin/v1/users/{b_user}/factors/{factor}"),
            format!("/admin/v1/users/{b_user}/factors/{ghost_factor}"),
            None,
        ),
        (
            Method::POST,
            format!("/admin/v1/users/{user}/mfa/reset"),
            format!("/admin/v1/users/{ghost_user}/mfa/reset"),
            None,
        ),
        (
            Method::GET,
            format!("/auth/v1/flows/{flow_id}"),
            format!("/auth/v1/flows/{ghost_flow}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/admin/v1/api-keys/{key_id}"),
            format!("/admin/v1/api-keys/{ghost_key}"),
            None,
        ),
    ];
    for (method, foreign, ghost, body) in cases {
        let (status, foreign_body) = s.call(method.clone(), &foreign, &b.key, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {foreign}: {foreign_body}"
        );
        let (status, ghost_body) = s.call(method.clone(), &ghost, &b.key, body).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {ghost}: {ghost_body}"
        );
        assert_eq!(
            foreign_body, ghost_body,
            "{method} {foreign} tells more than a missing id"
        );
    }

    // Lists and the audit log show only the caller's own rows.
    for path in [
        "/admin/v1/organizations",
        "/admin/v1/users",
        "/admin/v1/api-keys",
        "/admin/v1/audit-events",
    ] {
        let page = s
            .expect(Method::GET, path, &b.key, None, StatusCode::OK)
            .await;
        let text = page.to_string();
        for foreign in [&org, &user, &key_id.to_owned(), &a.id] {
            assert!(!text.contains(foreign.as_str()), "{path} leaks {foreign}");
        }
    }
    let events = s
        .expect(
            Method::GET,
            &format!("/admin/v1/audit-events?user_id={user}"),
            &b.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(events["data"], json!([]));
    let tenant = s
        .expect(
            Method::GET,
            "/admin/v1/tenant",
            &b.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(tenant["id"], b.id.as_str());

    // Nothing of A's changed through B's attempts.
    let got = s
        .expect(
            Method::GET,
            &format!("/admin/v1/organizations/{org}"),
            &a.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(got["name"], "Org a-org");
    let members = s
        .expect(
            Method::GET,
            &format!("/admin/v1/organizations/{org}/members"),
            &a.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(members["data"].as_array().unwrap().len(), 1);
    let factors = s
        .expect(
            Method::GET,
            &format!("/admin/v1/users/{user}/factors"),
            &a.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        factors["data"][0]["id"],
        factor.as_str(),
        "A's factor survived B's attempts"
    );
    assert_eq!(factors["recovery_codes_remaining"], 10);
    // B cannot start a flow for A's user.
    let (status, _) = s
        .call(
            Method::POST,
            "/auth/v1/flows",
            &b.key,
            Some(json!({ "user_id": user })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.expect(
        Method::GET,
        "/admin/v1/tenant",
        key["api_key"].as_str().unwrap(),
        None,
        StatusCode::OK,
    )
    .await;
    let policy = s
        .expect(
            Method::GET,
            &format!("/admin/v1/organizations/{org}/mfa-policy"),
            &a.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(policy["mode"], "required");
}
