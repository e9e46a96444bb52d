//! `/admin/v1/audit-events`.

use axum::extract::State;
use serde::Deserialize;
use twostep_core::{AuditEventId, UserId};
use twostep_store::audit;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::TENANT_TAG;
use crate::dto::{AuditEventOut, List};
use crate::error::ApiError;
use crate::extract::{ApiQuery, ListQuery, Tenant};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events))
}

/// Filters and paging of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events of this type, e.g. `organization.created`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub action: Option<String>,
    /// Only events concerning this user (`usr_…`).
    #[param(value_type = Option<String>)]
    pub user_id: Option<UserId>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The tenant's audit log, newest first.
#[utoipa::path(get, path = "/audit-events", tag = TENANT_TAG, security(("api_key" = [])),
    params(AuditQuery), responses((status = 200, body = List<AuditEventOut>)))]
async fn list_events(
    t: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<axum::Json<List<AuditEventOut>>, ApiError> {
    let page = ListQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    let filter = audit::Filter {
        action: query.action,
        user_id: query.user_id.map(|u| u.uuid()),
    };
    let events = audit::list(&state.db, t.id, filter, page).await?;
    Ok(axum::Json(List::from_page(
        events,
        |id| AuditEventId::from_uuid(id).to_string(),
        AuditEventOut::from,
    )))
}
