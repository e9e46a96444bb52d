//! Wiring: logging, database, operator credential, service key, senders, HTTP server,
//! delivery worker, graceful shutdown.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use twostep_api::{AppState, Surfaces};
use twostep_core::clock::{Clock, SystemClock, TestClock};
use twostep_core::crypto::SecretBox;
use twostep_core::secret::{OPERATOR_TOKEN_PREFIX, new_token, token_digest};
use twostep_core::signing::ResultSigner;
use twostep_delivery::{
    ConsoleSender, EmailSender, OutboxSender, SesSender, SmsSender, SnsSender, aws_config_from_env,
};
use twostep_queue::Queue;
use twostep_store::{DatabaseConnection, secrets};
use twostep_worker::{RetryPolicy, Worker};

use crate::config::{Config, EmailSenderKind, LogFormat, SmsSenderKind};

/// Name of the generated service key file in the data directory.
const SECRET_KEY_FILE: &str = "twostep-secret.key";
/// Name of the generated result-token signing key file in the data directory.
const SIGNING_KEY_FILE: &str = "twostep-signing.key";

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

/// A key from the configuration, or on SQLite one generated once into `file` in the data
/// directory (0600); with PostgreSQL every process must share it, so it must be configured.
fn key_text(
    config: &Config,
    configured: Option<&String>,
    setting: &str,
    file: &str,
    generate: fn() -> String,
) -> anyhow::Result<String> {
    if let Some(key) = configured {
        return Ok(key.clone());
    }
    anyhow::ensure!(
        config.is_sqlite(),
        "{setting} is required with PostgreSQL: every process must use the same key"
    );
    let path = config.data_dir.join(file);
    if !path.exists() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, generate().as_bytes())?;
                tracing::info!(path = %path.display(), "generated a key");
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// The service key sealing codes and secrets.
fn secret_box(config: &Config) -> anyhow::Result<SecretBox> {
    let text = key_text(
        config,
        config.secret_key.as_ref(),
        "TWOSTEP_SECRET_KEY",
        SECRET_KEY_FILE,
        SecretBox::generate_base64,
    )?;
    SecretBox::from_base64(&text).context("the service key (TWOSTEP_SECRET_KEY) is not valid")
}

/// The key signing result tokens.
fn signer(config: &Config) -> anyhow::Result<ResultSigner> {
    let text = key_text(
        config,
        config.signing_key.as_ref(),
        "TWOSTEP_SIGNING_KEY",
        SIGNING_KEY_FILE,
        ResultSigner::generate_base64,
    )?;
    ResultSigner::from_base64(&text).context("the signing key (TWOSTEP_SIGNING_KEY) is not valid")
}

async fn senders(
    config: &Config,
    db: &DatabaseConnection,
) -> anyhow::Result<(Arc<dyn EmailSender>, Arc<dyn SmsSender>)> {
    let needs_aws =
        config.email_sender == EmailSenderKind::Ses || config.sms_sender == SmsSenderKind::Sns;
    let aws = if needs_aws {
        Some(aws_config_from_env().await)
    } else {
        None
    };
    let email: Arc<dyn EmailSender> = match (config.email_sender, &aws) {
        (EmailSenderKind::Ses, Some(aws)) => {
            let from = config
                .email_from
                .clone()
                .context("TWOSTEP_EMAIL_FROM is required with the ses sender")?;
            Arc::new(SesSender::new(
                aws,
                from,
                config.ses_configuration_set.clone(),
            ))
        }
        (EmailSenderKind::Console, _) => Arc::new(ConsoleSender),
        _ => Arc::new(OutboxSender::new(db.clone())),
    };
    let sms: Arc<dyn SmsSender> = match (config.sms_sender, &aws) {
        (SmsSenderKind::Sns, Some(aws)) => {
            Arc::new(SnsSender::new(aws, config.sns_sender_id.clone()))
        }
        (SmsSenderKind::Console, _) => Arc::new(ConsoleSender),
        _ => Arc::new(OutboxSender::new(db.clone())),
    };
    if config.email_sender == EmailSenderKind::Console
        || config.sms_sender == SmsSenderKind::Console
    {
        tracing::warn!(
            "a console sender is configured: codes will be written to the log (development only)"
        );
    }
    Ok((email, sms))
}

