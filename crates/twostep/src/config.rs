//! Configuration: defaults, then an optional TOML file, then `TWOSTEP_*` environment
//! variables and command-line flags (clap reads both; flags win).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The embedded default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://twostep.db?mode=rwc";
/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (default).
    Json,
    /// Human-readable lines, for development.
    Pretty,
}

/// Settings given on the command line or in the environment. Every field is optional so
/// that an unset one falls through to the TOML file, then to the default.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct SettingsArgs {
    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`
    /// [default: sqlite://twostep.db?mode=rwc]
    #[arg(long, env = "TWOSTEP_DATABASE_URL", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,

    /// Address and port the HTTP server binds [default: 127.0.0.1:8080]
    #[arg(long, env = "TWOSTEP_LISTEN", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,

    /// Operator token for `/admin/v1/plans` and `/admin/v1/tenants`. When unset, one is
    /// generated at first start, printed once, and only its SHA-256 digest is stored.
    #[arg(
        long,
        env = "TWOSTEP_OPERATOR_TOKEN",
        global = true,
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_token: Option<String>,

    /// Log format [default: json]
    #[arg(long, env = "TWOSTEP_LOG_FORMAT", global = true, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,

    /// Log filter in tracing's EnvFilter syntax, e.g. `info,twostep=debug` [default: info]
    #[arg(long, env = "TWOSTEP_LOG", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,

    /// Directory for files the service keeps itself (the generated secret key on the
    /// embedded default) [default: .]
    #[arg(long, env = "TWOSTEP_DATA_DIR", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,

    /// Service key sealing codes and secrets at rest: 32 bytes, base64. Required with
    /// PostgreSQL (every process must share it); on SQLite generated once into the data
    /// directory when unset.
    #[arg(
        long,
        env = "TWOSTEP_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,

    /// Key signing result tokens (EdDSA): a 32-byte Ed25519 seed, base64. Required with
    /// PostgreSQL (every process must share it); on SQLite generated once into the data
    /// directory when unset. Its public half is served at /auth/v1/.well-known/jwks.json.
    #[arg(
        long,
        env = "TWOSTEP_SIGNING_KEY",
        global = true,
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,

    /// `iss` claim of result tokens, e.g. the service's public URL [default: twostep]
    #[arg(long, env = "TWOSTEP_ISSUER", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,

    /// TESTS ONLY: run on a clock that stands still and is moved by `POST /testing/clock`
    /// (unauthenticated). Never set this in production [default: false]
    #[arg(long, env = "TWOSTEP_TEST_CLOCK", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_clock: Option<bool>,

    /// Email sender: `outbox` (stored, readable at /admin/v1/outbox), `console` (the log;
    /// development only) or `ses` (AWS SES v2) [default: outbox]
    #[arg(long, env = "TWOSTEP_EMAIL_SENDER", global = true, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_sender: Option<EmailSenderKind>,

    /// SMS sender: `outbox`, `console` or `sns` (AWS SNS) [default: outbox]
    #[arg(long, env = "TWOSTEP_SMS_SENDER", global = true, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_sender: Option<SmsSenderKind>,

    /// From address of email sent through SES (a verified identity), e.g.
    /// `Acme <no-reply@example.com>`
    #[arg(long, env = "TWOSTEP_EMAIL_FROM", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_from: Option<String>,

    /// SES configuration set to tag email with (event publishing), if any
    #[arg(long, env = "TWOSTEP_SES_CONFIGURATION_SET", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ses_configuration_set: Option<String>,

    /// Alphanumeric sender id for SMS through SNS, where the destination country allows it
    #[arg(long, env = "TWOSTEP_SNS_SENDER_ID", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sns_sender_id: Option<String>,

    /// Deliveries a worker sends at once [default: 4]
    #[arg(long, env = "TWOSTEP_WORKER_CONCURRENCY", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_concurrency: Option<usize>,

    /// Attempts per delivery before it is dead [default: 5]
    #[arg(long, env = "TWOSTEP_DELIVERY_MAX_ATTEMPTS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_max_attempts: Option<i32>,

    /// Delay before the second attempt, in milliseconds; doubles per attempt, with jitter,
    /// up to 5 minutes [default: 2000]
    #[arg(long, env = "TWOSTEP_DELIVERY_RETRY_BASE_MS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_retry_base_ms: Option<u64>,

    /// Seconds one attempt holds a delivery; a worker that dies mid-send loses it to
    /// another after this [default: 60]
    #[arg(long, env = "TWOSTEP_DELIVERY_LEASE_SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_lease_seconds: Option<u64>,

    /// Seconds between sweeps for deliveries whose job was lost [default: 30]
    #[arg(long, env = "TWOSTEP_SWEEP_INTERVAL_SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep_interval_seconds: Option<u64>,

    /// Age in seconds after which an unfinished delivery counts as having lost its job
    /// [default: 600]
    #[arg(long, env = "TWOSTEP_ORPHAN_AFTER_SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orphan_after_seconds: Option<u64>,
}

/// Where email goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EmailSenderKind {
    /// The outbox table.
    Outbox,
    /// The log (development only: codes appear in it).
    Console,
    /// AWS SES v2.
    Ses,
}

/// Where SMS go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SmsSenderKind {
    /// The outbox table.
    Outbox,
    /// The log (development only: codes appear in it).
    Console,
    /// AWS SNS.
    Sns,
}

/// The resolved configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// See [`SettingsArgs::database_url`].
    pub database_url: String,
    /// See [`SettingsArgs::listen`].
    pub listen: String,
    /// See [`SettingsArgs::operator_token`].
    #[serde(default)]
    pub operator_token: Option<String>,
    /// See [`SettingsArgs::log_format`].
    pub log_format: LogFormat,
    /// See [`SettingsArgs::log`].
    pub log: String,
    /// See [`SettingsArgs::data_dir`].
    pub data_dir: PathBuf,
    /// See [`SettingsArgs::secret_key`].
    #[serde(default)]
    pub secret_key: Option<String>,
    /// See [`SettingsArgs::signing_key`].
    #[serde(default)]
    pub signing_key: Option<String>,
    /// See [`SettingsArgs::issuer`].
    pub issuer: String,
    /// See [`SettingsArgs::test_clock`].
    pub test_clock: bool,
    /// See [`SettingsArgs::email_sender`].
    pub email_sender: EmailSenderKind,
    /// See [`SettingsArgs::sms_sender`].
    pub sms_sender: SmsSenderKind,
    /// See [`SettingsArgs::email_from`].
    #[serde(default)]
    pub email_from: Option<String>,
    /// See [`SettingsArgs::ses_configuration_set`].
    #[serde(default)]
    pub ses_configuration_set: Option<String>,
    /// See [`SettingsArgs::sns_sender_id`].
    #[serde(default)]
    pub sns_sender_id: Option<String>,
    /// See [`SettingsArgs::worker_concurrency`].
    pub worker_concurrency: usize,
    /// See [`SettingsArgs::delivery_max_attempts`].
    pub delivery_max_attempts: i32,
    /// See [`SettingsArgs::delivery_retry_base_ms`].
    pub delivery_retry_base_ms: u64,
    /// See [`SettingsArgs::delivery_lease_seconds`].
    pub delivery_lease_seconds: u64,
    /// See [`SettingsArgs::sweep_interval_seconds`].
    pub sweep_interval_seconds: u64,
    /// See [`SettingsArgs::orphan_after_seconds`].
    pub orphan_after_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            listen: DEFAULT_LISTEN.to_owned(),
            operator_token: None,
            log_format: LogFormat::Json,
            log: "info".to_owned(),
            data_dir: PathBuf::from("."),
            secret_key: None,
            signing_key: None,
            issuer: "twostep".to_owned(),
            test_clock: false,
            email_sender: EmailSenderKind::Outbox,
            sms_sender: SmsSenderKind::Outbox,
            email_from: None,
            ses_configuration_set: None,
            sns_sender_id: None,
            worker_concurrency: 4,
            delivery_max_attempts: 5,
            delivery_retry_base_ms: 2000,
            delivery_lease_seconds: 60,
            sweep_interval_seconds: 30,
            orphan_after_seconds: 600,
        }
    }
}

impl Config {
    /// Defaults, then `file` (if given), then flags and environment.
    pub fn load(file: Option<&PathBuf>, args: &SettingsArgs) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        Ok(figment.merge(Serialized::defaults(args)).extract()?)
    }

    /// Whether the database is the embedded SQLite kind.
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twostep.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nlog = \"debug\"\n").unwrap();
        let args = SettingsArgs {
            log: Some("warn".into()),
            ..SettingsArgs::default()
        };
        let config = Config::load(Some(&path), &args).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.log, "warn");
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twostep.toml");
        std::fs::write(&path, "listn = \"x\"\n").unwrap();
        assert!(Config::load(Some(&path), &SettingsArgs::default()).is_err());
    }
}
