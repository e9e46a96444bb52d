//! A user's factors and recovery codes, from the tenant's admin side.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use twostep_core::{FactorId, UserId};
use twostep_store::audit::{self, Event};
use twostep_store::{factors, recovery_codes, user_mfa, users};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::TENANT_TAG;
use crate::error::ApiError;
use crate::extract::{ApiPath, Tenant};
use crate::state::AppState;

/// Fewer unused recovery codes than this earns a warning.
const RECOVERY_CODES_LOW: u64 = 3;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_factors))
        .routes(routes!(delete_factor))
        .routes(routes!(reset_mfa))
}

/// One enrolled factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorOut {
    /// The factor (`fct_…`).
    pub id: String,
    /// `totp`, `email` or `sms`.
    #[serde(rename = "type")]
    pub factor_type: String,
    /// `pending` until its first code is verified, then `active`.
    pub status: String,
    /// The destination, masked; absent for TOTP.
    pub masked: Option<String>,
    /// When it was enrolled.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was last used to sign in.
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A user's factors and recovery-code standing.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorList {
    /// Factors, newest first.
    pub data: Vec<FactorOut>,
    /// Unused recovery codes.
    pub recovery_codes_remaining: u64,
    /// Warnings, e.g. `recovery_codes_low`.
    pub warnings: Vec<String>,
}

async fn existing_user(state: &AppState, t: &Tenant, id: UserId) -> Result<(), ApiError> {
    users::get(&state.db, t.id, id.uuid())
        .await?
        .map(|_| ())
        .ok_or(ApiError::NotFound)
}

fn event<'a>(
    t: &Tenant,
    actor: &'a audit::Actor,
    user: UserId,
    action: &'static str,
    details: serde_json::Value,
) -> Event<'a> {
    Event::about_user(t.id, user.uuid(), actor, action, details)
}

/// A user's factors, with the number of unused recovery codes.
#[utoipa::path(get, path = "/users/{user_id}/factors", tag = TENANT_TAG, security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = FactorList)))]
async fn list_factors(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<UserId>,
) -> Result<axum::Json<FactorList>, ApiError> {
    existing_user(&state, &t, user_id).await?;
    let data = factors::for_user(&state.db, t.id, user_id.uuid())
        .await?
        .into_iter()
        .map(|f| FactorOut {
            id: FactorId::from_uuid(f.id).to_string(),
            factor_type: f.factor_type,
            status: f.status,
            masked: f.destination.as_deref().map(twostep_delivery::mask),
            created_at: f.created_at,
            last_used_at: f.last_used_at,
        })
        .collect();
    let held = recovery_codes::for_user(&state.db, t.id, user_id.uuid()).await?;
    let remaining = held.iter().filter(|c| c.used_at.is_none()).count() as u64;
    let mut warnings = Vec::new();
    if !held.is_empty() && remaining < RECOVERY_CODES_LOW {
        warnings.push("recovery_codes_low".to_owned());
    }
    Ok(axum::Json(FactorList {
        data,
        recovery_codes_remaining: remaining,
        warnings,
    }))
}

/// Remove one factor of a user.
#[utoipa::path(delete, path = "/users/{user_id}/factors/{factor_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("user_id" = String, Path), ("factor_id" = String, Path)),
    responses((status = 204, description = "Removed")))]
async fn delete_factor(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath((user_id, factor_id)): ApiPath<(UserId, FactorId)>,
) -> Result<StatusCode, ApiError> {
    let txn = twostep_store::write_txn(&state.db).await?;
    let Some(factor) = factors::get(&txn, t.id, user_id.uuid(), factor_id.uuid()).await? else {
        return Err(ApiError::NotFound);
    };
    factors::delete(&txn, t.id, user_id.uuid(), factor.id).await?;
    let actor = t.actor();
    let details = json!({ "factor_id": factor_id.to_string(), "type": factor.factor_type });
    audit::record(
        &txn,
        event(&t, &actor, user_id, "mfa.factor_removed", details),
    )
    .await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove all of a user's factors and recovery codes and clear a failure block: the
/// next sign-in enrolls again.
#[utoipa::path(post, path = "/users/{user_id}/mfa/reset", tag = TENANT_TAG, security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 204, description = "Reset")))]
async fn reset_mfa(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<UserId>,
) -> Result<StatusCode, ApiError> {
    existing_user(&state, &t, user_id).await?;
    let txn = twostep_store::write_txn(&state.db).await?;
    let removed = factors::delete_all(&txn, t.id, user_id.uuid()).await?;
    let codes = recovery_codes::delete_all(&txn, t.id, user_id.uuid()).await?;
    user_mfa::reset(&txn, t.id, user_id.uuid()).await?;
    let actor = t.actor();
    let details = json!({ "factors_removed": removed, "recovery_codes_removed": codes });
    audit::record(&txn, event(&t, &actor, user_id, "mfa.reset", details)).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
