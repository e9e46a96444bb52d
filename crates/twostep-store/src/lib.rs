//! twostep storage: sea-orm entities and one repository module per aggregate, over SQLite
//! (embedded default) and PostgreSQL. Every tenant-owned query is scoped by tenant id.

pub mod api_keys;
pub mod audit;
pub mod challenges;
pub mod deliveries;
pub mod entity;
mod error;
pub mod factors;
pub mod flows;
pub mod memberships;
pub mod orgs;
pub mod outbox;
mod page;
pub mod plans;
pub mod policies;
pub mod recovery_codes;
pub mod secrets;
pub mod tenants;
pub mod user_mfa;
pub mod users;

pub use error::StoreError;
pub use page::{Page, PageRequest};
pub use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend};
use std::time::Duration;

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`). SQLite files are
/// switched to WAL so readers do not wait for the writer.
pub async fn connect(url: &str) -> Result<DatabaseConnection, StoreError> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One writer at a time is SQLite's rule; a small pool avoids lock thrash.
        options.max_connections(8).min_connections(1);
    } else {
        options.max_connections(20);
    }
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), StoreError> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// Whether the database answers and every migration has been applied.
pub async fn is_ready(db: &DatabaseConnection) -> Result<bool, StoreError> {
    db.ping().await?;
    Ok(Migrator::get_pending_migrations(db).await?.is_empty())
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes can fail with
/// "database is locked" when another writer got there first, instead of waiting.
pub async fn write_txn(
    db: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, StoreError> {
    let options = sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    Ok(sea_orm::TransactionTrait::begin_with_options(db, options).await?)
}

/// Serialises a tenant's writers that count before they insert (caps, send limits,
/// `max_orgs`) until the transaction ends. SQLite's write transaction already does;
/// PostgreSQL's READ COMMITTED would let racing writers each count below a limit and all
/// insert, so they queue on an advisory lock per tenant there.
pub async fn lock_tenant(
    txn: &DatabaseTransaction,
    tenant_id: uuid::Uuid,
) -> Result<(), StoreError> {
    if txn.get_database_backend() == DbBackend::Postgres {
        let key = i64::from_be_bytes(tenant_id.as_bytes()[..8].try_into().unwrap_or_default());
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({key})"))
            .await?;
    }
    Ok(())
}

/// The time every write stamps; UTC, to the microsecond both backends keep.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DurationRound::duration_trunc(now, chrono::Duration::microseconds(1)).unwrap_or(now)
}

#[cfg(test)]
mod tests;
