//! `twostep`: the multi-tenant MFA service. This file only parses the command line and
//! hands over to the wiring in `app`.

mod app;
mod config;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Config, SettingsArgs};

/// twostep: multi-factor authentication as a service.
///
/// Every option can also be given as a TWOSTEP_* environment variable or as a key of the
/// TOML file named by --config (flags win over the environment, which wins over the file).
#[derive(Debug, Parser)]
#[command(name = "twostep", version, about, long_about)]
struct Cli {
    /// TOML configuration file; its keys are the option names with `_` for `-`
    /// (e.g. `database_url = "postgres://…"`).
    #[arg(long, env = "TWOSTEP_CONFIG", global = true)]
    config: Option<PathBuf>,

    #[command(flatten)]
    settings: SettingsArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the admin and auth APIs, docs and health endpoints.
    Serve {
        /// Serve only one of the APIs.
        #[arg(long, value_enum)]
        only: Option<Only>,
        /// Apply pending migrations before serving (always done on SQLite).
        #[arg(long)]
        migrate: bool,
        /// Do not run the delivery worker in this process (run `twostep worker` instead).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the delivery worker: send queued email and SMS until stopped.
    Worker {
        /// Deliveries sent at once (overrides TWOSTEP_WORKER_CONCURRENCY).
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// Apply the schema migrations and exit.
    Migrate,
    /// Write the OpenAPI documents (admin.json, auth.json) and exit.
    Openapi {
        /// Directory to write into.
        #[arg(long, default_value = "openapi")]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Only {
    /// Only `/admin/v1`.
    Admin,
    /// Only `/auth/v1`.
    Auth,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_ref(), &cli.settings) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("twostep: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("twostep: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve {
                only,
                migrate,
                no_worker,
            } => {
                let surfaces = match only {
                    None => twostep_api::Surfaces::All,
                    Some(Only::Admin) => twostep_api::Surfaces::Admin,
                    Some(Only::Auth) => twostep_api::Surfaces::Auth,
                };
                app::serve(config, surfaces, migrate, !no_worker).await
            }
            Command::Worker { concurrency } => app::work(config, concurrency).await,
            Command::Migrate => app::migrate(config).await,
            Command::Openapi { out } => app::write_openapi(&out),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "twostep stopped");
            eprintln!("twostep: {err:#}");
            ExitCode::FAILURE
        }
    }
}
