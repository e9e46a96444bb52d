//! The delivery queue. A job carries only a delivery id; the delivery row (with the sealed
//! code) is the truth. The job store is apalis's SQL storage on the same database as the
//! data: SQLite on the embedded default, PostgreSQL in production.
//!
//! The row commits first, then the job is pushed and the row marked as enqueued. A crash
//! between the two leaves a row without a job, which the worker's sweep finds and queues
//! again; a job whose row is gone is dropped by the worker. Nothing is lost either way.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use sea_orm::{DatabaseConnection, DbBackend};
use serde::{Deserialize, Serialize};
use twostep_core::crypto::SecretBox;
use twostep_store::StoreError;
use twostep_store::deliveries::{self, Caps, Created, NewDelivery};
use uuid::Uuid;

/// The queue's name in apalis's job table, the same for every process.
pub const QUEUE_NAME: &str = "twostep.delivery";

/// The one job type: send this delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryJob {
    /// The delivery to send.
    pub delivery_id: Uuid,
}

/// A queue failure.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The job store refused.
    #[error("job store: {0}")]
    Jobs(String),
    /// The data store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The job store, on whichever database the data lives in.
#[derive(Clone)]
pub enum Queue {
    /// apalis on SQLite.
    Sqlite(SqliteStorage<DeliveryJob>),
    /// apalis on PostgreSQL.
    Postgres(PostgresStorage<DeliveryJob>),
}

impl Queue {
    /// Prepares apalis's tables on `db` (idempotent) and opens the queue.
    pub async fn setup(db: &DatabaseConnection) -> Result<Self, QueueError> {
        let jobs = |e: &dyn std::fmt::Display| QueueError::Jobs(e.to_string());
        match db.get_database_backend() {
            DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                PostgresStorage::setup(pool).await.map_err(|e| jobs(&e))?;
                let config = apalis_postgres::Config::default().queue(QUEUE_NAME);
                Ok(Self::Postgres(
                    PostgresStorage::new(pool).with_config(config),
                ))
            }
            _ => {
                let pool = db.get_sqlite_connection_pool();
                SqliteStorage::setup(pool).await.map_err(|e| jobs(&e))?;
                let config = apalis_sqlite::Config::default().queue(QUEUE_NAME);
                Ok(Self::Sqlite(SqliteStorage::new(pool).with_config(config)))
            }
        }
    }

    /// Pushes a job for `delivery_id`, to run after `delay` if given.
    pub async fn push(&self, delivery_id: Uuid, delay: Option<Duration>) -> Result<(), QueueError> {
        let mut task = TaskBuilder::new(DeliveryJob { delivery_id });
        if let Some(delay) = delay {
            task = task.run_after(delay);
        }
        let task = task.build();
        let result = match self {
            Self::Sqlite(storage) => storage
                .clone()
                .push_task(task)
                .await
                .map_err(|e| e.to_string()),
            Self::Postgres(storage) => storage
                .clone()
                .push_task(task)
                .await
                .map_err(|e| e.to_string()),
        };
        result.map_err(QueueError::Jobs)
    }
}

/// A message to queue: the code travels sealed, never in plaintext.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The tenant sending.
    pub tenant_id: Uuid,
    /// `email` or `sms`.
    pub channel: &'static str,
    /// Address or E.164 number.
    pub destination: String,
    /// The code to deliver.
    pub code: String,
    /// When the code expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// What [`enqueue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored and queued.
    Queued(Uuid),
    /// Over a cap: nothing stored, no provider will be called.
    Capped {
        /// Seconds until a message may be sent again.
        retry_after: u64,
    },
}

/// The delivery row for `message`, its code sealed for the row's id.
pub fn seal(secret_box: &SecretBox, message: Outgoing) -> NewDelivery {
    let id = Uuid::now_v7();
    NewDelivery {
        id,
        tenant_id: message.tenant_id,
        channel: message.channel,
        destination: message.destination,
        template: "otp_code",
        secret: secret_box.seal(message.code.as_bytes(), id.as_bytes()),
        secret_key_id: secret_box.key_id().to_owned(),
        expires_at: message.expires_at,
    }
}

/// Queues the job of a stored delivery. Should the push fail, the row stays unqueued and
/// the worker's sweep queues it: nothing is lost.
pub async fn push_stored(
    db: &DatabaseConnection,
    queue: &Queue,
    id: Uuid,
) -> Result<(), QueueError> {
    match queue.push(id, None).await {
        Ok(()) => deliveries::mark_enqueued(db, &[id]).await?,
        Err(err) => tracing::warn!(error = %err, "job push failed; the sweep will queue it"),
    }
    Ok(())
}

/// Stores a delivery (caps checked first) and queues its job.
pub async fn enqueue(
    db: &DatabaseConnection,
    queue: &Queue,
    secret_box: &SecretBox,
    message: Outgoing,
    caps: Caps,
) -> Result<Enqueued, QueueError> {
    let new = seal(secret_box, message);
    let id = new.id;
    match deliveries::create(db, new, caps).await? {
        Created::Capped { retry_after } => Ok(Enqueued::Capped { retry_after }),
        Created::Queued(_) => {
            push_stored(db, queue, id).await?;
            Ok(Enqueued::Queued(id))
        }
    }
}
