//! The `delivery` table.

use sea_orm::entity::prelude::*;

/// One row of `delivery`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub channel: String,
    pub destination: String,
    pub template: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    /// The code, sealed under the service key; `None` once the delivery is final.
    pub secret: Option<Vec<u8>>,
    pub secret_key_id: Option<String>,
    pub expires_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub enqueued_at: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: joins are written where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
