//! `/admin/v1/tenants` (operator).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use twostep_core::caps::DeliveryCaps;
use twostep_core::secret::{API_KEY_PREFIX, new_token, token_digest};
use twostep_core::validate::text;
use twostep_core::{Checks, OrgId, TenantId};
use twostep_store::plans;
use twostep_store::tenants::{self, PlanChange, TenantPatch};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::OPERATOR_TAG;
use crate::dto::{List, TenantOut};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListQuery, Operator};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, update_tenant, delete_tenant))
        .routes(routes!(change_plan))
}

/// A new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantCreate {
    /// Display name.
    pub name: String,
    /// The plan to start on.
    pub plan_id: String,
}

/// A created tenant and its first API key.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantCreated {
    /// The tenant.
    pub tenant: TenantOut,
    /// The first API key (`tsk_…`). Shown once; only its digest is kept.
    pub api_key: String,
}

/// Changes to a tenant; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New hourly email and SMS limits (replaced whole).
    pub delivery_caps: Option<DeliveryCaps>,
}

/// A plan change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChangeIn {
    /// The new plan.
    pub plan_id: String,
    /// Proceed even though organization policies would be suspended.
    #[serde(default)]
    pub force: bool,
}

/// The outcome of a plan change.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChangeOut {
    /// The tenant on its new plan.
    pub tenant: TenantOut,
    /// Organizations whose own policy is suspended by this change.
    pub suspended_organizations: Vec<String>,
}

async fn existing_plan(state: &AppState, plan_id: &str) -> Result<(), ApiError> {
    match plans::get(&state.db, plan_id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::field("plan_id", "no such plan")),
    }
}

/// Create a tenant; the response carries its first API key, shown once.
#[utoipa::path(post, path = "/tenants", tag = OPERATOR_TAG, security(("operator_token" = [])),
    request_body = TenantCreate, responses((status = 201, body = TenantCreated)))]
async fn create_tenant(
    op: Operator,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TenantCreate>,
) -> Result<(StatusCode, axum::Json<TenantCreated>), ApiError> {
    let mut checks = Checks::new();
    let name = checks.check("name", text(&body.name, 200));
    let name = checks.finish(|| name)?;
    existing_plan(&state, &body.plan_id).await?;
    let api_key = new_token(API_KEY_PREFIX);
    let (tenant, _) = tenants::create(
        &state.db,
        &op.actor(),
        &name,
        &body.plan_id,
        token_digest(&api_key),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TenantCreated {
            tenant: tenant.into(),
            api_key,
        }),
    ))
}

/// List tenants, newest first.
#[utoipa::path(get, path = "/tenants", tag = OPERATOR_TAG, security(("operator_token" = [])),
    params(ListQuery), responses((status = 200, body = List<TenantOut>)))]
async fn list_tenants(
    _: Operator,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<List<TenantOut>>, ApiError> {
    let page = tenants::list(&state.db, query.page()?).await?;
    Ok(axum::Json(List::from_page(
        page,
        |id| TenantId::from_uuid(id).to_string(),
        TenantOut::from,
    )))
}

/// Read a tenant.
#[utoipa::path(get, path = "/tenants/{tenant_id}", tag = OPERATOR_TAG, security(("operator_token" = [])),
    params(("tenant_id" = String, Path)), responses((status = 200, body = TenantOut)))]
async fn get_tenant(
    _: Operator,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<TenantId>,
) -> Result<axum::Json<TenantOut>, ApiError> {
    let tenant = tenants::get(&state.db, id.uuid())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(tenant.into()))
}

/// Rename a tenant or set its hourly delivery caps.
#[utoipa::path(patch, path = "/tenants/{tenant_id}", tag = OPERATOR_TAG, security(("operator_token" = [])),
    params(("tenant_id" = String, Path)), request_body = TenantUpdate,
    responses((status = 200, body = TenantOut)))]
async fn update_tenant(
    op: Operator,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<TenantId>,
    ApiJson(body): ApiJson<TenantUpdate>,
) -> Result<axum::Json<TenantOut>, ApiError> {
    let mut checks = Checks::new();
    let name = checks.check_opt("name", body.name.as_deref().map(|n| text(n, 200)));
    if let Some(caps) = &body.delivery_caps {
        checks.extend(caps.validate());
    }
    let patch = checks.finish(|| {
        Some(TenantPatch {
            name: name?,
            delivery_caps: body.delivery_caps,
        })
    })?;
    let tenant = tenants::update(&state.db, &op.actor(), id.uuid(), patch).await?;
    Ok(axum::Json(tenant.ok_or(ApiError::NotFound)?.into()))
}

/// Delete a tenant and everything it owns.
#[utoipa::path(delete, path = "/tenants/{tenant_id}", tag = OPERATOR_TAG, security(("operator_token" = [])),
    params(("tenant_id" = String, Path)), responses((status = 204, description = "Deleted")))]
async fn delete_tenant(
    op: Operator,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<TenantId>,
) -> Result<StatusCode, ApiError> {
    if tenants::delete(&state.db, &op.actor(), id.uuid()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Move a tenant to another plan. A plan without `mfa_per_org` while organizations have
/// their own policy is refused with `plan_downgrade_conflict` unless `force`; with
/// `force` those policies are suspended and come back when the plan allows them again.
#[utoipa::path(put, path = "/tenants/{tenant_id}/plan", tag = OPERATOR_TAG, security(("operator_token" = [])),
    params(("tenant_id" = String, Path)), request_body = PlanChangeIn,
    responses((status = 200, body = PlanChangeOut),
        (status = 409, description = "Organization policies would be suspended", body = Problem, content_type = "application/problem+json")))]
async fn change_plan(
    op: Operator,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<TenantId>,
    ApiJson(body): ApiJson<PlanChangeIn>,
) -> Result<axum::Json<PlanChangeOut>, ApiError> {
    let org_ids = |ids: Vec<uuid::Uuid>| {
        ids.into_iter()
            .map(|o| OrgId::from_uuid(o).to_string())
            .collect()
    };
    match tenants::change_plan(&state.db, &op.actor(), id.uuid(), &body.plan_id, body.force).await?
    {
        PlanChange::TenantNotFound => Err(ApiError::NotFound),
        PlanChange::PlanNotFound => Err(ApiError::field("plan_id", "no such plan")),
        PlanChange::Conflict(orgs) => Err(ApiError::DowngradeConflict(org_ids(orgs))),
        PlanChange::Changed { tenant, suspended } => Ok(axum::Json(PlanChangeOut {
            tenant: (*tenant).into(),
            suspended_organizations: org_ids(suspended),
        })),
    }
}
