//! `/admin/v1/users` and a user's effective policy.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use twostep_core::policy::{EffectivePolicy, OrgScope, resolve};
use twostep_core::validate::{Email, PhoneE164, handle};
use twostep_core::{Checks, FieldError, OrgId, PrimaryMethod, UserId};
use twostep_store::users::{self, UserPatch};
use twostep_store::{memberships, policies};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{TENANT_TAG, existing_org, tenant_plan};
use crate::dto::{List, UserOut};
use crate::error::{ApiError, OnConflict, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListQuery, Tenant};
use crate::state::AppState;

const EXTERNAL_ID_TAKEN: &str = "a user with this external_id already exists";

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(effective_policy))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    /// The tenant's own id for the user, unique per tenant: 1–255 visible ASCII characters.
    pub external_id: String,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number in E.164 form, e.g. `+14155550123`.
    #[serde(default)]
    pub phone: Option<String>,
    /// How the user signs in before the second step.
    #[serde(default)]
    pub primary_method: Option<PrimaryMethod>,
}

/// Changes to a user: an absent field stays, `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    /// New external id.
    pub external_id: Option<String>,
    /// Email address, or `null` to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Phone number (E.164), or `null` to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Primary sign-in method, or `null` to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<PrimaryMethod>)]
    pub primary_method: Option<Option<PrimaryMethod>>,
}

// Tells a field sent as `null` (Some(None)) from one left out (None).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn email(value: &str) -> Result<String, FieldError> {
    Email::parse(value).map(|e| e.as_str().to_owned())
}

fn phone(value: &str) -> Result<String, FieldError> {
    PhoneE164::parse(value).map(|p| p.as_str().to_owned())
}

/// List users, newest first.
#[utoipa::path(get, path = "/users", tag = TENANT_TAG, security(("api_key" = [])),
    params(ListQuery), responses((status = 200, body = List<UserOut>)))]
async fn list_users(
    t: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<List<UserOut>>, ApiError> {
    let page = users::list(&state.db, t.id, query.page()?).await?;
    Ok(axum::Json(List::from_page(
        page,
        |id| UserId::from_uuid(id).to_string(),
        UserOut::from,
    )))
}

/// Create a user.
#[utoipa::path(post, path = "/users", tag = TENANT_TAG, security(("api_key" = [])),
    request_body = UserCreate,
    responses((status = 201, body = UserOut),
        (status = 409, description = "The external_id is taken", body = Problem, content_type = "application/problem+json")))]
async fn create_user(
    t: Tenant,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UserCreate>,
) -> Result<(StatusCode, axum::Json<UserOut>), ApiError> {
    let mut checks = Checks::new();
    let external_id = checks.check("external_id", handle(&body.external_id, 255));
    let email = checks.check_opt("email", body.email.as_deref().map(email));
    let phone = checks.check_opt("phone", body.phone.as_deref().map(phone));
    let (external_id, fields) = checks.finish(|| {
        Some((
            external_id?,
            UserPatch {
                external_id: None,
                email: Some(email?),
                phone: Some(phone?),
                primary_method: Some(body.primary_method.map(|m| m.as_str().to_owned())),
            },
        ))
    })?;
    let user = users::create(&state.db, &t.actor(), t.id, external_id, fields)
        .await
        .on_conflict(EXTERNAL_ID_TAKEN)?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

/// Read a user.
#[utoipa::path(get, path = "/users/{user_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = UserOut)))]
async fn get_user(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<UserId>,
) -> Result<axum::Json<UserOut>, ApiError> {
    let user = users::get(&state.db, t.id, user_id.uuid())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(user.into()))
}

/// Change a user.
#[utoipa::path(patch, path = "/users/{user_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("user_id" = String, Path)), request_body = UserUpdate,
    responses((status = 200, body = UserOut),
        (status = 409, description = "The external_id is taken", body = Problem, content_type = "application/problem+json")))]
