//! `/admin/v1/tenant` and `/admin/v1/api-keys`: the calling tenant and its keys.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use twostep_core::caps::DeliveryCaps;
use twostep_core::secret::{API_KEY_PREFIX, new_token, token_digest};
use twostep_core::validate::text;
use twostep_core::{ApiKeyId, Checks, TenantId};
use twostep_store::api_keys;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{TENANT_TAG, tenant_plan};
use crate::dto::{ApiKeyOut, List, PlanOut};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListQuery, Tenant};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_tenant))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

/// The calling tenant with its plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantSelf {
    /// `ten_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// The plan and its entitlements.
    pub plan: PlanOut,
    /// Hourly email and SMS limits.
    pub delivery_caps: DeliveryCaps,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    /// Label, e.g. `production backend`.
    pub name: String,
}

/// A created API key, with its secret shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    /// `key_…`
    pub id: String,
    /// Label.
    pub name: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// The secret (`tsk_…`). Shown once; only its digest is kept.
    pub api_key: String,
}

/// This tenant, its plan and entitlements.
#[utoipa::path(get, path = "/tenant", tag = TENANT_TAG, security(("api_key" = [])),
    responses((status = 200, body = TenantSelf)))]
async fn get_tenant(
    t: Tenant,
    State(state): State<AppState>,
) -> Result<axum::Json<TenantSelf>, ApiError> {
    let (tenant, plan) = tenant_plan(&state, &t).await?;
    Ok(axum::Json(TenantSelf {
        id: TenantId::from_uuid(tenant.id).to_string(),
        delivery_caps: twostep_store::tenants::delivery_caps(&tenant),
        name: tenant.name,
        plan: plan.into(),
        created_at: tenant.created_at,
        updated_at: tenant.updated_at,
    }))
}

/// List API keys (never their secrets), revoked ones included.
#[utoipa::path(get, path = "/api-keys", tag = TENANT_TAG, security(("api_key" = [])),
    params(ListQuery), responses((status = 200, body = List<ApiKeyOut>)))]
async fn list_keys(
    t: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<List<ApiKeyOut>>, ApiError> {
    let page = api_keys::list(&state.db, t.id, query.page()?).await?;
    Ok(axum::Json(List::from_page(
        page,
        |id| ApiKeyId::from_uuid(id).to_string(),
        ApiKeyOut::from,
    )))
}

/// Create an API key; the secret is in the response only.
#[utoipa::path(post, path = "/api-keys", tag = TENANT_TAG, security(("api_key" = [])),
    request_body = ApiKeyCreate, responses((status = 201, body = ApiKeyCreated)))]
async fn create_key(
    t: Tenant,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ApiKeyCreate>,
) -> Result<(StatusCode, axum::Json<ApiKeyCreated>), ApiError> {
    let mut checks = Checks::new();
    let name = checks.check("name", text(&body.name, 200));
    let name = checks.finish(|| name)?;
    let secret = new_token(API_KEY_PREFIX);
    let key = api_keys::create(&state.db, &t.actor(), t.id, &name, token_digest(&secret)).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ApiKeyCreated {
            id: ApiKeyId::from_uuid(key.id).to_string(),
            name: key.name,
            created_at: key.created_at,
            api_key: secret,
        }),
    ))
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/api-keys/{key_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("key_id" = String, Path)), responses((status = 204, description = "Revoked")))]
async fn revoke_key(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(key_id): ApiPath<ApiKeyId>,
) -> Result<StatusCode, ApiError> {
    if api_keys::revoke(&state.db, &t.actor(), t.id, key_id.uuid()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
