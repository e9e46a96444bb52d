//! Auth flows and the policy's say: optional and off, per-organization policies, factors
//! on the primary method's channel; recovery codes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::flows::{pyjwt_verify, strs};
use crate::harness::Server;

pub async fn optional_policy_offers_and_skips(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    s.policy(&t, json!({ "mode": "optional", "factors": ["totp"] }))
        .await;
    let user = s.user(&t, "dan", "password").await;
    let flow = s.flow_for(&t, &user).await;
    assert_eq!(flow.started["state"], "enrollment_offered");
    let (status, done) = s.step(&flow, Method::POST, "/skip", None).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "completed");
    let jwks = s
        .expect(
            Method::GET,
            "/auth/v1/.well-known/jwks.json",
            "",
            None,
            StatusCode::OK,
        )
        .await;
    let claims = pyjwt_verify(&jwks, done["result_token"].as_str().unwrap(), &t.id, 0).unwrap();
    assert_eq!(
        (claims["acr"].as_str(), claims["amr"].clone()),
        (Some("1fa"), json!(["pwd"]))
    );
    // Skipped once: later flows complete at once while the policy stays optional.
    let next = s.flow_for(&t, &user).await;
    assert_eq!(next.started["state"], "completed");
    assert!(next.started["result_token"].is_string());
    // Skipping twice, or skipping a completed flow, is a state error.
    s.expect_problem(
        Method::POST,
        &flow.path("/skip"),
        &flow.token,
        None,
        StatusCode::CONFLICT,
        "flow_state",
    )
    .await;

    // Mode off: completed at once.
    s.policy(&t, json!({ "mode": "off" })).await;
    let eve = s.user(&t, "eve", "password").await;
    assert_eq!(s.flow_for(&t, &eve).await.started["state"], "completed");

    // Required: no skipping.
    s.policy(&t, json!({ "mode": "required", "factors": ["totp"] }))
        .await;
    let flow = s.flow_for(&t, &eve).await;
    assert_eq!(flow.started["state"], "enrollment_required");
    s.expect_problem(
        Method::POST,
        &flow.path("/skip"),
        &flow.token,
        None,
        StatusCode::CONFLICT,
        "flow_state",
    )
    .await;
}

