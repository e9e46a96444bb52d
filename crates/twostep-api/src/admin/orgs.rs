//! `/admin/v1/organizations` and their members.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use twostep_core::validate::{handle, text};
use twostep_core::{Checks, OrgId, UserId};
use twostep_store::orgs::{self, OrgPatch};
use twostep_store::{memberships, users};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{TENANT_TAG, existing_org, tenant_plan};
use crate::dto::{List, OrganizationOut, UserOut};
use crate::error::{ApiError, OnConflict, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListQuery, Tenant};
use crate::state::AppState;

const CODE_TAKEN: &str = "an organization with this code already exists";

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org, update_org, delete_org))
        .routes(routes!(list_members))
        .routes(routes!(add_member, remove_member))
}

/// A new organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationCreate {
    /// The tenant's own handle, unique per tenant: 1–64 visible ASCII characters.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// Changes to an organization; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationUpdate {
    /// New handle, unique per tenant.
    pub code: Option<String>,
    /// New display name.
    pub name: Option<String>,
}

/// List organizations, newest first.
#[utoipa::path(get, path = "/organizations", tag = TENANT_TAG, security(("api_key" = [])),
    params(ListQuery), responses((status = 200, body = List<OrganizationOut>)))]
async fn list_orgs(
    t: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<List<OrganizationOut>>, ApiError> {
    let page = orgs::list(&state.db, t.id, query.page()?).await?;
    Ok(axum::Json(List::from_page(
        page,
        |id| OrgId::from_uuid(id).to_string(),
        OrganizationOut::from,
    )))
}

/// Create an organization. The plan's `max_orgs` applies.
#[utoipa::path(post, path = "/organizations", tag = TENANT_TAG, security(("api_key" = [])),
    request_body = OrganizationCreate,
    responses((status = 201, body = OrganizationOut),
        (status = 403, description = "The plan's organization limit is reached", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken", body = Problem, content_type = "application/problem+json")))]
async fn create_org(
    t: Tenant,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<OrganizationCreate>,
) -> Result<(StatusCode, axum::Json<OrganizationOut>), ApiError> {
    let mut checks = Checks::new();
    let code = checks.check("code", handle(&body.code, 64));
    let name = checks.check("name", text(&body.name, 200));
    let (code, name) = checks.finish(|| Some((code?, name?)))?;
    let (_, plan) = tenant_plan(&state, &t).await?;
    let org = orgs::create(
        &state.db,
        &t.actor(),
        t.id,
        &code,
        &name,
        &plan.entitlements,
    )
    .await
    .on_conflict(CODE_TAKEN)??;
    Ok((StatusCode::CREATED, axum::Json(org.into())))
}

/// Read an organization.
#[utoipa::path(get, path = "/organizations/{org_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("org_id" = String, Path)), responses((status = 200, body = OrganizationOut)))]
async fn get_org(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<axum::Json<OrganizationOut>, ApiError> {
    Ok(axum::Json(existing_org(&state, &t, org_id).await?.into()))
}

/// Change an organization's code or name.
#[utoipa::path(patch, path = "/organizations/{org_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("org_id" = String, Path)), request_body = OrganizationUpdate,
    responses((status = 200, body = OrganizationOut),
        (status = 409, description = "The code is taken", body = Problem, content_type = "application/problem+json")))]
async fn update_org(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<OrganizationUpdate>,
) -> Result<axum::Json<OrganizationOut>, ApiError> {
    let mut checks = Checks::new();
    let code = checks.check_opt("code", body.code.as_deref().map(|c| handle(c, 64)));
    let name = checks.check_opt("name", body.name.as_deref().map(|n| text(n, 200)));
    let patch = checks.finish(|| {
        Some(OrgPatch {
            code: code?,
            name: name?,
        })
    })?;
    let org = orgs::update(&state.db, &t.actor(), t.id, org_id.uuid(), patch)
        .await
        .on_conflict(CODE_TAKEN)?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(org.into()))
}

/// Delete an organization with its policy and memberships.
#[utoipa::path(delete, path = "/organizations/{org_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("org_id" = String, Path)), responses((status = 204, description = "Deleted")))]
async fn delete_org(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<StatusCode, ApiError> {
    if orgs::delete(&state.db, &t.actor(), t.id, org_id.uuid()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// List an organization's members, newest user first.
#[utoipa::path(get, path = "/organizations/{org_id}/members", tag = TENANT_TAG, security(("api_key" = [])),
    params(("org_id" = String, Path), ListQuery), responses((status = 200, body = List<UserOut>)))]
async fn list_members(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<List<UserOut>>, ApiError> {
    let page = query.page()?;
    existing_org(&state, &t, org_id).await?;
    let members = memberships::members(&state.db, t.id, org_id.uuid(), page).await?;
    Ok(axum::Json(List::from_page(
        members,
        |id| UserId::from_uuid(id).to_string(),
        UserOut::from,
    )))
}

/// Add a user to an organization (adding twice changes nothing).
#[utoipa::path(put, path = "/organizations/{org_id}/members/{user_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("org_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204, description = "The user is a member")))]
async fn add_member(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath((org_id, user_id)): ApiPath<(OrgId, UserId)>,
) -> Result<StatusCode, ApiError> {
    existing_org(&state, &t, org_id).await?;
    users::get(&state.db, t.id, user_id.uuid())
        .await?
        .ok_or(ApiError::NotFound)?;
    memberships::add(&state.db, &t.actor(), t.id, org_id.uuid(), user_id.uuid()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a user from an organization.
#[utoipa::path(delete, path = "/organizations/{org_id}/members/{user_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("org_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204, description = "Removed")))]
async fn remove_member(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath((org_id, user_id)): ApiPath<(OrgId, UserId)>,
) -> Result<StatusCode, ApiError> {
    if memberships::remove(&state.db, &t.actor(), t.id, org_id.uuid(), user_id.uuid()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
