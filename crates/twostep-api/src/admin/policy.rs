//! `/admin/v1/mfa-policy` and `/admin/v1/organizations/{org_id}/mfa-policy`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use twostep_core::plan::Entitlement;
use twostep_core::{
    EnvironmentPolicy, FactorType, OrgId, OrgMode, OrganizationPolicy, PolicyWarning,
};
use twostep_store::policies;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{TENANT_TAG, existing_org, tenant_plan};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, Tenant};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_environment_policy, put_environment_policy))
        .routes(routes!(get_org_policy, put_org_policy, delete_org_policy))
}

/// The environment policy, with warnings about what it does.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentPolicyOut {
    /// The policy.
    #[serde(flatten)]
    pub policy: EnvironmentPolicy,
    /// Things worth knowing about this policy (restricted factors only, a factor on the
    /// same channel as a declared primary method, …).
    pub warnings: Vec<PolicyWarning>,
}

/// An organization's policy and whether it is in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationPolicyOut {
    /// The organization (`org_…`).
    pub organization_id: String,
    /// `inherit` when the organization has no policy of its own.
    pub mode: OrgMode,
    /// A narrower set of factor types; `null` means the environment's.
    pub factors: Option<Vec<FactorType>>,
    /// Whether this policy is the one sign-ins in the organization use: it is the
    /// organization's own (not `inherit`) and the plan has `mfa_per_org`.
    pub active: bool,
    /// Whether the policy is kept but not applied because the plan lacks `mfa_per_org`.
    pub suspended: bool,
    /// Things worth knowing about this policy.
    pub warnings: Vec<PolicyWarning>,
}

/// Read the environment policy (MFA off until one is saved).
#[utoipa::path(get, path = "/mfa-policy", tag = TENANT_TAG, security(("api_key" = [])),
    responses((status = 200, body = EnvironmentPolicyOut)))]
async fn get_environment_policy(
    t: Tenant,
    State(state): State<AppState>,
) -> Result<axum::Json<EnvironmentPolicyOut>, ApiError> {
    let policy = policies::environment(&state.db, t.id).await?;
    Ok(axum::Json(EnvironmentPolicyOut {
        warnings: policy.warnings(),
        policy,
    }))
}

/// Replace the environment policy. Fields left out take their defaults.
#[utoipa::path(put, path = "/mfa-policy", tag = TENANT_TAG, security(("api_key" = [])),
    request_body = EnvironmentPolicy,
    responses((status = 200, body = EnvironmentPolicyOut),
        (status = 403, description = "A factor type needs an entitlement the plan lacks", body = Problem, content_type = "application/problem+json")))]
async fn put_environment_policy(
    t: Tenant,
    State(state): State<AppState>,
    ApiJson(policy): ApiJson<EnvironmentPolicy>,
) -> Result<axum::Json<EnvironmentPolicyOut>, ApiError> {
    let errors = policy.validate();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (_, plan) = tenant_plan(&state, &t).await?;
    policy.check_entitlements(&plan.entitlements)?;
    policies::put_environment(&state.db, &t.actor(), t.id, &policy).await?;
    Ok(axum::Json(EnvironmentPolicyOut {
        warnings: policy.warnings(),
        policy,
    }))
}

fn org_policy_out(
    org_id: OrgId,
    policy: Option<OrganizationPolicy>,
    mfa_per_org: bool,
) -> OrganizationPolicyOut {
    let policy = policy.unwrap_or(OrganizationPolicy {
        mode: OrgMode::Inherit,
        factors: None,
    });
    OrganizationPolicyOut {
        organization_id: org_id.to_string(),
        active: policy.is_own() && mfa_per_org,
        suspended: policy.is_own() && !mfa_per_org,
        warnings: policy.warnings(),
        mode: policy.mode,
        factors: policy.factors,
    }
}

/// Read an organization's policy and whether it is in force.
#[utoipa::path(get, path = "/organizations/{org_id}/mfa-policy", tag = TENANT_TAG, security(("api_key" = [])),
    params(("org_id" = String, Path)), responses((status = 200, body = OrganizationPolicyOut)))]
async fn get_org_policy(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<axum::Json<OrganizationPolicyOut>, ApiError> {
    existing_org(&state, &t, org_id).await?;
    let (_, plan) = tenant_plan(&state, &t).await?;
    let policy = policies::organization(&state.db, t.id, org_id.uuid()).await?;
    Ok(axum::Json(org_policy_out(
        org_id,
        policy,
        plan.entitlements.mfa_per_org,
    )))
}

/// Set an organization's own policy. Needs a plan with `mfa_per_org` (`scale`).
#[utoipa::path(put, path = "/organizations/{org_id}/mfa-policy", tag = TENANT_TAG, security(("api_key" = [])),
    params(("org_id" = String, Path)), request_body = OrganizationPolicy,
    responses((status = 200, body = OrganizationPolicyOut),
        (status = 403, description = "The plan lacks per-organization MFA", body = Problem, content_type = "application/problem+json")))]
async fn put_org_policy(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiJson(policy): ApiJson<OrganizationPolicy>,
) -> Result<axum::Json<OrganizationPolicyOut>, ApiError> {
    existing_org(&state, &t, org_id).await?;
    let errors = policy.validate();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (_, plan) = tenant_plan(&state, &t).await?;
    plan.entitlements.require(Entitlement::MfaPerOrg, 0)?;
    policy.check_entitlements(&plan.entitlements)?;
    policies::put_organization(&state.db, &t.actor(), t.id, org_id.uuid(), &policy).await?;
    Ok(axum::Json(org_policy_out(org_id, Some(policy), true)))
}

/// Remove an organization's own policy; it inherits the environment policy again.
#[utoipa::path(delete, path = "/organizations/{org_id}/mfa-policy", tag = TENANT_TAG, security(("api_key" = [])),
    params(("org_id" = String, Path)), responses((status = 204, description = "Removed")))]
async fn delete_org_policy(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<StatusCode, ApiError> {
    existing_org(&state, &t, org_id).await?;
    policies::delete_organization(&state.db, &t.actor(), t.id, org_id.uuid()).await?;
    Ok(StatusCode::NO_CONTENT)
}