pub async fn per_org_policy_applies_in_its_org_only(s: Server) {
    let t = s.tenant("Acme", "scale").await;
    s.policy(&t, json!({ "mode": "off", "factors": ["totp"] }))
        .await;
    let strict = s.org(&t, "strict").await;
    let relaxed = s.org(&t, "relaxed").await;
    s.expect(
        Method::PUT,
        &format!("/admin/v1/organizations/{strict}/mfa-policy"),
        &t.key,
        Some(json!({ "mode": "required" })),
        StatusCode::OK,
    )
    .await;
    let user = s.user(&t, "fay", "password").await;
    for org in [&strict, &relaxed] {
        s.expect(
            Method::PUT,
            &format!("/admin/v1/organizations/{org}/members/{user}"),
            &t.key,
            None,
            StatusCode::NO_CONTENT,
        )
        .await;
    }
    let in_org = |org: &str| json!({ "user_id": user, "org_id": org });
    assert_eq!(
        s.flow(&t, in_org(&strict)).await.started["state"],
        "enrollment_required"
    );
    assert_eq!(
        s.flow(&t, in_org(&relaxed)).await.started["state"],
        "completed"
    );
    assert_eq!(s.flow_for(&t, &user).await.started["state"], "completed");
    // A flow in an organization the user is not a member of is refused.
    let other = s.org(&t, "other").await;
    let (status, _) = s
        .call(Method::POST, "/auth/v1/flows", &t.key, Some(in_org(&other)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Forced downgrade: the org policy is suspended, the environment policy applies.
    s.expect(
        Method::PUT,
        &format!("/admin/v1/tenants/{}/plan", t.id),
        &s.operator,
        Some(json!({ "plan_id": "pro", "force": true })),
        StatusCode::OK,
    )
    .await;
    let flow = s.flow(&t, in_org(&strict)).await;
    assert_eq!(flow.started["state"], "completed");
}

pub async fn same_as_primary_is_not_offered(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    s.policy(
        &t,
        json!({ "mode": "required", "factors": ["email", "totp"] }),
    )
    .await;
    let user = s.user(&t, "gus", "email_code").await;
    let flow = s.flow_for(&t, &user).await;
    assert_eq!(flow.started["available_factor_types"], json!(["totp"]));
    s.expect_problem(
        Method::POST,
        &flow.path("/enrollments"),
        &flow.token,
        Some(json!({ "type": "email" })),
        StatusCode::CONFLICT,
        "no_eligible_factor",
    )
    .await;
    // With only email allowed, nothing is left for this user.
    s.policy(&t, json!({ "mode": "required", "factors": ["email"] }))
        .await;
    s.expect_problem(
        Method::POST,
        "/auth/v1/flows",
        &t.key,
        Some(json!({ "user_id": user })),
        StatusCode::CONFLICT,
        "no_eligible_factor",
    )
    .await;
    // A password user is offered email.
    let pw = s.user(&t, "hal", "password").await;
    assert_eq!(
        s.flow_for(&t, &pw).await.started["available_factor_types"],
        json!(["email"])
    );
    // Unless the policy allows the same channel.
    s.policy(
        &t,
        json!({ "mode": "required", "factors": ["email"], "allow_same_as_primary": true }),
    )
    .await;
    assert_eq!(
        s.flow_for(&t, &user).await.started["available_factor_types"],
        json!(["email"])
    );
}

pub async fn recovery_codes_work_once_and_regenerate(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    s.policy(&t, json!({ "mode": "required", "factors": ["totp"] }))
        .await;
    let user = s.user(&t, "ivy", "password").await;
    let (enrolled, verified) = s.enroll_totp(&s.flow_for(&t, &user).await).await;
    let codes = strs(&verified["recovery_codes"]);
    // Lower case without dashes is the same code.
    let typed = codes[0].replace('-', "").to_lowercase();
    let flow = s.flow_for(&t, &user).await;
    assert_eq!(flow.started["recovery_codes_available"], true);
    let (status, done) = s
        .step(
            &flow,
            Method::POST,
            "/verify",
            Some(json!({ "recovery_code": typed })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["recovery_codes_remaining"], 9);
    let flow = s.flow_for(&t, &user).await;
    let (status, problem) = s
        .step(
            &flow,
            Method::POST,
            "/verify",
            Some(json!({ "recovery_code": codes[0] })),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_code")),
        "used once"
    );
    // Renewing needs a flow completed with MFA.
    s.expect_problem(
        Method::POST,
        &flow.path("/recovery-codes"),
        &flow.token,
        None,
        StatusCode::CONFLICT,
        "flow_state",
    )
    .await;
    let (status, _) = s
        .step(
            &flow,
            Method::POST,
            "/verify",
            Some(json!({ "recovery_code": codes[1] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let renewed = s
        .expect(
            Method::POST,
            &flow.path("/recovery-codes"),
            &flow.token,
            None,
            StatusCode::CREATED,
        )
        .await;
    let fresh = strs(&renewed["recovery_codes"]);
    assert_eq!(fresh.len(), 10);
    let factors = s
        .expect(
            Method::GET,
            &format!("/admin/v1/users/{user}/factors"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(factors["recovery_codes_remaining"], 10);
    // The old set is void, the new one works.
    let flow = s.flow_for(&t, &user).await;
    let (status, _) = s
        .step(
            &flow,
            Method::POST,
            "/verify",
            Some(json!({ "recovery_code": codes[2] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.advance(30.0 * 60.0).await; // past the wait the failures above earned
    let flow = s.flow_for(&t, &user).await;
    let (status, done) = s
        .step(
            &flow,
            Method::POST,
            "/verify",
            Some(json!({ "recovery_code": fresh[5] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let events = s
        .expect(
            Method::GET,
            &format!("/admin/v1/audit-events?type=mfa.recovery_code_used&user_id={user}"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(events["data"].as_array().unwrap().len(), 3);
    assert!(
        enrolled["enrollment_id"]
            .as_str()
            .unwrap()
            .starts_with("fct_")
    );
}
