//! A user's MFA standing: consecutive failures (across flows and challenges) and whether
//! they declined optional MFA. Counting is an atomic increment in the database.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::user_mfa::{ActiveModel, Column, Entity, Model};

/// The user's row, if any (none means no failures, never declined).
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(user_id)
        .filter(Column::TenantId.eq(tenant_id))
        .one(conn)
        .await?)
}

async fn ensure(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::insert(ActiveModel {
        user_id: Set(user_id),
        tenant_id: Set(tenant_id),
        failures: Set(0),
        last_failure_at: Set(None),
        declined_at: Set(None),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([Column::UserId])
    .exec(conn)
    .await?;
    Ok(())
}

/// Takes the user's next attempt: counts it as a failure in advance, by compare-and-set
/// on the count `seen` when the gate was checked. `false` when another attempt of the
/// user took that count first (attempts of one user are decided one at a time, so
/// parallel guesses cannot outrun the throttle). A success clears the count; an attempt
/// that turns out not to be a guess is given back with [`refund_attempt`].
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn reserve_attempt(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    seen: u32,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    ensure(conn, tenant_id, user_id, now).await?;
    let seen = i32::try_from(seen).unwrap_or(i32::MAX);
    let taken = Entity::update_many()
        .col_expr(Column::Failures, Expr::col(Column::Failures).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Failures.eq(seen))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(taken == 1)
}

/// Gives back an attempt taken with [`reserve_attempt`] that was not a guess (an expired
/// or replaced code); `counted` is the count the attempt took.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn refund_attempt(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    counted: u32,
) -> Result<(), StoreError> {
    let counted = i32::try_from(counted).unwrap_or(i32::MAX);
    Entity::update_many()
        .col_expr(Column::Failures, Expr::col(Column::Failures).sub(1))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Failures.eq(counted))
        .exec(conn)
        .await?;
    Ok(())
}

/// Stamps the time of a confirmed failure (the waits count from it).
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn failed_at(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::LastFailureAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// A success: the consecutive count starts again.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn clear_failures(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::Failures, Expr::value(0))
        .col_expr(
            Column::LastFailureAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Failures.ne(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records that the user skipped optional MFA.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn decline(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    ensure(conn, tenant_id, user_id, now).await?;
    Entity::update_many()
        .col_expr(Column::DeclinedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// An admin reset: failures and the decline are forgotten.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn reset(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<(), StoreError> {
    Entity::delete_many()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .exec(conn)
        .await?;
    Ok(())
}
