//! `/admin/v1/plans` (operator).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use twostep_core::validate::text;
use twostep_core::{Checks, Entitlements, OrgId, PlanSlug};
use twostep_store::plans::{self, PlanPatch, PlanUpdated};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::OPERATOR_TAG;
use crate::dto::{List, PlanOut};
use crate::error::{ApiError, OnConflict, Problem};
use crate::extract::{ApiJson, ApiPath, Operator};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan, update_plan))
}

/// A new plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanCreate {
    /// Slug: 1–32 of `a-z`, `0-9`, `-`, starting with a letter.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Ordering from cheapest to dearest.
    pub rank: i32,
    /// What the plan allows.
    pub entitlements: Entitlements,
}

/// Changes to a plan; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanUpdate {
    /// Display name.
    pub name: Option<String>,
    /// Ordering from cheapest to dearest.
    pub rank: Option<i32>,
    /// What the plan allows (replaced whole).
    pub entitlements: Option<Entitlements>,
    /// Take `mfa_per_org` away even though organizations of tenants on the plan have their
    /// own policy (they are suspended, and come back if the plan gets it again).
    #[serde(default)]
    pub force: bool,
}

/// List plans with their entitlements.
#[utoipa::path(get, path = "/plans", tag = OPERATOR_TAG, security(("operator_token" = [])),
    responses((status = 200, body = List<PlanOut>)))]
async fn list_plans(
    _: Operator,
    State(state): State<AppState>,
) -> Result<axum::Json<List<PlanOut>>, ApiError> {
    let plans = plans::list(&state.db).await?;
    Ok(axum::Json(List {
        data: plans.into_iter().map(PlanOut::from).collect(),
        next_cursor: None,
    }))
}

/// Create a plan.
#[utoipa::path(post, path = "/plans", tag = OPERATOR_TAG, security(("operator_token" = [])),
    request_body = PlanCreate,
    responses((status = 201, body = PlanOut), (status = 409, description = "The plan id is taken", body = crate::error::Problem, content_type = "application/problem+json")))]
async fn create_plan(
    op: Operator,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PlanCreate>,
) -> Result<(StatusCode, axum::Json<PlanOut>), ApiError> {
    let mut checks = Checks::new();
    let id = checks.check("id", PlanSlug::parse(&body.id));
    let name = checks.check("name", text(&body.name, 100));
    let (id, name) = checks.finish(|| Some((id?, name?)))?;
    let plan = plans::create(
        &state.db,
        &op.actor(),
        id.as_str(),
        &name,
        body.rank,
        &body.entitlements,
    )
    .await
    .on_conflict("a plan with this id already exists")?;
    Ok((StatusCode::CREATED, axum::Json(plan.into())))
}

/// Read a plan.
#[utoipa::path(get, path = "/plans/{plan_id}", tag = OPERATOR_TAG, security(("operator_token" = [])),
    params(("plan_id" = String, Path, description = "Plan slug")),
    responses((status = 200, body = PlanOut)))]
async fn get_plan(
    _: Operator,
    State(state): State<AppState>,
    ApiPath(plan_id): ApiPath<String>,
) -> Result<axum::Json<PlanOut>, ApiError> {
    let plan = plans::get(&state.db, &plan_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(plan.into()))
}

/// Change a plan's name, rank or entitlements. Taking `mfa_per_org` away while tenants on
/// the plan have organization policies is refused with 409 listing them, unless `force`
/// (then they are suspended).
#[utoipa::path(patch, path = "/plans/{plan_id}", tag = OPERATOR_TAG, security(("operator_token" = [])),
    params(("plan_id" = String, Path, description = "Plan slug")),
    request_body = PlanUpdate,
    responses((status = 200, body = PlanOut),
        (status = 409, description = "Organization policies would be suspended (`plan_downgrade_conflict`)", body = Problem, content_type = "application/problem+json")))]
async fn update_plan(
    op: Operator,
    State(state): State<AppState>,
    ApiPath(plan_id): ApiPath<String>,
    ApiJson(body): ApiJson<PlanUpdate>,
) -> Result<axum::Json<PlanOut>, ApiError> {
    let mut checks = Checks::new();
    let name = checks.check_opt("name", body.name.as_deref().map(|n| text(n, 100)));
    let name = checks.finish(|| name)?;
    let patch = PlanPatch {
        name,
        rank: body.rank,
        entitlements: body.entitlements,
        force: body.force,
    };
    match plans::update(&state.db, &op.actor(), &plan_id, patch).await? {
        PlanUpdated::NotFound => Err(ApiError::NotFound),
        PlanUpdated::Conflict(orgs) => Err(ApiError::DowngradeConflict(
            orgs.into_iter()
                .map(|o| OrgId::from_uuid(o).to_string())
                .collect(),
        )),
        PlanUpdated::Updated(plan) => Ok(axum::Json((*plan).into())),
    }
}
