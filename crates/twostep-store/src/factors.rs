//! Enrolled second factors. A TOTP step is taken by compare-and-set on `last_used_step`,
//! so each step is accepted at most once per factor, whatever races.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::factor::{ActiveModel, Column, Entity, Model};

/// Enrolled, its first code not yet verified.
pub const PENDING: &str = "pending";
/// Verified; usable for sign-in.
pub const ACTIVE: &str = "active";

/// A factor to create (always pending).
#[derive(Debug, Clone)]
pub struct NewFactor {
    /// Its id, chosen by the caller so a secret can be sealed for it.
    pub id: Uuid,
    /// Owner.
    pub tenant_id: Uuid,
    /// Whose factor.
    pub user_id: Uuid,
    /// The enrolling flow.
    pub flow_id: Uuid,
    /// `totp`, `email` or `sms`.
    pub factor_type: &'static str,
    /// Address or number for `email`/`sms`.
    pub destination: Option<String>,
    /// Sealed TOTP secret and its key id.
    pub secret: Option<(Vec<u8>, String)>,
}

/// Stores a pending factor.
#[tracing::instrument(skip_all, err)]
pub async fn create(
    conn: &impl ConnectionTrait,
    new: NewFactor,
    now: DateTime<Utc>,
) -> Result<Model, StoreError> {
    let (secret, key_id) = new.secret.unzip();
    Ok(ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        user_id: Set(new.user_id),
        flow_id: Set(Some(new.flow_id)),
        factor_type: Set(new.factor_type.to_owned()),
        status: Set(PENDING.to_owned()),
        destination: Set(new.destination),
        secret: Set(secret),
        secret_key_id: Set(key_id),
        last_used_step: Set(None),
        last_used_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?)
}

/// One factor of one of the tenant's users.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id)
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::UserId.eq(user_id))
        .one(conn)
        .await?)
}

/// A user's factors, newest first.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn for_user(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::Id)
        .all(conn)
        .await?)
}

/// Takes TOTP `step` for the factor if it is newer than the last one taken; `false` when
/// it was already used (a replay) or an older step.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn take_step(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    step: u64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let taken = Entity::update_many()
        .col_expr(Column::LastUsedStep, Expr::value(step))
        .col_expr(Column::LastUsedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(
            Condition::any()
                .add(Column::LastUsedStep.is_null())
                .add(Column::LastUsedStep.lt(step)),
        )
        .exec(conn)
        .await?
        .rows_affected;
    Ok(taken == 1)
}

/// Records a successful use (email/SMS factors).
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn touch(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::LastUsedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::TenantId.eq(tenant_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Activates a pending factor; `false` if it was not pending.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn activate(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = Entity::update_many()
        .col_expr(Column::Status, Expr::value(ACTIVE))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Status.eq(PENDING))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(done == 1)
}

/// Removes one factor of a user; `false` if there was none.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn delete(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    id: Uuid,
) -> Result<bool, StoreError> {
    let gone = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::UserId.eq(user_id))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(gone == 1)
}

/// Removes every factor of a user; how many there were.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn delete_all(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<u64, StoreError> {
    Ok(Entity::delete_many()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::UserId.eq(user_id))
        .exec(conn)
        .await?
        .rows_affected)
}