async fn queue(db: &DatabaseConnection) -> anyhow::Result<Queue> {
    Queue::setup(db)
        .await
        .context("cannot set up the job queue")
}

async fn worker(
    config: &Config,
    db: &DatabaseConnection,
    queue: Queue,
    secret_box: SecretBox,
) -> anyhow::Result<Arc<Worker>> {
    let (email, sms) = senders(config, db).await?;
    let policy = RetryPolicy {
        max_attempts: config.delivery_max_attempts.max(1),
        base_delay: Duration::from_millis(config.delivery_retry_base_ms),
        max_delay: Duration::from_secs(300),
        lease: Duration::from_secs(config.delivery_lease_seconds.max(1)),
    };
    Ok(Arc::new(Worker {
        db: db.clone(),
        queue,
        secret_box,
        email,
        sms,
        policy,
    }))
}

async fn run_worker(
    worker: Arc<Worker>,
    concurrency: usize,
    sweep_every: Duration,
    orphan_after: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Unique across processes and machines: apalis tracks workers by name.
    let name = format!("twostep-worker-{}", uuid::Uuid::now_v7().simple());
    tracing::info!(worker = %name, concurrency, "worker started");
    twostep_worker::run(worker, name, concurrency, sweep_every, orphan_after, stop)
        .await
        .map_err(|e| anyhow::anyhow!("worker: {e}"))
}

fn sweep_timing(config: &Config) -> (Duration, Duration) {
    (
        Duration::from_secs(config.sweep_interval_seconds.max(1)),
        Duration::from_secs(config.orphan_after_seconds.max(1)),
    )
}

/// A shutdown signal many tasks can wait for.
fn shutdown_channel() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = tx.send(true);
    });
    rx
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// `twostep serve`.
pub async fn serve(
    config: Config,
    surfaces: Surfaces,
    migrate: bool,
    in_process_worker: bool,
) -> anyhow::Result<()> {
    init_logging(&config);
    let db = open(&config, migrate || config.is_sqlite()).await?;
    let operator_token_digest: Arc<[u8]> = operator_digest(&db, &config).await?.into();
    let queue = queue(&db).await?;
    let secret_box = secret_box(&config)?;
    let test_clock = config.test_clock.then(|| {
        tracing::warn!("TWOSTEP_TEST_CLOCK is on: time stands still and POST /testing/clock moves it (tests only)");
        TestClock::at(SystemClock.now())
    });
    let clock: Arc<dyn Clock> = match &test_clock {
        Some(clock) => Arc::new(clock.clone()),
        None => Arc::new(SystemClock),
    };
    let state = AppState {
        db: db.clone(),
        operator_token_digest,
        queue: queue.clone(),
        secret_box: Arc::new(secret_box.clone()),
        signer: Arc::new(signer(&config)?),
        issuer: config.issuer.clone(),
        clock,
        test_clock,
    };
    let stop = shutdown_channel();
    let worker_task = if in_process_worker {
        let worker = worker(&config, &db, queue, secret_box).await?;
        let (sweep, orphan) = sweep_timing(&config);
        let task = run_worker(
            worker,
            config.worker_concurrency,
            sweep,
            orphan,
            stopped(stop.clone()),
        );
        Some(tokio::spawn(task))
    } else {
        None
    };
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(addr = %addr, "listening");
    axum::serve(listener, twostep_api::app(state, surfaces))
        .with_graceful_shutdown(stopped(stop))
        .await
        .context("server error")?;
    if let Some(task) = worker_task {
        task.await.context("worker task")??;
    }
    db.close().await.ok();
    tracing::info!("stopped");
    Ok(())
}

/// `twostep worker`.
pub async fn work(config: Config, concurrency: Option<usize>) -> anyhow::Result<()> {
    init_logging(&config);
    let db = open(&config, config.is_sqlite()).await?;
    let worker = worker(&config, &db, queue(&db).await?, secret_box(&config)?).await?;
    let concurrency = concurrency.unwrap_or(config.worker_concurrency);
    let (sweep, orphan) = sweep_timing(&config);
    run_worker(
        worker,
        concurrency,
        sweep,
        orphan,
        stopped(shutdown_channel()),
    )
    .await?;
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