async fn update_user(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<UserId>,
    ApiJson(body): ApiJson<UserUpdate>,
) -> Result<axum::Json<UserOut>, ApiError> {
    let mut checks = Checks::new();
    let external_id = checks.check_opt(
        "external_id",
        body.external_id.as_deref().map(|e| handle(e, 255)),
    );
    let email = checks.check_patch("email", body.email.map(|v| v.as_deref().map(email)));
    let phone = checks.check_patch("phone", body.phone.map(|v| v.as_deref().map(phone)));
    let patch = checks.finish(|| {
        Some(UserPatch {
            external_id: external_id?,
            email: email?,
            phone: phone?,
            primary_method: body
                .primary_method
                .map(|m| m.map(|m| m.as_str().to_owned())),
        })
    })?;
    let user = users::update(&state.db, &t.actor(), t.id, user_id.uuid(), patch)
        .await
        .on_conflict(EXTERNAL_ID_TAKEN)?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(user.into()))
}

/// Delete a user and their memberships.
#[utoipa::path(delete, path = "/users/{user_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 204, description = "Deleted")))]
async fn delete_user(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<UserId>,
) -> Result<StatusCode, ApiError> {
    if users::delete(&state.db, &t.actor(), t.id, user_id.uuid()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Context of an effective-policy question.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EffectivePolicyQuery {
    /// The organization of the sign-in (`org_…`); the user must be a member.
    #[param(value_type = Option<String>)]
    pub org_id: Option<OrgId>,
    /// The primary method of the sign-in; defaults to the user's.
    pub primary_method: Option<PrimaryMethod>,
}

/// The policy a flow would use, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectivePolicyOut {
    /// The user (`usr_…`).
    pub user_id: String,
    /// The organization asked about, if any.
    pub organization_id: Option<String>,
    /// The primary method the answer assumes.
    pub primary_method: Option<PrimaryMethod>,
    /// The resolved policy and the reasons.
    #[serde(flatten)]
    pub policy: EffectivePolicy,
}

/// The policy a sign-in of this user would use, which rule decided, and which factors
/// are offered or left out.
#[utoipa::path(get, path = "/users/{user_id}/effective-policy", tag = TENANT_TAG, security(("api_key" = [])),
    params(("user_id" = String, Path), EffectivePolicyQuery),
    responses((status = 200, body = EffectivePolicyOut)))]
async fn effective_policy(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<UserId>,
    ApiQuery(query): ApiQuery<EffectivePolicyQuery>,
) -> Result<axum::Json<EffectivePolicyOut>, ApiError> {
    let user = users::get(&state.db, t.id, user_id.uuid())
        .await?
        .ok_or(ApiError::NotFound)?;
    let primary = query.primary_method.or_else(|| {
        user.primary_method
            .as_deref()
            .and_then(PrimaryMethod::from_name)
    });
    let policy = policy_for(&state, &t, &user, query.org_id, primary).await?;
    Ok(axum::Json(EffectivePolicyOut {
        user_id: user_id.to_string(),
        organization_id: query.org_id.map(|o| o.to_string()),
        primary_method: primary,
        policy,
    }))
}

/// The effective policy of a sign-in of `user` in `org_id` (the user must be a member)
/// with `primary` as the primary method.
pub(crate) async fn policy_for(
    state: &AppState,
    t: &Tenant,
    user: &twostep_store::entity::user::Model,
    org_id: Option<OrgId>,
    primary: Option<PrimaryMethod>,
) -> Result<EffectivePolicy, ApiError> {
    let (_, plan) = tenant_plan(state, t).await?;
    let env = policies::environment(&state.db, t.id).await?;
    let org_policy = match org_id {
        None => None,
        Some(org_id) => {
            existing_org(state, t, org_id).await?;
            if !memberships::is_member(&state.db, t.id, org_id.uuid(), user.id).await? {
                return Err(ApiError::field(
                    "org_id",
                    "the user is not a member of this organization",
                ));
            }
            Some(policies::organization(&state.db, t.id, org_id.uuid()).await?)
        }
    };
    let scope = match &org_policy {
        None => OrgScope::None,
        Some(p) => OrgScope::Org(p.as_ref()),
    };
    Ok(resolve(&env, scope, &plan.entitlements, primary))
}
