//! Proving an active factor: sending a code (email/SMS), verifying a code or a recovery
//! code, and regenerating recovery codes after a completed MFA step.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use twostep_core::flow::FlowState;
use twostep_core::{ChallengeId, FactorId, FlowId, recovery};
use twostep_store::{audit, factors, recovery_codes};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::codes::{self, factor_type};
use super::enroll::{VerifiedOut, new_recovery_set, parse_code};
use super::outcome::{self, factor_amr};
use super::{AUTH_TAG, Flow, FlowToken, live_flow};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(challenge))
        .routes(routes!(verify))
        .routes(routes!(regenerate_recovery_codes))
}

/// Which factor to send a code to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeCreate {
    /// An active email or SMS factor of the user (`fct_…`).
    #[schema(value_type = String)]
    pub factor_id: FactorId,
}

/// A code on its way.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChallengeOut {
    /// The challenge (`chl_…`).
    pub challenge_id: String,
    /// The destination, masked.
    pub masked: Option<String>,
    /// When the code expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The user's active factor `id`, of a type the flow's policy offers (404 otherwise).
async fn usable_factor(
    state: &AppState,
    flow: &Flow,
    id: FactorId,
) -> Result<twostep_store::entity::factor::Model, ApiError> {
    let factor = factors::get(&state.db, flow.row.tenant_id, flow.row.user_id, id.uuid())
        .await?
        .filter(|f| f.status == factors::ACTIVE)
        .ok_or(ApiError::NotFound)?;
    if flow.offers(factor_type(&factor)?) {
        Ok(factor)
    } else {
        Err(ApiError::NoEligibleFactor(
            "the policy of this flow does not accept this factor's type".into(),
        ))
    }
}

/// Send a code to an email or SMS factor. A new code voids the previous one; within 30 s
/// of the last code for the factor, or over an hourly limit, the answer is 429.
#[utoipa::path(post, path = "/flows/{flow_id}/challenges", tag = AUTH_TAG, security(("flow_token" = [])),
    params(("flow_id" = String, Path)), request_body = ChallengeCreate,
    responses((status = 201, body = ChallengeOut),
        (status = 429, description = "Resend cooldown or hourly cap (`rate_limited`)", body = crate::error::Problem, content_type = "application/problem+json")))]
async fn challenge(
    token: FlowToken,
    State(state): State<AppState>,
    ApiPath(flow_id): ApiPath<FlowId>,
    ApiJson(body): ApiJson<ChallengeCreate>,
) -> Result<(StatusCode, axum::Json<ChallengeOut>), ApiError> {
    let flow = live_flow(&state, flow_id, &token).await?;
    flow.expect(&[FlowState::ChallengeRequired], "a challenge")?;
    let factor = usable_factor(&state, &flow, body.factor_id).await?;
    let sent = codes::send(&state, &flow, &factor).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ChallengeOut {
            challenge_id: ChallengeId::from_uuid(sent.id).to_string(),
            masked: factor.destination.as_deref().map(twostep_delivery::mask),
            expires_at: sent.expires_at,
        }),
    ))
}

/// A code of an active factor, or a recovery code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyIn {
    /// The factor the code belongs to (`fct_…`), with `code`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub factor_id: Option<FactorId>,
    /// The code, with `factor_id`.
    #[serde(default)]
    pub code: Option<String>,
    /// A recovery code (`XXXX-XXXX-XXXX-XXXX`, dashes and case optional), alone.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// Verify a code of an active factor, or a recovery code; completes the flow with its
/// result token. Each TOTP step, code and recovery code is accepted once.
#[utoipa::path(post, path = "/flows/{flow_id}/verify", tag = AUTH_TAG, security(("flow_token" = [])),
    params(("flow_id" = String, Path)), request_body = VerifyIn,
    responses((status = 200, body = VerifiedOut),
        (status = 423, description = "Too many failures (`factor_locked`)", body = crate::error::Problem, content_type = "application/problem+json")))]
