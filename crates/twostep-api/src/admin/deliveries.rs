//! `/admin/v1/deliveries`: what was sent, to whom (masked), and how it went. Never the code.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use twostep_core::DeliveryId;
use twostep_delivery::mask;
use twostep_store::deliveries;
use twostep_store::entity::delivery;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::TENANT_TAG;
use crate::dto::List;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, ListQuery, Tenant};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for a worker.
    Queued,
    /// Being sent.
    Sending,
    /// Handed to the provider.
    Sent,
    /// The last attempt failed; another is due.
    Failed,
    /// Given up.
    Dead,
    /// The code expired before it could be sent.
    Expired,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => deliveries::QUEUED,
            Self::Sending => deliveries::SENDING,
            Self::Sent => deliveries::SENT,
            Self::Failed => deliveries::FAILED,
            Self::Dead => deliveries::DEAD,
            Self::Expired => deliveries::EXPIRED,
        }
    }
}

/// One message sent (or being sent) for the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `dlv_…`
    pub id: String,
    /// `email` or `sms`.
    pub channel: String,
    /// The destination, masked.
    pub destination: String,
    /// Which message.
    pub template: String,
    /// `queued`, `sending`, `sent`, `failed`, `dead` or `expired`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The provider's id for the sent message.
    pub provider_message_id: Option<String>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
    /// When handed to the provider.
    pub sent_at: Option<DateTime<Utc>>,
    /// When its code expires.
    pub expires_at: DateTime<Utc>,
}

impl From<delivery::Model> for DeliveryOut {
    fn from(d: delivery::Model) -> Self {
        Self {
            id: DeliveryId::from_uuid(d.id).to_string(),
            destination: mask(&d.destination),
            channel: d.channel,
            template: d.template,
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error,
            provider_message_id: d.provider_message_id,
            created_at: d.created_at,
            updated_at: d.updated_at,
            sent_at: d.sent_at,
            expires_at: d.expires_at,
        }
    }
}

/// Filter and paging of deliveries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List deliveries, newest first (never their codes).
#[utoipa::path(get, path = "/deliveries", tag = TENANT_TAG, security(("api_key" = [])),
    params(DeliveryQuery), responses((status = 200, body = List<DeliveryOut>)))]
async fn list_deliveries(
    t: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<axum::Json<List<DeliveryOut>>, ApiError> {
    let page = ListQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    let status = query.status.map(DeliveryStatus::as_str);
    let found = deliveries::list(&state.db, t.id, status, page).await?;
    Ok(axum::Json(List::from_page(
        found,
        |id| DeliveryId::from_uuid(id).to_string(),
        DeliveryOut::from,
    )))
}

/// Read one delivery.
#[utoipa::path(get, path = "/deliveries/{delivery_id}", tag = TENANT_TAG, security(("api_key" = [])),
    params(("delivery_id" = String, Path)), responses((status = 200, body = DeliveryOut)))]
async fn get_delivery(
    t: Tenant,
    State(state): State<AppState>,
    ApiPath(delivery_id): ApiPath<DeliveryId>,
) -> Result<axum::Json<DeliveryOut>, ApiError> {
    let found = deliveries::get(&state.db, t.id, delivery_id.uuid())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(found.into()))
}
