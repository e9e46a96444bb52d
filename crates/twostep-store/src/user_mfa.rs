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

/// Counts one failure; returns the consecutive failures now on record.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn record_failure(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u32, StoreError> {
    ensure(conn, tenant_id, user_id, now).await?;
    Entity::update_many()
        .col_expr(Column::Failures, Expr::col(Column::Failures).add(1))
        .col_expr(Column::LastFailureAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .exec(conn)
        .await?;
    Ok(get(conn, tenant_id, user_id)
        .await?
        .map_or(0, |m| Ord::max(m.failures, 0) as u32))
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
