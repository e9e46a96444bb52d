//! What a flow shows, how it completes (one result token), and what a failure costs.

use serde::Serialize;
use serde_json::json;
use twostep_core::flow::FlowState;
use twostep_core::signing::{RESULT_TTL_SECONDS, ResultClaims};
use twostep_core::throttle::{BLOCK_AT, DELAY_FROM};
use twostep_core::{FactorId, FactorType, FlowId, OrgId, PrimaryMethod, TenantId, UserId};
use twostep_store::audit::{self, Actor, Event};
use twostep_store::entity::flow;
use twostep_store::{flows, recovery_codes, user_mfa};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Flow;
use crate::error::ApiError;
use crate::state::AppState;

/// A factor the user may prove.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowFactor {
    /// The factor (`fct_…`).
    pub id: String,
    /// `totp`, `email` or `sms`.
    #[serde(rename = "type")]
    pub factor_type: FactorType,
    /// The destination, masked (`a***@example.com`, `+1******0123`); absent for TOTP.
    pub masked: Option<String>,
}

/// A flow as its end user and the tenant's backend see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowOut {
    /// The flow (`flw_…`).
    pub flow_id: String,
    /// Where the flow stands.
    pub state: FlowState,
    /// End of the flow's life.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The user (`usr_…`).
    pub user_id: String,
    /// The organization of the sign-in, if any.
    pub organization_id: Option<String>,
    /// Active factors the policy lets the user prove.
    pub factors: Vec<FlowFactor>,
    /// Factor types the user may enroll or use.
    pub available_factor_types: Vec<FactorType>,
    /// Whether a recovery code may be used instead of a factor.
    pub recovery_codes_available: bool,
    /// The signed result, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_token: Option<String>,
}

/// Builds the view of `flow`.
pub async fn view(state: &AppState, flow: &Flow) -> Result<FlowOut, ApiError> {
    let row = &flow.row;
    let shown = super::usable_factors(state, row.tenant_id, row.user_id, &flow.policy)
        .await?
        .into_iter()
        .map(|(f, kind)| FlowFactor {
            id: FactorId::from_uuid(f.id).to_string(),
            factor_type: kind,
            masked: f.destination.as_deref().map(twostep_delivery::mask),
        })
        .collect();
    let recovery = flow.policy.recovery_codes
        && recovery_codes::remaining(&state.db, row.tenant_id, row.user_id).await? > 0;
    Ok(FlowOut {
        flow_id: FlowId::from_uuid(row.id).to_string(),
        state: flow.state,
        expires_at: row.expires_at,
        user_id: UserId::from_uuid(row.user_id).to_string(),
        organization_id: row.org_id.map(|o| OrgId::from_uuid(o).to_string()),
        factors: shown,
        available_factor_types: flow.policy.offered_factors.clone(),
        recovery_codes_available: recovery,
        result_token: result_token(state, row)?,
    })
}

/// The result token of a completed flow. Ed25519 signatures are deterministic, so the
/// token is made again from what the flow stored instead of being kept.
pub fn result_token(state: &AppState, row: &flow::Model) -> Result<Option<String>, ApiError> {
    let (Some(jti), Some(done)) = (row.result_jti, row.completed_at) else {
        return Ok(None);
    };
    if row.state != FlowState::Completed.as_str() {
        return Ok(None);
    }
    let amr: Vec<String> = serde_json::from_value(row.amr.clone()).unwrap_or_default();
    let mfa = row.mfa_verified;
    let claims = ResultClaims {
        iss: state.issuer.clone(),
        sub: UserId::from_uuid(row.user_id).to_string(),
        aud: TenantId::from_uuid(row.tenant_id).to_string(),
        org: row.org_id.map(|o| OrgId::from_uuid(o).to_string()),
        amr,
        acr: if mfa { "mfa" } else { "1fa" }.to_owned(),
        auth_time: done.timestamp(),
        iat: done.timestamp(),
        exp: done.timestamp() + RESULT_TTL_SECONDS,
        jti: jti.to_string(),
        flow_id: FlowId::from_uuid(row.id).to_string(),
    };
    state
        .signer
        .sign(&claims)
        .map(Some)
        .map_err(|e| ApiError::Internal(e.into()))
}

