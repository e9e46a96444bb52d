//! Enrolling a factor in a flow, and verifying its first code (which completes the flow
//! and, for the user's first factor, shows the recovery codes once).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use twostep_core::flow::FlowState;
use twostep_core::totp::{self, TotpKey};
use twostep_core::validate::{Email, PhoneE164};
use twostep_core::{Entitlement, FactorId, FactorType, FlowId, otp, recovery};
use twostep_store::{audit, factors, recovery_codes, tenants, users};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::codes::{self, factor_type};
use super::outcome::{self, factor_amr};
use super::{AUTH_TAG, FlowToken, live_flow};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

const ENROLLING: [FlowState; 2] = [FlowState::EnrollmentOffered, FlowState::EnrollmentRequired];

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enroll))
        .routes(routes!(verify_enrollment))
}

/// A factor to enroll.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentCreate {
    /// `totp`, `email` or `sms`.
    #[serde(rename = "type")]
    pub factor_type: FactorType,
    /// For `email`: the address; defaults to the user's.
    #[serde(default)]
    pub email: Option<String>,
    /// For `sms`: the number in E.164 form; defaults to the user's.
    #[serde(default)]
    pub phone: Option<String>,
}

/// A pending factor: for `totp` the secret to put in the authenticator app; for
/// `email`/`sms` where the code went.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentOut {
    /// The pending factor (`fct_…`); verify it with its first code.
    pub enrollment_id: String,
    /// `totp`, `email` or `sms`.
    #[serde(rename = "type")]
    pub factor_type: FactorType,
    /// TOTP: `otpauth://totp/…` for the authenticator app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    /// TOTP: the secret in base32, for typing in by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// TOTP: the otpauth URI as a QR code (SVG).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
    /// Email/SMS: the destination, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked: Option<String>,
    /// Email/SMS: the challenge carrying the code (`chl_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_id: Option<String>,
    /// Email/SMS: when the code expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Enroll a factor. `totp` answers the secret (otpauth URI, base32, QR code);
/// `email`/`sms` send a code. Only types the flow's policy offers are accepted.
#[utoipa::path(post, path = "/flows/{flow_id}/enrollments", tag = AUTH_TAG, security(("flow_token" = [])),
    params(("flow_id" = String, Path)), request_body = EnrollmentCreate,
    responses((status = 201, body = EnrollmentOut),
        (status = 403, description = "SMS is not in the tenant's plan (`plan_entitlement_required`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Resend cooldown or hourly cap (`rate_limited`)", body = crate::error::Problem, content_type = "application/problem+json")))]
