//! Starting, reading and skipping flows; the JWKS.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;
use twostep_core::flow::{self, FlowState};
use twostep_core::secret::{FLOW_TOKEN_PREFIX, new_token, token_digest};
use twostep_core::signing::Jwks;
use twostep_core::throttle::BLOCK_AT;
use twostep_core::{FlowId, OrgId, PrimaryMethod, UserId};
use twostep_store::{audit, flows, user_mfa, users};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::outcome::{self, FlowOut};
use super::{AUTH_TAG, Flow, FlowReader, FlowToken, live_flow};
use crate::admin::users::policy_for;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Tenant};
use crate::state::AppState;

/// How long a flow lives.
pub const FLOW_LIFE_MINUTES: i64 = 15;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_flow))
        .routes(routes!(get_flow))
        .routes(routes!(skip))
        .routes(routes!(jwks))
}

/// A sign-in that needs its second step decided.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowStart {
    /// The user (`usr_…`); or give `external_user_id`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub user_id: Option<UserId>,
    /// The tenant's own id of the user; or give `user_id`.
    #[serde(default)]
    pub external_user_id: Option<String>,
    /// The organization signed in to (`org_…`); the user must be a member.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub org_id: Option<OrgId>,
    /// How the user signed in before this step; defaults to the user's.
    #[serde(default)]
    pub primary_method: Option<PrimaryMethod>,
}

/// A started flow: its view and the token for the end user's client (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowStarted {
    /// Hand this to the end user's client; it authorises the flow's steps.
    pub flow_token: String,
    /// The flow.
    #[serde(flatten)]
    pub flow: FlowOut,
}

/// Start a flow after the tenant's own primary sign-in. The policy decides the first
/// state: `completed` (MFA off, or declined before), `enrollment_offered`,
/// `enrollment_required` or `challenge_required`.
#[utoipa::path(post, path = "/flows", tag = AUTH_TAG, security(("api_key" = [])),
    request_body = FlowStart,
    responses((status = 201, body = FlowStarted),
        (status = 404, description = "No such user (`not_found`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "MFA is required but no factor type can be offered (`no_eligible_factor`)", body = crate::error::Problem, content_type = "application/problem+json")))]
async fn start_flow(
    t: Tenant,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FlowStart>,
) -> Result<(StatusCode, axum::Json<FlowStarted>), ApiError> {
    let user = match (body.user_id, body.external_user_id.as_deref()) {
        (Some(id), None) => users::get(&state.db, t.id, id.uuid()).await?,
        (None, Some(external)) => users::get_by_external_id(&state.db, t.id, external).await?,
        _ => {
            return Err(ApiError::field(
                "user_id",
                "give exactly one of user_id and external_user_id",
            ));
        }
    }
    .ok_or(ApiError::NotFound)?;
    let primary = body.primary_method.or_else(|| {
        user.primary_method
            .as_deref()
            .and_then(PrimaryMethod::from_name)
    });
    let policy = policy_for(&state, &t, &user, body.org_id, primary).await?;
    let now = state.clock.now();
    let active = !super::usable_factors(&state, t.id, user.id, &policy)
        .await?
        .is_empty();
    let standing = user_mfa::get(&state.db, t.id, user.id).await?;
    let declined = standing.as_ref().is_some_and(|s| s.declined_at.is_some());
    let blocked = standing.is_some_and(|s| s.failures >= BLOCK_AT as i32);
    let mut first = flow::start(&policy, active, declined)
        .map_err(|e| ApiError::NoEligibleFactor(e.to_string()))?;
    if blocked && first != FlowState::Completed {
        first = FlowState::Locked;
    }
    let token = new_token(FLOW_TOKEN_PREFIX);
    let primary_name = primary.map(|p| p.as_str().to_owned());
    let row = flows::create(
        &state.db,
        flows::NewFlow {
            id: Uuid::now_v7(),
            tenant_id: t.id,
            user_id: user.id,
            org_id: body.org_id.map(|o| o.uuid()),
            amr: outcome::amr(primary_name.as_deref(), None),
            primary_method: primary_name,
            token_digest: token_digest(&token),
            policy: serde_json::to_value(&policy).map_err(|e| ApiError::Internal(e.into()))?,
            state: first,
            expires_at: now + Duration::minutes(FLOW_LIFE_MINUTES),
        },
        now,
    )
    .await?;
    let flow = Flow::from_row(row)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(FlowStarted {
            flow_token: token,
            flow: outcome::view(&state, &flow).await?,
        }),
    ))
}

/// Read a flow: its state, the factors the user can prove, and the result token once
/// completed. With the flow token, or with the tenant's API key from its backend.
#[utoipa::path(get, path = "/flows/{flow_id}", tag = AUTH_TAG,
    security(("flow_token" = []), ("api_key" = [])),
    params(("flow_id" = String, Path)), responses((status = 200, body = FlowOut)))]
async fn get_flow(
    reader: FlowReader,
    State(state): State<AppState>,
    ApiPath(flow_id): ApiPath<FlowId>,
) -> Result<axum::Json<FlowOut>, ApiError> {
    let mut flow = match reader {
        FlowReader::Token(token) => super::flow_by_token(&state, flow_id, &token).await?,
        FlowReader::Tenant(t) => Flow::from_row(
            flows::get(&state.db, t.id, flow_id.uuid())
                .await?
                .ok_or(ApiError::NotFound)?,
        )?,
    };
    flow.expire_if_due(&state).await?;
    Ok(axum::Json(outcome::view(&state, &flow).await?))
}

/// Decline an optional enrollment: the flow completes without MFA, and later flows of
/// this user complete at once while the policy stays optional.
#[utoipa::path(post, path = "/flows/{flow_id}/skip", tag = AUTH_TAG, security(("flow_token" = [])),
    params(("flow_id" = String, Path)), responses((status = 200, body = FlowOut)))]
async fn skip(
    token: FlowToken,
    State(state): State<AppState>,
    ApiPath(flow_id): ApiPath<FlowId>,
) -> Result<axum::Json<FlowOut>, ApiError> {
    let flow = live_flow(&state, flow_id, &token).await?;
    flow.expect(&[FlowState::EnrollmentOffered], "skipping")?;
    let txn = twostep_store::write_txn(&state.db).await?;
    let row = outcome::complete(&state, &txn, &flow, &[FlowState::EnrollmentOffered], None).await?;
    user_mfa::decline(&txn, row.tenant_id, row.user_id, state.clock.now()).await?;
    let who = outcome::actor(&flow);
    audit::record(&txn, outcome::event(&flow, &who, "mfa.declined", json!({}))).await?;
    txn.commit().await?;
    let flow = Flow::from_row(row)?;
    Ok(axum::Json(outcome::view(&state, &flow).await?))
}

/// The public keys that sign result tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = AUTH_TAG,
    responses((status = 200, body = Jwks)))]
async fn jwks(State(state): State<AppState>) -> axum::Json<Jwks> {
    axum::Json(state.signer.jwks())
}
