//! Deliveries: created with their caps checked, claimed by one worker at a time, and
//! finished as `sent`, `dead` or `expired` with the sealed code wiped.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor, Event};
use crate::entity::delivery::{ActiveModel, Column, Entity, Model};
use crate::{Page, PageRequest, StoreError, page};

/// Waiting for a worker.
pub const QUEUED: &str = "queued";
/// Claimed by a worker, which holds it until `locked_until`.
pub const SENDING: &str = "sending";
/// Handed to the provider.
pub const SENT: &str = "sent";
/// The last attempt failed; another is due at `next_attempt_at`.
pub const FAILED: &str = "failed";
/// Given up: a permanent error, or the last attempt failed.
pub const DEAD: &str = "dead";
/// Its code expired before it could be sent.
pub const EXPIRED: &str = "expired";

/// Hourly send limits for one channel; over them nothing is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Messages to one destination per hour.
    pub per_destination: u64,
    /// Messages of the tenant per hour.
    pub per_tenant: u64,
}

impl From<twostep_core::caps::ChannelCaps> for Caps {
    fn from(caps: twostep_core::caps::ChannelCaps) -> Self {
        Self {
            per_destination: caps.per_destination.into(),
            per_tenant: caps.per_tenant.into(),
        }
    }
}

/// A delivery to create.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Its id, chosen by the caller so the secret can be sealed for it.
    pub id: Uuid,
    /// Owner.
    pub tenant_id: Uuid,
    /// `email` or `sms`.
    pub channel: &'static str,
    /// Address or E.164 number.
    pub destination: String,
    /// Which message to render, e.g. `otp_code`.
    pub template: &'static str,
    /// The code, sealed for `id`.
    pub secret: Vec<u8>,
    /// Which key sealed it.
    pub secret_key_id: String,
    /// When the code stops being valid (and the message pointless).
    pub expires_at: DateTime<Utc>,
}

/// The outcome of [`create`].
#[derive(Debug, Clone)]
pub enum Created {
    /// Stored, waiting to be queued.
    Queued(Box<Model>),
    /// A cap would be exceeded; nothing was stored.
    Capped {
        /// Seconds until the oldest counted message leaves the one-hour window.
        retry_after: u64,
    },
}

/// Stores a delivery unless the hourly caps for its channel are reached. The caps are
/// exact under concurrency on both backends.
pub async fn create(
    db: &DatabaseConnection,
    new: NewDelivery,
    caps: Caps,
) -> Result<Created, StoreError> {
    let txn = crate::write_txn(db).await?;
    let created = insert_capped(&txn, new, caps).await?;
    if matches!(created, Created::Queued(_)) {
        txn.commit().await?;
    }
    Ok(created)
}

/// [`create`] inside the caller's write transaction (which it does not commit).
pub async fn insert_capped(
    txn: &DatabaseTransaction,
    new: NewDelivery,
    caps: Caps,
) -> Result<Created, StoreError> {
    crate::lock_tenant(txn, new.tenant_id).await?;
    let now = crate::now();
    let window = now - Duration::hours(1);
    let recent = || {
        Entity::find()
            .filter(Column::TenantId.eq(new.tenant_id))
            .filter(Column::Channel.eq(new.channel))
            .filter(Column::CreatedAt.gt(window))
    };
    let to_destination = recent().filter(Column::Destination.eq(new.destination.as_str()));
    let over = if to_destination.clone().count(txn).await? >= caps.per_destination {
        Some(to_destination)
    } else if recent().count(txn).await? >= caps.per_tenant {
        Some(recent())
    } else {
        None
    };
    if let Some(counted) = over {
        let oldest = counted
            .order_by_asc(Column::CreatedAt)
            .limit(1)
            .one(txn)
            .await?;
        let free_at = oldest.map_or(now, |o| o.created_at + Duration::hours(1));
        let retry_after = Ord::max((free_at - now).num_seconds(), 1) as u64;
        return Ok(Created::Capped { retry_after });
    }
    let model = ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        channel: Set(new.channel.to_owned()),
        destination: Set(new.destination),
        template: Set(new.template.to_owned()),
        status: Set(QUEUED.to_owned()),
        attempts: Set(0),
        last_error: Set(None),
        provider_message_id: Set(None),
        secret: Set(Some(new.secret)),
        secret_key_id: Set(Some(new.secret_key_id)),
        expires_at: Set(new.expires_at),
        locked_until: Set(None),
        next_attempt_at: Set(None),
        enqueued_at: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(Created::Queued(Box::new(model)))
}

