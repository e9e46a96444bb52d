//! Auth flows end to end: enrollment and sign-in with each factor type, and the signed
//! result.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::flows::{pyjwt_verify, pyotp_at, strs};
use crate::harness::Server;

pub async fn totp_enrollment_and_sign_in(s: Server) {
    let t = s.tenant("Acme Corp", "pro").await;
    s.policy(&t, json!({ "mode": "required", "factors": ["totp"] }))
        .await;
    let user = s.user(&t, "alice", "password").await;
    let flow = s
        .flow(
            &t,
            json!({ "external_user_id": "alice", "primary_method": "password" }),
        )
        .await;
    assert_eq!(flow.started["state"], "enrollment_required");
    assert_eq!(flow.started["available_factor_types"], json!(["totp"]));

    let (status, enrolled) = s
        .step(
            &flow,
            Method::POST,
            "/enrollments",
            Some(json!({ "type": "totp" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let uri = enrolled["otpauth_uri"].as_str().unwrap();
    let secret = enrolled["secret"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Acme%20Corp:alice%40example.com?"),
        "{uri}"
    );
    assert!(
        uri.contains(&format!("secret={secret}&")) && !secret.contains('='),
        "{uri}"
    );
    assert!(
        uri.contains("issuer=Acme%20Corp") && uri.contains("algorithm=SHA1&digits=6&period=30")
    );
    assert_eq!(secret.len(), 32, "160-bit secret");
    assert!(enrolled["qr_svg"].as_str().unwrap().contains("<svg"));

    // A wrong code first: refused, counted.
    let verify_path = format!(
        "/enrollments/{}/verify",
        enrolled["enrollment_id"].as_str().unwrap()
    );
    let now = s.now().await;
    let code = pyotp_at(uri, now);
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, problem) = s
        .step(
            &flow,
            Method::POST,
            &verify_path,
            Some(json!({ "code": wrong })),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_code"))
    );
    assert_eq!(problem["attempts_remaining"], 4);

    let (status, verified) = s
        .step(
            &flow,
            Method::POST,
            &verify_path,
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["state"], "completed");
    let codes = strs(&verified["recovery_codes"]);
    assert_eq!(codes.len(), 10);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 19 && c.split('-').count() == 4),
        "{codes:?}"
    );

    // The result verifies with PyJWT against the published keys, for this tenant only.
    let jwks = s
        .expect(
            Method::GET,
            "/auth/v1/.well-known/jwks.json",
            "",
            None,
            StatusCode::OK,
        )
        .await;
    let token = verified["result_token"].as_str().unwrap();
    let claims = pyjwt_verify(&jwks, token, &t.id, 0).expect("verifies");
    assert_eq!(claims["sub"], user.as_str());
    assert_eq!(claims["aud"], t.id.as_str());
    assert_eq!(claims["flow_id"], flow.id.as_str());
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "mfa");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    let other = s.tenant("Other", "pro").await;
    assert!(
        pyjwt_verify(&jwks, token, &other.id, 0).is_err(),
        "another tenant's audience"
    );
    // The tenant's backend reads the outcome with its API key.
    let seen = s
        .expect(Method::GET, &flow.path(""), &t.key, None, StatusCode::OK)
        .await;
    assert_eq!(
        (seen["state"].as_str(), seen["result_token"].as_str()),
        (Some("completed"), Some(token))
    );
    // Another tenant's key does not see the flow.
    s.expect_problem(
        Method::GET,
        &flow.path(""),
        &other.key,
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // A completed flow is not verified again.
    s.expect_problem(
        Method::POST,
        &flow.path(&verify_path),
        &flow.token,
        Some(json!({ "code": code })),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Sign-in: challenge_required; the step used at enrollment is spent.
    let again = s.flow_for(&t, &user).await;
    assert_eq!(again.started["state"], "challenge_required");
    let factor_id = again.first_factor();
    assert_eq!(again.started["factors"][0]["type"], "totp");
    let (status, problem) = s
        .step(
            &again,
            Method::POST,
            "/verify",
            Some(json!({ "factor_id": factor_id, "code": code })),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_code")),
        "replayed step"
    );
    let later = s.advance(30.0).await;
    let fresh = pyotp_at(uri, later);
    let (status, done) = s
        .step(
            &again,
            Method::POST,
            "/verify",
            Some(json!({ "factor_id": factor_id, "code": fresh })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "completed");
    assert!(
        done.get("recovery_codes").is_none(),
        "codes are shown with the first factor only"
    );
    pyjwt_verify(&jwks, done["result_token"].as_str().unwrap(), &t.id, 120).expect("verifies");
    // The same code in another flow: refused.
    let third = s.flow_for(&t, &user).await;
    let (status, _) = s
        .step(
            &third,
            Method::POST,
            "/verify",
            Some(json!({ "factor_id": factor_id, "code": fresh })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The admin side sees the factor and the codes.
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
    assert_eq!(factors["data"][0]["type"], "totp");
    assert_eq!(factors["data"][0]["status"], "active");
    assert!(factors["data"][0]["last_used_at"].is_string());
    // The hosted page needs the flow's token.
    let page = format!("/auth/v1/flows/{}/ui", third.id);
    let (status, _, body) = s
        .raw(
            Method::GET,
            &format!("{page}?token={}", third.token),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.as_str().unwrap().contains(&third.id),
        "the page drives this flow"
    );
    let (status, _, _) = s.raw(Method::GET, &page, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = s
        .raw(
            Method::GET,
            &format!("{page}?token={}", again.token),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another flow's token");

    // Removing the factor: the next sign-in enrolls again.
    let factor_path = format!("/admin/v1/users/{user}/factors/{factor_id}");
    s.expect(
        Method::DELETE,
        &factor_path,
        &t.key,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    s.expect_problem(
        Method::DELETE,
        &factor_path,
        &t.key,
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        s.flow_for(&t, &user).await.started["state"],
        "enrollment_required"
    );

    let events = s
        .expect(
            Method::GET,
            &format!("/admin/v1/audit-events?user_id={user}"),
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    let actions: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for action in [
        "mfa.enrolled",
        "mfa.verified",
        "mfa.verification_failed",
        "mfa.factor_removed",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

pub async fn email_and_sms_enrollment_and_sign_in(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    s.policy(
        &t,
        json!({ "mode": "required", "factors": ["email", "sms"] }),
    )
    .await;
    let user = s.user_with(&t, json!({ "external_id": "bob", "email": "bob@example.com", "primary_method": "password" })).await;
    let flow = s.flow_for(&t, &user).await;
    let (verify, code, enrolled) = s
        .begin_code_enrollment(&t, &flow, json!({ "type": "email" }), "bob@example.com", 1)
        .await;
    assert_eq!(enrolled["masked"], "b***@example.com");
    let (status, done) = s
        .step(&flow, Method::POST, &verify, Some(json!({ "code": code })))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(strs(&done["recovery_codes"]).len(), 10);

    // Sign-in by email: a resend within 30 s is refused, a later one voids the first code.
    let flow = s.flow_for(&t, &user).await;
    assert_eq!(flow.started["state"], "challenge_required");
    let factor = flow.first_factor();
    s.advance(31.0).await;
    let (status, sent) = s
        .step(
            &flow,
            Method::POST,
            "/challenges",
            Some(json!({ "factor_id": factor })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert!(sent["challenge_id"].as_str().unwrap().starts_with("chl_"));
    let (status, problem) = s
        .step(
            &flow,
            Method::POST,
            "/challenges",
            Some(json!({ "factor_id": factor })),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    let first = s.nth_code(&t, "bob@example.com", 2).await;
    s.advance(30.0).await;
    s.step(
        &flow,
        Method::POST,
        "/challenges",
        Some(json!({ "factor_id": factor })),
    )
    .await;
    let second = s.nth_code(&t, "bob@example.com", 3).await;
    if first != second {
        let (status, problem) = s
            .step(
                &flow,
                Method::POST,
                "/verify",
                Some(json!({ "factor_id": factor, "code": first })),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "the voided code: {problem}"
        );
    }
    let (status, done) = s
        .step(
            &flow,
            Method::POST,
            "/verify",
            Some(json!({ "factor_id": factor, "code": second })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "completed");

    // SMS, for a user with a phone number.
    let carol = s
        .user_with(
            &t,
            json!({ "external_id": "carol", "phone": "+14155550123" }),
        )
        .await;
    let flow = s.flow_for(&t, &carol).await;
    let (verify, code, enrolled) = s
        .begin_code_enrollment(&t, &flow, json!({ "type": "sms" }), "+14155550123", 1)
        .await;
    assert!(enrolled["masked"].as_str().unwrap().ends_with("0123"));
    let (status, done) = s
        .step(&flow, Method::POST, &verify, Some(json!({ "code": code })))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let flow = s.flow_for(&t, &carol).await;
    let factor = flow.first_factor();
    assert_eq!(flow.started["factors"][0]["type"], "sms");
    s.advance(31.0).await;
    s.step(
        &flow,
        Method::POST,
        "/challenges",
        Some(json!({ "factor_id": factor })),
    )
    .await;
    let code = s.nth_code(&t, "+14155550123", 2).await;
    let (status, done) = s
        .step(
            &flow,
            Method::POST,
            "/verify",
            Some(json!({ "factor_id": factor, "code": code })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    // The code was used: a second verify of it (in a new flow) fails.
    let flow = s.flow_for(&t, &carol).await;
    let (status, _) = s
        .step(
            &flow,
            Method::POST,
            "/verify",
            Some(json!({ "factor_id": factor, "code": code })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