async fn enroll(
    token: FlowToken,
    State(state): State<AppState>,
    ApiPath(flow_id): ApiPath<FlowId>,
    ApiJson(body): ApiJson<EnrollmentCreate>,
) -> Result<(StatusCode, axum::Json<EnrollmentOut>), ApiError> {
    let flow = live_flow(&state, flow_id, &token).await?;
    flow.expect(&ENROLLING, "enrolling")?;
    if !flow.offers(body.factor_type) {
        return Err(ApiError::NoEligibleFactor(format!(
            "{} is not offered to this user by the policy",
            body.factor_type.as_str()
        )));
    }
    let (tenant_id, user_id) = (flow.row.tenant_id, flow.row.user_id);
    let (tenant, plan) = tenants::get_with_plan(&state.db, tenant_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let user = users::get(&state.db, tenant_id, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let now = state.clock.now();
    let id = Uuid::now_v7();
    let mut new = factors::NewFactor {
        id,
        tenant_id,
        user_id,
        flow_id: flow.row.id,
        factor_type: body.factor_type.as_str(),
        destination: None,
        secret: None,
    };
    let mut out = EnrollmentOut {
        enrollment_id: FactorId::from_uuid(id).to_string(),
        factor_type: body.factor_type,
        otpauth_uri: None,
        secret: None,
        qr_svg: None,
        masked: None,
        challenge_id: None,
        expires_at: None,
    };
    match body.factor_type {
        FactorType::Totp => {
            let secret = TotpKey::generate_secret();
            let account = user.email.as_deref().unwrap_or(&user.external_id);
            let uri = totp::otpauth_uri(&secret, &tenant.name, account);
            out.qr_svg = totp::qr_svg(&uri);
            out.otpauth_uri = Some(uri);
            out.secret = Some(totp::secret_base32(&secret));
            new.secret = Some((
                state.secret_box.seal(&secret, id.as_bytes()),
                state.secret_box.key_id().to_owned(),
            ));
            factors::create(&state.db, new, now).await?;
        }
        FactorType::Email | FactorType::Sms => {
            let destination = if body.factor_type == FactorType::Email {
                let text = body.email.or(user.email).ok_or_else(|| {
                    ApiError::field("email", "the user has no email address; give one")
                })?;
                Email::parse(&text)
                    .map_err(|e| ApiError::Validation(vec![e.at("email")]))?
                    .as_str()
                    .to_owned()
            } else {
                if !plan.entitlements.sms {
                    return Err(ApiError::EntitlementRequired(Entitlement::Sms));
                }
                let text = body.phone.or(user.phone).ok_or_else(|| {
                    ApiError::field("phone", "the user has no phone number; give one")
                })?;
                PhoneE164::parse(&text)
                    .map_err(|e| ApiError::Validation(vec![e.at("phone")]))?
                    .as_str()
                    .to_owned()
            };
            out.masked = Some(twostep_delivery::mask(&destination));
            new.destination = Some(destination);
            let factor = factors::create(&state.db, new, now).await?;
            let sent = codes::send(&state, &flow, &factor).await;
            let sent = match sent {
                Ok(sent) => sent,
                Err(err) => {
                    // Nothing was sent: leave no pending factor behind.
                    factors::delete(&state.db, tenant_id, user_id, factor.id).await?;
                    return Err(err);
                }
            };
            out.challenge_id = Some(twostep_core::ChallengeId::from_uuid(sent.id).to_string());
            out.expires_at = Some(sent.expires_at);
        }
    }
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// A code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    /// The 6 (or 8) digit code.
    pub code: String,
}

/// The outcome of a verified step.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedOut {
    /// The factor proven (`fct_…`), if a factor was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor_id: Option<String>,
    /// Always `completed`.
    pub state: FlowState,
    /// The user's recovery codes, shown this once (first factor, or regenerated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
    /// Unused recovery codes left, after a recovery code was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes_remaining: Option<u64>,
    /// The signed result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_token: Option<String>,
}

/// A parsed code, or 422.
pub(super) fn parse_code(code: &str) -> Result<&str, ApiError> {
    otp::parse(code).ok_or_else(|| ApiError::field("code", "must be 6 to 8 digits"))
}

/// Recovery codes for a user's first factor, off the async executor (argon2id).
pub(super) async fn new_recovery_set() -> Result<(Vec<String>, recovery::StoredSet), ApiError> {
    tokio::task::spawn_blocking(recovery::generate)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Verify the first code of a pending factor: the factor becomes active and the flow
/// completes. With the user's first factor the recovery codes come back, once.
#[utoipa::path(post, path = "/flows/{flow_id}/enrollments/{enrollment_id}/verify", tag = AUTH_TAG,
    security(("flow_token" = [])),
    params(("flow_id" = String, Path), ("enrollment_id" = String, Path)), request_body = CodeIn,
    responses((status = 200, body = VerifiedOut),
        (status = 423, description = "Too many failures (`factor_locked`)", body = crate::error::Problem, content_type = "application/problem+json")))]
async fn verify_enrollment(
    token: FlowToken,
    State(state): State<AppState>,
    ApiPath((flow_id, enrollment_id)): ApiPath<(FlowId, FactorId)>,
    ApiJson(body): ApiJson<CodeIn>,
) -> Result<axum::Json<VerifiedOut>, ApiError> {
    let flow = live_flow(&state, flow_id, &token).await?;
    let (tenant_id, user_id) = (flow.row.tenant_id, flow.row.user_id);
    let factor = factors::get(&state.db, tenant_id, user_id, enrollment_id.uuid())
        .await?
        .filter(|f| f.status == factors::PENDING && f.flow_id == Some(flow.row.id))
        .ok_or(ApiError::NotFound)?;
    flow.expect(&ENROLLING, "verifying an enrollment")?;
    let code = parse_code(&body.code)?;
    codes::try_code(&state, &flow, &factor, code).await?;
    let kind = factor_type(&factor)?;
    let others_active = factors::for_user(&state.db, tenant_id, user_id)
        .await?
        .iter()
        .any(|f| f.status == factors::ACTIVE);
    let shown = if flow.policy.recovery_codes && !others_active {
        Some(new_recovery_set().await?)
    } else {
        None
    };
    let now = state.clock.now();
    let txn = twostep_store::write_txn(&state.db).await?;
    if !factors::activate(&txn, tenant_id, factor.id, now).await? {
        return Err(ApiError::Conflict("the factor is no longer pending".into()));
    }
    let row = outcome::complete(&state, &txn, &flow, &ENROLLING, Some(factor_amr(kind))).await?;
    if let Some((_, set)) = &shown {
        recovery_codes::replace(&txn, tenant_id, user_id, set, now).await?;
    }
    let who = outcome::actor(&flow);
    let factor_id = FactorId::from_uuid(factor.id).to_string();
    audit::record(
        &txn,
        outcome::event(&flow, &who, "mfa.enrolled", json!({ "factor_id": factor_id, "type": kind.as_str(), "recovery_codes_issued": shown.is_some() })),
    )
    .await?;
    txn.commit().await?;
    Ok(axum::Json(VerifiedOut {
        factor_id: Some(factor_id),
        state: FlowState::Completed,
        recovery_codes: shown.map(|(codes, _)| codes),
        recovery_codes_remaining: None,
        result_token: outcome::result_token(&state, &row)?,
    }))
}
