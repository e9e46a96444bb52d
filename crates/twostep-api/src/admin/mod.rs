//! The admin API, `/admin/v1`: the operator's plans and tenants, and each tenant's own
//! keys, organizations, users, policies and audit log.

mod account;
mod audit;
mod deliveries;
pub use deliveries::DeliveryStatus;
mod factors;
mod orgs;
mod outbox;
mod plans;
mod policy;
mod tenants;
pub(crate) mod users;

use twostep_core::OrgId;
use twostep_store::entity::{organization, tenant};
use twostep_store::plans::Plan;
use twostep_store::{orgs as org_store, tenants as tenant_store};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::extract::Tenant;
use crate::state::AppState;

/// Tag of the operator's endpoints.
pub const OPERATOR_TAG: &str = "operator";
/// Tag of the tenant admin endpoints.
pub const TENANT_TAG: &str = "tenant";

/// Every admin route, relative to `/admin/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(plans::router())
        .merge(tenants::router())
        .merge(account::router())
        .merge(orgs::router())
        .merge(users::router())
        .merge(policy::router())
        .merge(audit::router())
        .merge(outbox::router())
        .merge(deliveries::router())
        .merge(factors::router())
}

/// The calling tenant and its plan.
pub(crate) async fn tenant_plan(
    state: &AppState,
    t: &Tenant,
) -> Result<(tenant::Model, Plan), ApiError> {
    // The key was live a moment ago; a tenant deleted since is simply not found.
    tenant_store::get_with_plan(&state.db, t.id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The tenant's organization, or 404 (also for another tenant's organization).
pub(crate) async fn existing_org(
    state: &AppState,
    t: &Tenant,
    org_id: OrgId,
) -> Result<organization::Model, ApiError> {
    org_store::get(&state.db, t.id, org_id.uuid())
        .await?
        .ok_or(ApiError::NotFound)
}
