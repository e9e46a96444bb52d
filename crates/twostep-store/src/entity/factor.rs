//! The `factor` table.

use sea_orm::entity::prelude::*;

/// One row of `factor`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "factor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub flow_id: Option<Uuid>,
    pub factor_type: String,
    pub status: String,
    /// Email address or E.164 number for `email`/`sms`.
    pub destination: Option<String>,
    /// The TOTP secret, sealed under the service key (AAD: the factor id).
    pub secret: Option<Vec<u8>>,
    pub secret_key_id: Option<String>,
    /// The newest TOTP step accepted; only a newer one is accepted next.
    pub last_used_step: Option<i64>,
    pub last_used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: joins are written where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
