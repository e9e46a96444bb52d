//! `/auth/v1`: the second sign-in step. The tenant's backend starts a flow with its API
//! key; the end user's client drives it with the flow token.

mod codes;
mod enroll;
mod flows;
mod outcome;
mod ui;
mod verify;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use twostep_core::flow::FlowState;
use twostep_core::policy::EffectivePolicy;
use twostep_core::secret::{API_KEY_PREFIX, FLOW_TOKEN_PREFIX, token_digest};
use twostep_core::{FactorType, FlowId};
use twostep_store::entity::{factor, flow};
use twostep_store::factors;
use twostep_store::flows as flow_store;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::extract::{Tenant, bearer};
use crate::state::AppState;

pub use outcome::FlowOut;

/// Tag of the auth endpoints.
pub const AUTH_TAG: &str = "auth";

/// Every auth route, relative to `/auth/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(flows::router())
        .merge(enroll::router())
        .merge(verify::router())
        .merge(ui::router())
}

/// The end user's credential for one flow: `Authorization: Bearer tft_…`.
pub struct FlowToken(String);

impl<S: Send + Sync> FromRequestParts<S> for FlowToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        bearer(parts)
            .filter(|t| t.starts_with(FLOW_TOKEN_PREFIX))
            .map(|t| Self(t.to_owned()))
            .ok_or(ApiError::Unauthorized)
    }
}

/// Who reads a flow: its end user (flow token) or the tenant's backend (API key).
pub enum FlowReader {
    /// The flow token.
    Token(FlowToken),
    /// A tenant API key.
    Tenant(Tenant),
}

impl FromRequestParts<AppState> for FlowReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts) {
            Some(t) if t.starts_with(API_KEY_PREFIX) => Tenant::from_request_parts(parts, state)
                .await
                .map(Self::Tenant),
            _ => FlowToken::from_request_parts(parts, state)
                .await
                .map(Self::Token),
        }
    }
}

/// A flow as the handlers see it: the row, its state and its policy snapshot.
pub(crate) struct Flow {
    pub row: flow::Model,
    pub state: FlowState,
    pub policy: EffectivePolicy,
}

impl Flow {
    fn from_row(row: flow::Model) -> Result<Self, ApiError> {
        let state = FlowState::from_name(&row.state)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("flow state {}", row.state)))?;
        let policy = serde_json::from_value(row.policy.clone())
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("flow policy: {e}")))?;
        Ok(Self { row, state, policy })
    }

    /// Whether the policy offers `factor` to this user.
    pub fn offers(&self, factor: FactorType) -> bool {
        self.policy.offered_factors.contains(&factor)
    }

    /// Records the expiry of a flow past its time that had not reached a final state.
    pub async fn expire_if_due(&mut self, state: &AppState) -> Result<(), ApiError> {
        let now = state.clock.now();
        if !self.state.is_final() && self.row.expires_at <= now {
            flow_store::expire(&state.db, self.row.tenant_id, self.row.id, now).await?;
            self.state = FlowState::Expired;
        }
        Ok(())
    }

    /// Refuses unless the flow is in one of `states`.
    pub fn expect(&self, states: &[FlowState], step: &str) -> Result<(), ApiError> {
        if states.contains(&self.state) {
            Ok(())
        } else if self.state == FlowState::Locked {
            // Locked only by the failure block: say so, as a verify would.
            Err(ApiError::FactorLocked(None))
        } else {
            Err(ApiError::FlowState(format!(
                "{step} is not possible while the flow is {}",
                self.state.as_str()
            )))
        }
    }
}

/// The user's active factors whose type `policy` offers, with their types.
pub(crate) async fn usable_factors(
    state: &AppState,
    tenant_id: uuid::Uuid,
    user_id: uuid::Uuid,
    policy: &EffectivePolicy,
) -> Result<Vec<(factor::Model, FactorType)>, ApiError> {
    let mut usable = Vec::new();
    for f in factors::for_user(&state.db, tenant_id, user_id).await? {
        let kind = codes::factor_type(&f)?;
        if f.status == factors::ACTIVE && policy.offered_factors.contains(&kind) {
            usable.push((f, kind));
        }
    }
    Ok(usable)
}

/// The flow named in the path, if `token` is its token (404 otherwise: a token of another
/// flow tells nothing about this one).
pub(crate) async fn flow_by_token(
    state: &AppState,
    flow_id: FlowId,
    token: &FlowToken,
) -> Result<Flow, ApiError> {
    let row = flow_store::by_token(&state.db, flow_id.uuid(), &token_digest(&token.0))
        .await?
        .ok_or(ApiError::NotFound)?;
    Flow::from_row(row)
}

/// [`flow_by_token`], and refused with 410 once past its expiry (which is recorded).
pub(crate) async fn live_flow(
    state: &AppState,
    flow_id: FlowId,
    token: &FlowToken,
) -> Result<Flow, ApiError> {
    let mut flow = flow_by_token(state, flow_id, token).await?;
    flow.expire_if_due(state).await?;
    if flow.state == FlowState::Expired {
        return Err(ApiError::FlowExpired);
    }
    Ok(flow)
}
