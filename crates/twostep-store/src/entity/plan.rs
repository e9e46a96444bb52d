//! The `plan` table.

use sea_orm::entity::prelude::*;

/// One row of `plan`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plan")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub rank: i32,
    pub entitlements: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: joins are written where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