/// Records that jobs for these deliveries were pushed to the queue.
pub async fn mark_enqueued(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::EnqueuedAt, Expr::value(crate::now()))
        .filter(Column::Id.is_in(ids.to_vec()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Takes the delivery for one attempt, if no other worker holds it and it is due:
/// atomically moves it to `sending`, counts the attempt and leases it for `lease`.
/// `None` when it is missing, final, held by a live lease, or not yet due.
pub async fn claim(
    conn: &impl ConnectionTrait,
    id: Uuid,
    lease: Duration,
) -> Result<Option<Model>, StoreError> {
    let now = crate::now();
    let due = Condition::all()
        .add(Column::Status.is_in([QUEUED, FAILED]))
        .add(
            Condition::any()
                .add(Column::NextAttemptAt.is_null())
                .add(Column::NextAttemptAt.lte(now)),
        );
    let abandoned = Condition::all()
        .add(Column::Status.eq(SENDING))
        .add(Column::LockedUntil.lt(now));
    let claimed = Entity::update_many()
        .col_expr(Column::Status, Expr::value(SENDING))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::LockedUntil, Expr::value(now + lease))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Condition::any().add(due).add(abandoned))
        .exec(conn)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Ok(None);
    }
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// One delivery, whatever its tenant (for the worker).
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// Finishes a claimed delivery as sent; the code is wiped.
pub async fn mark_sent(
    conn: &impl ConnectionTrait,
    id: Uuid,
    provider_message_id: &str,
) -> Result<(), StoreError> {
    let now = crate::now();
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(SENT))
        .col_expr(Column::ProviderMessageId, Expr::value(provider_message_id))
        .col_expr(Column::Secret, Expr::value(None::<Vec<u8>>))
        .col_expr(Column::LockedUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(Column::LastError, Expr::value(None::<String>))
        .col_expr(Column::SentAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(SENDING))
        .exec(conn)
        .await?;
    Ok(())
}

/// Releases a claimed delivery after a failed attempt; the next is due at `next_attempt_at`.
pub async fn mark_failed(
    conn: &impl ConnectionTrait,
    id: Uuid,
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(FAILED))
        .col_expr(Column::LastError, Expr::value(error))
        .col_expr(Column::NextAttemptAt, Expr::value(next_attempt_at))
        .col_expr(Column::LockedUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(Column::UpdatedAt, Expr::value(crate::now()))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(SENDING))
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends a delivery as `dead` or `expired`: the code is wiped; a dead delivery is also
/// recorded in the tenant's audit log.
pub async fn finish(
    db: &DatabaseConnection,
    model: &Model,
    status: &'static str,
    error: &str,
) -> Result<(), StoreError> {
    let txn = crate::write_txn(db).await?;
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::LastError, Expr::value(error))
        .col_expr(Column::Secret, Expr::value(None::<Vec<u8>>))
        .col_expr(Column::LockedUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(Column::UpdatedAt, Expr::value(crate::now()))
        .filter(Column::Id.eq(model.id))
        .exec(&txn)
        .await?;
    if status == DEAD {
        let event = Event {
            tenant_id: Some(model.tenant_id),
            action: "delivery.dead",
            target_type: "delivery",
            target_id: twostep_core::DeliveryId::from_uuid(model.id).to_string(),
            user_id: None,
            details: json!({ "channel": model.channel, "attempts": model.attempts, "error": error }),
            actor: &Actor("worker".into()),
        };
        audit::record(&txn, event).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Deliveries that should have a job but may have lost it: never pushed, pushed long
/// ago and still not final, or held by a lease that ran out long ago.
pub async fn orphaned(
    conn: &impl ConnectionTrait,
    older_than: Duration,
    limit: u64,
) -> Result<Vec<Uuid>, StoreError> {
    let cutoff = crate::now() - older_than;
    let waiting = Condition::all()
        .add(Column::Status.is_in([QUEUED, FAILED]))
        .add(
            Condition::any()
                .add(
                    Condition::all()
                        .add(Column::EnqueuedAt.is_null())
                        .add(Column::CreatedAt.lt(cutoff)),
                )
                .add(Column::EnqueuedAt.lt(cutoff)),
        );
    let stuck = Condition::all()
        .add(Column::Status.eq(SENDING))
        .add(Column::LockedUntil.lt(cutoff));
    Ok(Entity::find()
        .filter(Condition::any().add(waiting).add(stuck))
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect())
}

/// The tenant's deliveries, newest first, optionally of one status.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    status: Option<&str>,
    req: PageRequest,
) -> Result<Page<Model>, StoreError> {
    let mut select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    if let Some(status) = status {
        select = select.filter(Column::Status.eq(status));
    }
    page::fetch(conn, select, Column::Id, |m| m.id, req).await
}

/// One delivery of the tenant.
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id)
        .filter(Column::TenantId.eq(tenant_id))
        .one(conn)
        .await?)
}

/// How many of the tenant's deliveries are in `status`.
pub async fn count(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    status: &str,
) -> Result<u64, StoreError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Status.eq(status))
        .count(conn)
        .await?)
}
