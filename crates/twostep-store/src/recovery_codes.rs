//! Recovery codes: one set per user, one row per code (argon2id digest, one salt per
//! set). A code is used by compare-and-set on `used_at`, so it works once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use twostep_core::recovery::StoredSet;
use uuid::Uuid;

use crate::StoreError;
use crate::entity::recovery_code::{ActiveModel, Column, Entity, Model};

/// Replaces the user's set (the old one is void) with `set`. Call inside a transaction.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn replace(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    set: &StoredSet,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    delete_all(conn, tenant_id, user_id).await?;
    let set_id = Uuid::now_v7();
    for (position, digest) in set.digests.iter().enumerate() {
        ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            user_id: Set(user_id),
            set_id: Set(set_id),
            position: Set(position as i32),
            salt: Set(set.salt.to_vec()),
            digest: Set(digest.to_vec()),
            used_at: Set(None),
            created_at: Set(now),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

/// The user's codes in the order shown, used ones included.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn for_user(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::UserId.eq(user_id))
        .order_by_asc(Column::Position)
        .all(conn)
        .await?)
}

/// Unused codes the user holds.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn remaining(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<u64, StoreError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::UsedAt.is_null())
        .count(conn)
        .await?)
}

/// Uses one code; `false` if it was used already (by a racing request, for one).
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn take(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::UsedAt.is_null())
        .exec(conn)
        .await?
        .rows_affected;
    Ok(done == 1)
}

/// Removes the user's set; how many codes it had.
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

/// The set as the core checks it: salt, digests and used flags.
pub fn as_stored(codes: &[Model]) -> Option<(StoredSet, Vec<bool>)> {
    let salt: [u8; 16] = codes.first()?.salt.clone().try_into().ok()?;
    let digests = codes
        .iter()
        .map(|c| c.digest.clone().try_into().ok())
        .collect::<Option<Vec<[u8; 32]>>>()?;
    let used = codes.iter().map(|c| c.used_at.is_some()).collect();
    Some((StoredSet { salt, digests }, used))
}
