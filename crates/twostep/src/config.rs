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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            listen: DEFAULT_LISTEN.to_owned(),
            operator_token: None,
            log_format: LogFormat::Json,
            log: "info".to_owned(),
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
