//! The `user_mfa` table.

use sea_orm::entity::prelude::*;

/// One row of `user_mfa`: a user's failure counter and whether they declined MFA.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "user_mfa")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    /// Consecutive failures, across flows and challenges.
    pub failures: i32,
    pub last_failure_at: Option<DateTimeUtc>,
    /// When the user last skipped an optional enrollment.
    pub declined_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: joins are written where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
