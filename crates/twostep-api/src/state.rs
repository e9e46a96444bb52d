//! What every handler shares.

use std::sync::Arc;

use twostep_store::DatabaseConnection;

/// Shared state of the HTTP surfaces: database and credentials. No globals.
#[derive(Clone)]
pub struct AppState {
    /// The database (SQLite or PostgreSQL).
    pub db: DatabaseConnection,
    /// SHA-256 digest of the operator token.
    pub operator_token_digest: Arc<[u8]>,
}
