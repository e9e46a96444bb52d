//! `/admin/v1/outbox`: what the `outbox` sender wrote (development and tests only).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use twostep_core::OutboxMessageId;
use twostep_store::entity::outbox_message;
use twostep_store::outbox;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::TENANT_TAG;
use crate::dto::List;
use crate::error::ApiError;
use crate::extract::{ApiQuery, ListQuery, Tenant};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_outbox))
}

/// A message the outbox sender stored instead of sending.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMessageOut {
    /// `msg_…`
    pub id: String,
    /// `email` or `sms`.
    pub channel: String,
    /// Address or number.
    pub destination: String,
    /// Subject, for email.
    pub subject: Option<String>,
    /// The text as it would have been sent.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl From<outbox_message::Model> for OutboxMessageOut {
    fn from(m: outbox_message::Model) -> Self {
        Self {
            id: OutboxMessageId::from_uuid(m.id).to_string(),
            channel: m.channel,
            destination: m.destination,
            subject: m.subject,
            body: m.body,
            created_at: m.created_at,
        }
    }
}

/// Messages the `outbox` sender wrote for this tenant, newest first (development and
/// tests: with the `ses`/`sns` senders nothing is written here).
#[utoipa::path(get, path = "/outbox", tag = TENANT_TAG, security(("api_key" = [])),
    params(ListQuery), responses((status = 200, body = List<OutboxMessageOut>)))]
async fn list_outbox(
    t: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<List<OutboxMessageOut>>, ApiError> {
    let page = outbox::list(&state.db, t.id, query.page()?).await?;
    Ok(axum::Json(List::from_page(
        page,
        |id| OutboxMessageId::from_uuid(id).to_string(),
        OutboxMessageOut::from,
    )))
}
