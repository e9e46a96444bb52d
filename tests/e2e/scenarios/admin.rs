//! Success paths of the admin API, as a tenant admin goes through them.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::Server;

pub async fn walkthrough_every_endpoint(s: Server) {
    let op = s.operator.clone();
    // Operator: plans.
    let plans = s
        .expect(Method::GET, "/admin/v1/plans", &op, None, StatusCode::OK)
        .await;
    let ids: Vec<_> = plans["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["free", "pro", "plus", "scale"]);
    assert_eq!(plans["data"][3]["entitlements"]["mfa_per_org"], true);
    assert_eq!(plans["data"][1]["entitlements"]["mfa_per_org"], false);
    let team = json!({ "id": "team", "name": "Team", "rank": 15, "entitlements": { "mfa_per_org": false, "sms": true, "max_orgs": 10 } });
    let created = s
        .expect(
            Method::POST,
            "/admin/v1/plans",
            &op,
            Some(team),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["id"], "team");
    let got = s
        .expect(
            Method::GET,
            "/admin/v1/plans/team",
            &op,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(got["entitlements"]["max_orgs"], 10);
    let patched = s
        .expect(Method::PATCH, "/admin/v1/plans/team", &op, Some(json!({ "name": "Team+", "entitlements": { "mfa_per_org": true, "sms": true, "max_orgs": null } })), StatusCode::OK)
        .await;
    assert_eq!(patched["name"], "Team+");
    assert_eq!(patched["entitlements"]["mfa_per_org"], true);
    assert_eq!(patched["entitlements"]["max_orgs"], serde_json::Value::Null);

    // Operator: tenants.
    let t = s.tenant("Acme", "pro").await;
    assert!(t.key.starts_with("tsk_") && t.id.starts_with("ten_"));
    let list = s
        .expect(Method::GET, "/admin/v1/tenants", &op, None, StatusCode::OK)
        .await;
    assert_eq!(list["data"][0]["id"], t.id.as_str());
    let path = format!("/admin/v1/tenants/{}", t.id);
    let got = s
        .expect(Method::GET, &path, &op, None, StatusCode::OK)
        .await;
    assert_eq!(got["name"], "Acme");
    let renamed = s
        .expect(
            Method::PATCH,
            &path,
            &op,
            Some(json!({ "name": "Acme Inc" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(renamed["name"], "Acme Inc");
    assert_eq!(
        renamed["delivery_caps"]["sms"]["per_destination"], 5,
        "the defaults"
    );
    let caps = json!({ "sms": { "per_destination": 3, "per_tenant": 50 }, "email": { "per_destination": 8, "per_tenant": 500 } });
    let capped = s
        .expect(
            Method::PATCH,
            &path,
            &op,
            Some(json!({ "delivery_caps": caps })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (capped["delivery_caps"].clone(), capped["name"].as_str()),
        (caps.clone(), Some("Acme Inc"))
    );
    let bad = json!({ "delivery_caps": { "sms": { "per_destination": 0, "per_tenant": 50 }, "email": { "per_destination": 8, "per_tenant": 500 } } });
    s.expect_problem(
        Method::PATCH,
        &path,
        &op,
        Some(bad),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let changed = s
        .expect(
            Method::PUT,
            &format!("{path}/plan"),
            &op,
            Some(json!({ "plan_id": "scale" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(changed["tenant"]["plan_id"], "scale");
    assert_eq!(changed["suspended_organizations"], json!([]));

    // Tenant: itself and its keys.
    let me = s
        .expect(
            Method::GET,
            "/admin/v1/tenant",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(me["id"], t.id.as_str());
    assert_eq!(me["plan"]["id"], "scale");
    assert_eq!(me["plan"]["entitlements"]["mfa_per_org"], true);
    assert_eq!(me["delivery_caps"]["sms"]["per_destination"], 3);
    let key = s
        .expect(
            Method::POST,
            "/admin/v1/api-keys",
            &t.key,
            Some(json!({ "name": "ci" })),
            StatusCode::CREATED,
        )
        .await;
    let second = key["api_key"].as_str().unwrap().to_owned();
    assert!(second.starts_with("tsk_"));
    let keys = s
        .expect(
            Method::GET,
            "/admin/v1/api-keys",
            &second,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(keys["data"].as_array().unwrap().len(), 2);
    assert!(
        keys.to_string().find("tsk_").is_none(),
        "a listed key shows its secret: {keys}"
    );
    s.expect(
        Method::DELETE,
        &format!("/admin/v1/api-keys/{}", key["id"].as_str().unwrap()),
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;

    // Organizations.
    let org = s.org(&t, "acme-eu").await;
    let org_path = format!("/admin/v1/organizations/{org}");
    let list = s
        .expect(
            Method::GET,
            "/admin/v1/organizations",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(list["data"][0]["id"], org.as_str());
    let got = s
        .expect(Method::GET, &org_path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(got["code"], "acme-eu");
    let patched = s
        .expect(
            Method::PATCH,
            &org_path,
            &t.key,
            Some(json!({ "name": "Acme Europe" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (patched["name"].as_str(), patched["code"].as_str()),
        (Some("Acme Europe"), Some("acme-eu"))
    );

    // Users.
    let body = json!({ "external_id": "u-1", "email": "ada@example.com", "phone": "+14155552671", "primary_method": "password" });
    let user = s
        .expect(
            Method::POST,
            "/admin/v1/users",
            &t.key,
            Some(body),
            StatusCode::CREATED,
        )
        .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    assert!(user_id.starts_with("usr_"));
    assert_eq!(user["phone"], "+14155552671");
    let user_path = format!("/admin/v1/users/{user_id}");
    let list = s
        .expect(Method::GET, "/admin/v1/users", &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(list["data"][0]["id"], user_id.as_str());
    let got = s
        .expect(Method::GET, &user_path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(got["email"], "ada@example.com");
    let patched = s
        .expect(
            Method::PATCH,
            &user_path,
            &t.key,
            Some(json!({ "phone": null, "primary_method": "email_code" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(patched["phone"], serde_json::Value::Null);
    assert_eq!(patched["email"], "ada@example.com");
    assert_eq!(patched["primary_method"], "email_code");

    // Memberships.
    let member_path = format!("{org_path}/members/{user_id}");
    s.expect(
        Method::PUT,
        &member_path,
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    s.expect(
        Method::PUT,
        &member_path,
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let members = s
        .expect(
            Method::GET,
            &format!("{org_path}/members"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(members["data"].as_array().unwrap().len(), 1);
    assert_eq!(members["data"][0]["id"], user_id.as_str());

    // Policies.
    let env = s
        .expect(
            Method::GET,
            "/admin/v1/mfa-policy",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(env["mode"], "off");
    let put = json!({ "mode": "optional", "factors": ["totp", "email"], "recovery_codes": true, "allow_same_as_primary": false, "primary_methods": ["password"], "otp": { "length": 8, "ttl_seconds": 300, "max_attempts": 3 } });
    let env = s
        .expect(
            Method::PUT,
            "/admin/v1/mfa-policy",
            &t.key,
            Some(put.clone()),
            StatusCode::OK,
        )
        .await;
    assert_eq!(env["warnings"], json!([]));
    let env = s
        .expect(
            Method::GET,
            "/admin/v1/mfa-policy",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    for field in [
        "mode",
        "factors",
        "recovery_codes",
        "allow_same_as_primary",
        "primary_methods",
        "otp",
    ] {
        assert_eq!(env[field], put[field], "{field}");
    }
    let policy_path = format!("{org_path}/mfa-policy");
    let org_policy = s
        .expect(Method::GET, &policy_path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (org_policy["mode"].as_str(), org_policy["active"].as_bool()),
        (Some("inherit"), Some(false))
    );
    let org_policy = s
        .expect(
            Method::PUT,
            &policy_path,
            &t.key,
            Some(json!({ "mode": "required", "factors": ["totp"] })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(org_policy["active"], true);
    let got = s
        .expect(Method::GET, &policy_path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (got["mode"].as_str(), got["factors"].clone()),
        (Some("required"), json!(["totp"]))
    );
    let effective = s
        .expect(
            Method::GET,
            &format!("{user_path}/effective-policy?org_id={org}"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(effective["source"], "organization");
    assert_eq!(effective["mode"], "required");
    s.expect(
        Method::DELETE,
        &policy_path,
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let effective = s
        .expect(
            Method::GET,
            &format!("{user_path}/effective-policy?org_id={org}"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (
            effective["source"].as_str(),
            effective["decided_by"].as_str()
        ),
        (Some("environment"), Some("organization_has_no_policy"))
    );

    // Outbox (empty: nothing was sent).
    let outbox = s
        .expect(
            Method::GET,
            "/admin/v1/outbox",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(outbox["data"], json!([]));

    // Audit log.
    let events = s
        .expect(
            Method::GET,
            "/admin/v1/audit-events",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert!(events["data"].as_array().unwrap().len() >= 10, "{events}");

    // Deletions.
    s.expect(
        Method::DELETE,
        &member_path,
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    s.expect(
        Method::DELETE,
        &user_path,
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    s.expect(
        Method::DELETE,
        &org_path,
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    s.expect_problem(
        Method::GET,
        &org_path,
        &t.key,
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    s.expect(Method::DELETE, &path, &op, None, StatusCode::NO_CONTENT)
        .await;
    s.expect_problem(
        Method::GET,
        &path,
        &op,
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
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

pub async fn pagination_walks_every_item(s: Server) {
    let t = s.tenant("Acme", "scale").await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(s.user(&t, &format!("u{i}"), "password").await);
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut path = "/admin/v1/users?limit=3".to_owned();
    loop {
        let page = s
            .expect(Method::GET, &path, &t.key, None, StatusCode::OK)
            .await;
        let items = page["data"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/admin/v1/users?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, made);
    for bad in ["limit=0", "limit=201", "limit=abc", "cursor=nope"] {
        s.expect_problem(
            Method::GET,
            &format!("/admin/v1/users?{bad}"),
            &t.key,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}

pub async fn concurrent_writes_all_succeed(s: Server) {
    let t = s.tenant("Acme", "scale").await;
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (s, key) = (s.clone(), t.key.clone());
        tasks.push(tokio::spawn(async move {
            let body =
                json!({ "external_id": format!("u{i}"), "email": format!("u{i}@example.com") });
            s.call(Method::POST, "/admin/v1/users", &key, Some(body))
                .await
                .0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::CREATED);
    }
    // The same code raced from ten requests: exactly one organization.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (s, key) = (s.clone(), t.key.clone());
        tasks.push(tokio::spawn(async move {
            s.call(
                Method::POST,
                "/admin/v1/organizations",
                &key,
                Some(json!({ "code": "race", "name": "Race" })),
            )
            .await
            .0
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    let users = s
        .expect(
            Method::GET,
            "/admin/v1/users?limit=200",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(users["data"].as_array().unwrap().len(), 30);

    // Twelve racing creations on the free plan (5 organizations): exactly five.
    let free = s.tenant("Free", "free").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (s, key) = (s.clone(), free.key.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({ "code": format!("o{i}"), "name": "O" });
            s.call(Method::POST, "/admin/v1/organizations", &key, Some(body))
                .await
                .0
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    assert_eq!((created, refused), (5, 7), "{statuses:?}");
}