/// RFC 8176 method of the primary sign-in.
fn primary_amr(method: Option<&str>) -> Option<&'static str> {
    match method.and_then(PrimaryMethod::from_name)? {
        PrimaryMethod::Password => Some("pwd"),
        PrimaryMethod::EmailLink | PrimaryMethod::EmailCode => Some("email"),
        PrimaryMethod::PhoneCode => Some("sms"),
        PrimaryMethod::Social => Some("fed"),
        PrimaryMethod::Other => None,
    }
}

/// The `amr` of a flow: the primary method, then the second factor if one was proven.
pub fn amr(primary: Option<&str>, second: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = primary_amr(primary)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if let Some(second) = second {
        out.push(second.to_owned());
        out.push("mfa".to_owned());
    }
    out
}

/// The `amr` value of a proven factor type.
pub fn factor_amr(kind: FactorType) -> &'static str {
    match kind {
        FactorType::Totp => "otp",
        FactorType::Sms => "sms",
        FactorType::Email => "email",
    }
}

/// The audit actor of the end user's steps: the flow.
pub fn actor(flow: &Flow) -> Actor {
    Actor(FlowId::from_uuid(flow.row.id).to_string())
}

/// An audit event about the flow's user.
pub fn event<'a>(
    flow: &Flow,
    actor: &'a Actor,
    action: &'static str,
    details: serde_json::Value,
) -> Event<'a> {
    Event::about_user(flow.row.tenant_id, flow.row.user_id, actor, action, details)
}

/// Answers a failed attempt (counted when it was taken): `invalid_code` with the guesses
/// left before waits start (or on the challenge, if fewer), and at the block limit the
/// flow is locked.
pub async fn failure(
    state: &AppState,
    flow: &Flow,
    attempt: super::codes::Attempt,
    factor_id: Option<Uuid>,
    challenge_left: Option<u32>,
) -> Result<ApiError, ApiError> {
    let now = state.clock.now();
    let (tenant_id, user_id) = (flow.row.tenant_id, flow.row.user_id);
    // The attempt was counted when it was taken; the wait starts now.
    let failures = attempt.counted;
    user_mfa::failed_at(&state.db, tenant_id, user_id, now).await?;
    let who = actor(flow);
    let factor = factor_id.map(|f| FactorId::from_uuid(f).to_string());
    audit::record(
        &state.db,
        event(
            flow,
            &who,
            "mfa.verification_failed",
            json!({ "factor_id": factor, "failures": failures }),
        ),
    )
    .await?;
    if failures >= BLOCK_AT {
        flows::transition(
            &state.db,
            flow.row.tenant_id,
            flow.row.id,
            &[
                FlowState::EnrollmentOffered,
                FlowState::EnrollmentRequired,
                FlowState::ChallengeRequired,
            ],
            FlowState::Locked,
            None,
            now,
        )
        .await?;
        audit::record(
            &state.db,
            event(flow, &who, "mfa.blocked", json!({ "failures": failures })),
        )
        .await?;
        return Ok(ApiError::FactorLocked(None));
    }
    if failures >= DELAY_FROM {
        audit::record(
            &state.db,
            event(flow, &who, "mfa.throttled", json!({ "failures": failures })),
        )
        .await?;
    }
    let before_waits = DELAY_FROM.saturating_sub(failures);
    let left = challenge_left.map_or(before_waits, |c| c.min(before_waits));
    Ok(ApiError::InvalidCode {
        attempts_remaining: left,
    })
}

/// Completes the flow from one of `from` (compare-and-set: of racing requests one wins),
/// clears the user's failures and returns the fresh flow.
pub async fn complete(
    state: &AppState,
    txn: &twostep_store::DatabaseTransaction,
    flow: &Flow,
    from: &[FlowState],
    second: Option<&str>,
) -> Result<flow::Model, ApiError> {
    let now = state.clock.now();
    let completion = flows::Completion {
        mfa_verified: second.is_some(),
        amr: amr(flow.row.primary_method.as_deref(), second),
    };
    let done = flows::transition(
        txn,
        flow.row.tenant_id,
        flow.row.id,
        from,
        FlowState::Completed,
        Some(completion),
        now,
    )
    .await?;
    if !done {
        return Err(ApiError::FlowState(
            "the flow was completed, locked or expired by another request".into(),
        ));
    }
    if second.is_some() {
        user_mfa::clear_failures(txn, flow.row.tenant_id, flow.row.user_id, now).await?;
    }
    flows::get(txn, flow.row.tenant_id, flow.row.id)
        .await?
        .ok_or(ApiError::NotFound)
}
