//! The `audit_event` table.

use sea_orm::entity::prelude::*;

/// One row of `audit_event`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub user_id: Option<Uuid>,
    pub details: Json,
    pub created_at: DateTimeUtc,
}

/// No declared relations: joins are written where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
