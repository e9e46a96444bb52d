//! Plan gating, downgrades, policy warnings and the effective policy.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::Server;

pub async fn per_org_policy_needs_scale(s: Server) {
    let pro = s.tenant("Pro", "pro").await;
    let org = s.org(&pro, "acme").await;
    let path = format!("/admin/v1/organizations/{org}/mfa-policy");
    let problem = s
        .expect_problem(
            Method::PUT,
            &path,
            &pro.key,
            Some(json!({ "mode": "required" })),
            StatusCode::FORBIDDEN,
            "plan_entitlement_required",
        )
        .await;
    assert_eq!(problem["entitlement"], "mfa_per_org");
    let got = s
        .expect(Method::GET, &path, &pro.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (got["mode"].as_str(), got["active"].as_bool()),
        (Some("inherit"), Some(false))
    );

    let scale = s.tenant("Scale", "scale").await;
    let org = s.org(&scale, "acme").await;
    let path = format!("/admin/v1/organizations/{org}/mfa-policy");
    let saved = s
        .expect(
            Method::PUT,
            &path,
            &scale.key,
            Some(json!({ "mode": "required", "factors": ["totp", "sms"] })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (saved["active"].as_bool(), saved["suspended"].as_bool()),
        (Some(true), Some(false))
    );

    // SMS needs its entitlement too (the free plan lacks it).
    let free = s.tenant("Free", "free").await;
    let problem = s
        .expect_problem(
            Method::PUT,
            "/admin/v1/mfa-policy",
            &free.key,
            Some(json!({ "mode": "required", "factors": ["sms", "totp"] })),
            StatusCode::FORBIDDEN,
            "plan_entitlement_required",
        )
        .await;
    assert_eq!(problem["entitlement"], "sms");
    // The free plan's organization limit (5).
    for i in 0..5 {
        s.org(&free, &format!("o{i}")).await;
    }
    let problem = s
        .expect_problem(
            Method::POST,
            "/admin/v1/organizations",
            &free.key,
            Some(json!({ "code": "o5", "name": "Six" })),
            StatusCode::FORBIDDEN,
            "plan_entitlement_required",
        )
        .await;
    assert_eq!(problem["entitlement"], "max_orgs");
}

pub async fn downgrade_suspends_org_policies_only_with_force(s: Server) {
    let t = s.tenant("Acme", "scale").await;
    let with_policy = s.org(&t, "strict").await;
    let inheriting = s.org(&t, "relaxed").await;
    let user = s.user(&t, "u1", "password").await;
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{with_policy}/members/{user}"),
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{with_policy}/mfa-policy"),
        &t.key,
        Some(json!({ "mode": "required", "factors": ["totp"] })),
        StatusCode::OK,
    )
    .await;
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{inheriting}/mfa-policy"),
        &t.key,
        Some(json!({ "mode": "inherit" })),
        StatusCode::OK,
    )
    .await;
    let plan_path = format!("/admin/v1/tenants/{}/plan", t.id);
    let op = s.operator.clone();

    let problem = s
        .expect_problem(
            Method::PUT,
            &plan_path,
            &op,
            Some(json!({ "plan_id": "pro" })),
            StatusCode::CONFLICT,
            "plan_downgrade_conflict",
        )
        .await;
    assert_eq!(problem["organizations"], json!([with_policy]));
    let tenant = s
        .expect(
            Method::GET,
            "/admin/v1/tenant",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        tenant["plan"]["id"], "scale",
        "a refused change changes nothing"
    );

    let changed = s
        .expect(
            Method::PUT,
            &plan_path,
            &op,
            Some(json!({ "plan_id": "pro", "force": true })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(changed["suspended_organizations"], json!([with_policy]));
    let policy_path = format!("/admin/v1/organizations/{with_policy}/mfa-policy");
    let policy = s
        .expect(Method::GET, &policy_path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (
            policy["mode"].as_str(),
            policy["active"].as_bool(),
            policy["suspended"].as_bool()
        ),
        (Some("required"), Some(false), Some(true))
    );
    let effective_path = format!("/admin/v1/users/{user}/effective-policy?org_id={with_policy}");
    let effective = s
        .expect(Method::GET, &effective_path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (
            effective["source"].as_str(),
            effective["decided_by"].as_str(),
            effective["mode"].as_str()
        ),
        (
            Some("environment"),
            Some("organization_policy_suspended"),
            Some("off")
        )
    );
    // Moving between plans without the entitlement is no new conflict.
    s.expect(
        Method::PUT,
        &plan_path,
        &op,
        Some(json!({ "plan_id": "plus" })),
        StatusCode::OK,
    )
    .await;

    // Upgrading brings the kept policy back.
    let changed = s
        .expect(
            Method::PUT,
            &plan_path,
            &op,
            Some(json!({ "plan_id": "scale" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(changed["suspended_organizations"], json!([]));
    let policy = s
        .expect(Method::GET, &policy_path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (policy["active"].as_bool(), policy["suspended"].as_bool()),
        (Some(true), Some(false))
    );
    let effective = s
        .expect(Method::GET, &effective_path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (effective["source"].as_str(), effective["mode"].as_str()),
        (Some("organization"), Some("required"))
    );

    let events = s
        .expect(
            Method::GET,
            "/admin/v1/audit-events?type=tenant.plan_changed",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    let events = events["data"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2]["details"]["suspended_organizations"],
        json!([with_policy])
    );
    assert_eq!(events[2]["actor"], "operator");
}

pub async fn policy_warnings(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    let saved = s
        .expect(
            Method::PUT,
            "/admin/v1/mfa-policy",
            &t.key,
            Some(json!({ "mode": "required", "factors": ["email", "sms"] })),
            StatusCode::OK,
        )
        .await;
    let codes: Vec<_> = saved["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["restricted_factors_only"]);
    assert!(
        saved["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("totp")
    );

    let body = json!({ "mode": "optional", "factors": ["email", "totp"], "primary_methods": ["email_link", "password"] });
    let saved = s
        .expect(
            Method::PUT,
            "/admin/v1/mfa-policy",
            &t.key,
            Some(body),
            StatusCode::OK,
        )
        .await;
    let codes: Vec<_> = saved["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["factor_same_as_primary"]);

    let body = json!({ "mode": "required", "factors": ["sms"], "primary_methods": ["phone_code"] });
    let saved = s
        .expect(
            Method::PUT,
            "/admin/v1/mfa-policy",
            &t.key,
            Some(body),
            StatusCode::OK,
        )
        .await;
    let codes: Vec<_> = saved["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "restricted_factors_only",
            "factor_same_as_primary",
            "no_factor_for_primary_method"
        ]
    );
    // The warnings are saved with the policy, and shown on reading it.
    let got = s
        .expect(
            Method::GET,
            "/admin/v1/mfa-policy",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(got["warnings"], saved["warnings"]);

    let saved = s
        .expect(
            Method::PUT,
            "/admin/v1/mfa-policy",
            &t.key,
            Some(json!({ "mode": "required", "factors": ["totp"] })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(saved["warnings"], json!([]));
}

pub async fn effective_policy_explains_itself(s: Server) {
    let t = s.tenant("Acme", "scale").await;
    let org = s.org(&t, "acme").await;
    let outsider_org = s.org(&t, "other").await;
    let user = s.user(&t, "u1", "email_code").await;
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{org}/members/{user}"),
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    s.expect(
        Method::PUT,
        "/admin/v1/mfa-policy",
        &t.key,
        Some(json!({ "mode": "optional", "factors": ["email", "totp"] })),
        StatusCode::OK,
    )
    .await;
    let base = format!("/admin/v1/users/{user}/effective-policy");

    let e = s
        .expect(Method::GET, &base, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (
            e["source"].as_str(),
            e["decided_by"].as_str(),
            e["mode"].as_str()
        ),
        (
            Some("environment"),
            Some("no_organization"),
            Some("optional")
        )
    );
    assert_eq!(e["primary_method"], "email_code");
    assert_eq!(e["offered_factors"], json!(["totp"]));
    assert_eq!(
        e["excluded_factors"],
        json!([{ "type": "email", "reason": "same_as_primary" }])
    );

    let e = s
        .expect(
            Method::GET,
            &format!("{base}?primary_method=password"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(e["offered_factors"], json!(["email", "totp"]));

    let e = s
        .expect(
            Method::GET,
            &format!("{base}?org_id={org}"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (e["decided_by"].as_str(), e["organization_id"].as_str()),
        (Some("organization_has_no_policy"), Some(org.as_str()))
    );
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{org}/mfa-policy"),
        &t.key,
        Some(json!({ "mode": "inherit" })),
        StatusCode::OK,
    )
    .await;
    let e = s
        .expect(
            Method::GET,
            &format!("{base}?org_id={org}"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(e["decided_by"], "organization_inherits");
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{org}/mfa-policy"),
        &t.key,
        Some(json!({ "mode": "required", "factors": ["email"] })),
        StatusCode::OK,
    )
    .await;
    let e = s
        .expect(
            Method::GET,
            &format!("{base}?org_id={org}"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (e["source"].as_str(), e["mode"].as_str()),
        (Some("organization"), Some("required"))
    );
    assert_eq!(
        e["offered_factors"],
        json!([]),
        "email is the primary channel"
    );

    // Not a member of that organization.
    s.expect_problem(
        Method::GET,
        &format!("{base}?org_id={outsider_org}"),
        &t.key,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

pub async fn audit_log_records_writes_without_secrets(s: Server) {
    let t = s.tenant("Acme", "scale").await;
    let key = s
        .expect(
            Method::POST,
            "/admin/v1/api-keys",
            &t.key,
            Some(json!({ "name": "second" })),
            StatusCode::CREATED,
        )
        .await;
    let org = s.org(&t, "acme").await;
    let user = s.user(&t, "u1", "password").await;
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{org}/members/{user}"),
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    s.expect(
        Method::PUT,
        "/admin/v1/mfa-policy",
        &t.key,
        Some(json!({ "mode": "required" })),
        StatusCode::OK,
    )
    .await;
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{org}/mfa-policy"),
        &t.key,
        Some(json!({ "mode": "optional" })),
        StatusCode::OK,
    )
    .await;
    s.expect(
        Method::PATCH,
        &format!("/admin/v1/users/{user}"),
        &t.key,
        Some(json!({ "phone": "+14155552671" })),
        StatusCode::OK,
    )
    .await;

    let events = s
        .expect(
            Method::GET,
            "/admin/v1/audit-events?limit=200",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    let events = events["data"].as_array().unwrap();
    let types: Vec<_> = events
        .iter()
        .rev()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "tenant.created",
            "api_key.created",
            "api_key.created",
            "organization.created",
            "user.created",
            "membership.added",
            "mfa_policy.updated",
            "organization.mfa_policy_updated",
            "user.updated",
        ]
    );
    // Newest first: seven changes made with the tenant's key, then the operator's two.
    for e in &events[..7] {
        assert!(e["actor"].as_str().unwrap().starts_with("key_"), "{e}");
        assert!(e["created_at"].is_string());
    }
    for e in &events[7..] {
        assert_eq!(e["actor"], "operator", "{e}");
    }
    let text = serde_json::to_string(events).unwrap();
    assert!(
        !text.contains(&t.key) && !text.contains(key["api_key"].as_str().unwrap()),
        "an API key is in the audit log"
    );
    assert!(
        !text.contains("4155552671"),
        "a phone number is in the audit log"
    );
    let for_user = s
        .expect(
            Method::GET,
            &format!("/admin/v1/audit-events?user_id={user}"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    let types: Vec<_> = for_user["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["user.updated", "membership.added", "user.created"]);
}

/// Taking `mfa_per_org` away from a plan is refused while tenants on it have organization
/// policies, unless forced; forced, the policies are suspended and come back with it.
pub async fn plan_edit_removing_per_org_needs_force(s: Server) {
    let op = s.operator.clone();
    let plan = |per_org: bool| json!({ "entitlements": { "mfa_per_org": per_org, "sms": true, "max_orgs": null } });
    s.expect(
        Method::POST,
        "/admin/v1/plans",
        &op,
        Some(json!({ "id": "team", "name": "Team", "rank": 15, "entitlements": { "mfa_per_org": true, "sms": true, "max_orgs": null } })),
        StatusCode::CREATED,
    )
    .await;
    let t = s.tenant("Acme", "team").await;
    let org = s.org(&t, "acme").await;
    let path = format!("/admin/v1/organizations/{org}/mfa-policy");
    s.expect(
        Method::PUT,
        &path,
        &t.key,
        Some(json!({ "mode": "required" })),
        StatusCode::OK,
    )
    .await;
    let problem = s
        .expect_problem(
            Method::PATCH,
            "/admin/v1/plans/team",
            &op,
            Some(plan(false)),
            StatusCode::CONFLICT,
            "plan_downgrade_conflict",
        )
        .await;
    assert_eq!(problem["organizations"], json!([org]));
    let unchanged = s
        .expect(
            Method::GET,
            "/admin/v1/plans/team",
            &op,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        unchanged["entitlements"]["mfa_per_org"], true,
        "nothing changed"
    );
    let mut forced = plan(false);
    forced["force"] = json!(true);
    s.expect(
        Method::PATCH,
        "/admin/v1/plans/team",
        &op,
        Some(forced),
        StatusCode::OK,
    )
    .await;
    let got = s
        .expect(Method::GET, &path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (got["active"].as_bool(), got["suspended"].as_bool()),
        (Some(false), Some(true))
    );
    // Giving it back needs no force and brings the policy back.
    s.expect(
        Method::PATCH,
        "/admin/v1/plans/team",
        &op,
        Some(plan(true)),
        StatusCode::OK,
    )
    .await;
    let got = s
        .expect(Method::GET, &path, &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (got["active"].as_bool(), got["suspended"].as_bool()),
        (Some(true), Some(false))
    );
}