async fn verify(
    token: FlowToken,
    State(state): State<AppState>,
    ApiPath(flow_id): ApiPath<FlowId>,
    ApiJson(body): ApiJson<VerifyIn>,
) -> Result<axum::Json<VerifiedOut>, ApiError> {
    let flow = live_flow(&state, flow_id, &token).await?;
    let (tenant_id, user_id) = (flow.row.tenant_id, flow.row.user_id);
    match (&body.factor_id, &body.code, &body.recovery_code) {
        (Some(_), Some(_), None) | (None, None, Some(_)) => {}
        _ => {
            return Err(ApiError::field(
                "body",
                "give factor_id with code, or recovery_code alone",
            ));
        }
    }
    flow.expect(&[FlowState::ChallengeRequired], "verifying")?;
    let who = outcome::actor(&flow);
    let (factor_id, second, remaining) = if let Some(input) = &body.recovery_code {
        if !flow.policy.recovery_codes {
            return Err(ApiError::NoEligibleFactor(
                "the policy of this flow does not accept recovery codes".into(),
            ));
        }
        let input = recovery::normalize(input).ok_or_else(|| {
            ApiError::field("recovery_code", "must be 16 characters of Crockford base32")
        })?;
        let attempt = codes::gate(&state, &flow).await?;
        let held = recovery_codes::for_user(&state.db, tenant_id, user_id).await?;
        let found = match recovery_codes::as_stored(&held) {
            Some((set, used)) => {
                tokio::task::spawn_blocking(move || recovery::find(&input, &set, &used))
                    .await
                    .map_err(|e| ApiError::Internal(e.into()))?
                    .map_err(|e| ApiError::Internal(e.into()))?
            }
            None => None,
        };
        let now = state.clock.now();
        let taken = match found {
            Some(index) => recovery_codes::take(&state.db, tenant_id, held[index].id, now).await?,
            None => false,
        };
        if !taken {
            return Err(outcome::failure(&state, &flow, attempt, None, None).await?);
        }
        let remaining = recovery_codes::remaining(&state.db, tenant_id, user_id).await?;
        audit::record(
            &state.db,
            outcome::event(
                &flow,
                &who,
                "mfa.recovery_code_used",
                json!({ "remaining": remaining }),
            ),
        )
        .await?;
        (None, "kba", Some(remaining))
    } else {
        let (Some(id), Some(code)) = (body.factor_id, body.code.as_deref()) else {
            return Err(ApiError::field("code", "is required with factor_id"));
        };
        let code = parse_code(code)?;
        let factor = usable_factor(&state, &flow, id).await?;
        codes::try_code(&state, &flow, &factor, code).await?;
        let kind = factor_type(&factor)?;
        (Some(id), factor_amr(kind), None)
    };
    let txn = twostep_store::write_txn(&state.db).await?;
    let row = outcome::complete(
        &state,
        &txn,
        &flow,
        &[FlowState::ChallengeRequired],
        Some(second),
    )
    .await?;
    audit::record(
        &txn,
        outcome::event(
            &flow,
            &who,
            "mfa.verified",
            json!({ "factor_id": factor_id.map(|f| f.to_string()), "method": second }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(axum::Json(VerifiedOut {
        factor_id: factor_id.map(|f| f.to_string()),
        state: FlowState::Completed,
        recovery_codes: None,
        recovery_codes_remaining: remaining,
        result_token: outcome::result_token(&state, &row)?,
    }))
}

/// New recovery codes for the user, shown once; the old set stops working. Only in a
/// flow completed with MFA, before it expires.
#[utoipa::path(post, path = "/flows/{flow_id}/recovery-codes", tag = AUTH_TAG, security(("flow_token" = [])),
    params(("flow_id" = String, Path)),
    responses((status = 201, body = VerifiedOut)))]
async fn regenerate_recovery_codes(
    token: FlowToken,
    State(state): State<AppState>,
    ApiPath(flow_id): ApiPath<FlowId>,
) -> Result<(StatusCode, axum::Json<VerifiedOut>), ApiError> {
    let flow = live_flow(&state, flow_id, &token).await?;
    let now = state.clock.now();
    if flow.state != FlowState::Completed || !flow.row.mfa_verified || flow.row.expires_at <= now {
        return Err(ApiError::FlowState(
            "recovery codes can be renewed only in a flow completed with MFA, before it expires"
                .into(),
        ));
    }
    if !flow.policy.recovery_codes {
        return Err(ApiError::Conflict(
            "the policy does not issue recovery codes".into(),
        ));
    }
    let (codes, set) = new_recovery_set().await?;
    let txn = twostep_store::write_txn(&state.db).await?;
    recovery_codes::replace(&txn, flow.row.tenant_id, flow.row.user_id, &set, now).await?;
    let who = outcome::actor(&flow);
    audit::record(
        &txn,
        outcome::event(&flow, &who, "mfa.recovery_codes_regenerated", json!({})),
    )
    .await?;
    txn.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(VerifiedOut {
            factor_id: None,
            state: FlowState::Completed,
            recovery_codes: Some(codes),
            recovery_codes_remaining: None,
            result_token: None,
        }),
    ))
}
