//! What every handler shares.

use std::sync::Arc;

use twostep_core::clock::{Clock, TestClock};
use twostep_core::crypto::SecretBox;
use twostep_core::signing::ResultSigner;
use twostep_queue::Queue;
use twostep_store::DatabaseConnection;

/// Shared state of the HTTP surfaces: database, queue, clock and key material. No globals.
#[derive(Clone)]
pub struct AppState {
    /// The database (SQLite or PostgreSQL).
    pub db: DatabaseConnection,
    /// SHA-256 digest of the operator token.
    pub operator_token_digest: Arc<[u8]>,
    /// The delivery queue (email and SMS codes).
    pub queue: Queue,
    /// The service key: TOTP secrets and queued codes are sealed with it.
    pub secret_box: Arc<SecretBox>,
    /// The key that signs result tokens.
    pub signer: Arc<ResultSigner>,
    /// `iss` of result tokens.
    pub issuer: String,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Set only when the test clock is enabled: `POST /testing/clock` moves it.
    pub test_clock: Option<TestClock>,
}
