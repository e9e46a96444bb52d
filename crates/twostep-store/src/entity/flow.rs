//! The `flow` table.

use sea_orm::entity::prelude::*;

/// One row of `flow`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "flow")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub org_id: Option<Uuid>,
    pub primary_method: Option<String>,
    /// SHA-256 of the flow token; the token itself is never stored.
    pub token_digest: Vec<u8>,
    /// The effective policy, resolved once when the flow started.
    pub policy: Json,
    pub state: String,
    /// Whether a second factor was proven in this flow.
    pub mfa_verified: bool,
    /// Authentication methods for the result token, e.g. `["pwd","otp"]`.
    pub amr: Json,
    pub result_jti: Option<Uuid>,
    pub completed_at: Option<DateTimeUtc>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: joins are written where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
