//! The `challenge` table.

use sea_orm::entity::prelude::*;

/// One row of `challenge`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "challenge")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub flow_id: Uuid,
    pub factor_id: Uuid,
    /// HMAC-SHA-256 of the code, bound to this challenge's id.
    pub code_digest: Vec<u8>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub status: String,
    pub delivery_id: Option<Uuid>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

/// No declared relations: joins are written where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
