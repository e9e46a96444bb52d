//! Email/SMS challenges: one code each, stored as a keyed hash. A code is consumed by
//! compare-and-set (open, in time, attempts left), so it is accepted at most once.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::StoreError;
use crate::deliveries::{self, Caps, Created, NewDelivery};
use crate::entity::challenge::{ActiveModel, Column, Entity, Model};

/// Waiting for its code.
pub const OPEN: &str = "open";
/// Its code was accepted.
pub const USED: &str = "used";
/// Replaced by a newer challenge for the same factor.
pub const VOID: &str = "void";

/// A challenge to create.
#[derive(Debug, Clone)]
pub struct NewChallenge {
    /// Its id (the code's digest is bound to it).
    pub id: Uuid,
    /// Owner.
    pub tenant_id: Uuid,
    /// The user challenged.
    pub user_id: Uuid,
    /// The flow it belongs to.
    pub flow_id: Uuid,
    /// The factor whose channel carries the code.
    pub factor_id: Uuid,
    /// HMAC-SHA-256 of the code.
    pub code_digest: Vec<u8>,
    /// Wrong guesses allowed.
    pub max_attempts: i32,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
}

/// Limits on sending codes, checked with the tenant's senders serialised.
#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    /// Time between two codes for one factor.
    pub cooldown: Duration,
    /// Codes per user per hour.
    pub per_user_hour: usize,
}

/// What [`create_with_delivery`] did.
#[derive(Debug, Clone)]
pub enum Sent {
    /// The challenge and its delivery are stored; the delivery still needs its job.
    Created(Box<Model>),
    /// A cooldown, the per-user limit or a cap: nothing was stored.
    Limited {
        /// Seconds until a code may be sent.
        retry_after: u64,
    },
}

fn seconds_until(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = Ord::max((at - now).num_milliseconds(), 1000);
    ((millis + 999) / 1000) as u64
}

/// Stores a challenge with the delivery carrying its code, in one transaction, unless the
/// factor's resend cooldown, the user's hourly limit or the tenant's caps forbid it; the
/// factor's earlier open code is void. The tenant's senders are serialised meanwhile, so
/// the limits hold under concurrency.
#[tracing::instrument(skip_all, fields(tenant_id = %new.tenant_id), err)]
pub async fn create_with_delivery(
    db: &DatabaseConnection,
    new: NewChallenge,
    delivery: NewDelivery,
    caps: Caps,
    limits: SendLimits,
    now: DateTime<Utc>,
) -> Result<Sent, StoreError> {
    let txn = crate::write_txn(db).await?;
    crate::lock_tenant(&txn, new.tenant_id).await?;
    if let Some(last) = latest(&txn, new.tenant_id, new.factor_id).await? {
        let free_at = last.created_at + limits.cooldown;
        if free_at > now {
            return Ok(Sent::Limited {
                retry_after: seconds_until(free_at, now),
            });
        }
    }
    let recent = recent(&txn, new.tenant_id, new.user_id, now - Duration::hours(1)).await?;
    if recent.len() >= limits.per_user_hour {
        let oldest = recent.iter().min().copied().unwrap_or(now);
        return Ok(Sent::Limited {
            retry_after: seconds_until(oldest + Duration::hours(1), now),
        });
    }
    let delivery_id = delivery.id;
    if let Created::Capped { retry_after } = deliveries::insert_capped(&txn, delivery, caps).await?
    {
        return Ok(Sent::Limited { retry_after });
    }
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(VOID))
        .filter(Column::TenantId.eq(new.tenant_id))
        .filter(Column::FactorId.eq(new.factor_id))
        .filter(Column::Status.eq(OPEN))
        .exec(&txn)
        .await?;
    let model = ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        user_id: Set(new.user_id),
        flow_id: Set(new.flow_id),
        factor_id: Set(new.factor_id),
        code_digest: Set(new.code_digest),
        attempts: Set(0),
        max_attempts: Set(new.max_attempts),
        status: Set(OPEN.to_owned()),
        delivery_id: Set(Some(delivery_id)),
        expires_at: Set(new.expires_at),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Sent::Created(Box::new(model)))
}

/// The newest challenge of a factor, whatever its status (for the resend cooldown).
async fn latest(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    factor_id: Uuid,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::FactorId.eq(factor_id))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .one(conn)
        .await?)
}

/// The open challenge of a factor in a flow.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id), err)]
pub async fn open_for(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    flow_id: Uuid,
    factor_id: Uuid,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::FlowId.eq(flow_id))
        .filter(Column::FactorId.eq(factor_id))
        .filter(Column::Status.eq(OPEN))
        .order_by_desc(Column::Id)
        .one(conn)
        .await?)
}

/// When each challenge sent to a user since `since` was made (the per-user hourly limit).
async fn recent(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::CreatedAt.gt(since))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| c.created_at)
        .collect())
}

/// Consumes the challenge if it is open, in time and has attempts left; `false` if any
/// of that no longer holds (another request consumed it first, among others).
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn consume(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = Entity::update_many()
        .col_expr(Column::Status, Expr::value(USED))
        .filter(Column::Id.eq(id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Status.eq(OPEN))
        .filter(Column::ExpiresAt.gt(now))
        .filter(Expr::col(Column::Attempts).lt(Expr::col(Column::MaxAttempts)))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(done == 1)
}

/// Counts a wrong guess; returns the attempts left on the challenge.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn fail(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<u32, StoreError> {
    Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.eq(id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Status.eq(OPEN))
        .filter(Expr::col(Column::Attempts).lt(Expr::col(Column::MaxAttempts)))
        .exec(conn)
        .await?;
    let left = Entity::find_by_id(id)
        .filter(Column::TenantId.eq(tenant_id))
        .one(conn)
        .await?
        .map_or(0, |c| Ord::max(c.max_attempts - c.attempts, 0));
    Ok(left as u32)
}
