//! The `organization_policy` table.

use sea_orm::entity::prelude::*;

/// One row of `organization_policy`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_policy")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    pub tenant_id: Uuid,
    pub policy: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: joins are written where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
