//! Wiring: logging, database, operator credential, HTTP server, graceful shutdown.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use twostep_api::{AppState, Surfaces};
use twostep_core::secret::{OPERATOR_TOKEN_PREFIX, new_token, token_digest};
use twostep_store::{DatabaseConnection, secrets};

use crate::config::{Config, LogFormat};

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

async fn open(config: &Config, migrate: bool) -> anyhow::Result<DatabaseConnection> {
    let db = twostep_store::connect(&config.database_url)
        .await
        .context("cannot open the database")?;
    if migrate {
        twostep_store::migrate(&db)
            .await
            .context("migrations failed")?;
        tracing::info!("migrations applied");
    }
    Ok(db)
}

/// The operator token's digest: from the configuration, or generated once, printed once
/// and stored as a digest only.
async fn operator_digest(db: &DatabaseConnection, config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(token) = &config.operator_token {
        anyhow::ensure!(
            token.len() >= 16,
            "TWOSTEP_OPERATOR_TOKEN must be at least 16 characters"
        );
        return Ok(token_digest(token));
    }
    if let Some(digest) = secrets::get(db, secrets::OPERATOR_TOKEN_DIGEST).await? {
        return Ok(digest);
    }
    let token = new_token(OPERATOR_TOKEN_PREFIX);
    let (digest, inserted) =
        secrets::get_or_insert(db, secrets::OPERATOR_TOKEN_DIGEST, token_digest(&token)).await?;
    if inserted {
        // Deliberately not through tracing: the token must not end up in log storage
        // with the structured logs; it is shown to the person starting the service.
        println!(
            "twostep: generated operator token (shown once, only its digest is kept): {token}"
        );
    }
    Ok(digest)
}

/// `twostep serve`.
pub async fn serve(config: Config, surfaces: Surfaces, migrate: bool) -> anyhow::Result<()> {
    init_logging(&config);
    let db = open(&config, migrate || config.is_sqlite()).await?;
    let operator_token_digest: Arc<[u8]> = operator_digest(&db, &config).await?.into();
    let state = AppState {
        db: db.clone(),
        operator_token_digest,
    };
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(addr = %addr, "listening");
    axum::serve(listener, twostep_api::app(state, surfaces))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server error")?;
    db.close().await.ok();
    tracing::info!("stopped");
    Ok(())
}

/// `twostep migrate`.
pub async fn migrate(config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    open(&config, true).await?.close().await.ok();
    Ok(())
}

/// `twostep openapi`.
pub fn write_openapi(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (name, doc) in [
        ("admin.json", twostep_api::admin_openapi()),
        ("auth.json", twostep_api::auth_openapi()),
    ] {
        let path = out.join(name);
        let mut text = doc
            .to_pretty_json()
            .context("cannot render the OpenAPI document")?;
        text.push('\n');
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
