//! The one migration chain of twostep. Every migration runs on SQLite and PostgreSQL;
//! nothing here branches on the backend.

pub use sea_orm_migration::prelude::*;

mod m20261204_000001_foundation;
mod m20261204_000002_outbox;
mod m20261204_000003_delivery;
mod m20261204_000004_tenant_caps;
mod m20261204_000005_auth;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_000001_foundation::Migration),
            Box::new(m20261204_000002_outbox::Migration),
            Box::new(m20261204_000003_delivery::Migration),
            Box::new(m20261204_000004_tenant_caps::Migration),
            Box::new(m20261204_000005_auth::Migration),
        ]
    }
}
