//! Running the worker on the queue until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BackendExt, BoxDynError, Data, WorkerBuilder};
use twostep_queue::{DeliveryJob, Queue};

use crate::Worker;

/// How often an idle worker looks for new jobs: the floor of the time from queue insert
/// to send (apalis's own default is a second).
const POLL_INTERVAL: Duration = Duration::from_millis(100);

async fn handle(job: DeliveryJob, worker: Data<Arc<Worker>>) -> Result<(), BoxDynError> {
    let outcome = worker.try_execute(job.delivery_id).await?;
    tracing::debug!(delivery_id = %job.delivery_id, ?outcome, "job done");
    Ok(())
}

/// Consumes jobs with up to `concurrency` in flight until `shutdown` completes, then
/// finishes the jobs in flight and takes no new ones. A sweep every `sweep_every`
/// re-queues deliveries whose job was lost (older than `orphan_after`).
pub async fn run(
    worker: Arc<Worker>,
    name: String,
    concurrency: usize,
    sweep_every: Duration,
    orphan_after: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BoxDynError> {
    let sweeper = {
        let worker = worker.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweep_every);
            loop {
                tick.tick().await;
                if let Err(err) = worker.sweep(orphan_after).await {
                    tracing::warn!(error = %err, "sweep failed");
                }
            }
        })
    };
    let signal = async move {
        shutdown.await;
        tracing::info!("worker stopping: finishing jobs in flight");
        Ok::<(), std::io::Error>(())
    };
    let concurrency = concurrency.max(1);
    let result = match worker.queue.clone() {
        Queue::Sqlite(storage) => {
            // The whole config is replaced, so the queue name is given again.
            let config = apalis_sqlite::Config::default()
                .queue(twostep_queue::QUEUE_NAME)
                .batch_size(concurrency)
                .heartbeat_interval(Duration::from_secs(2));
            WorkerBuilder::new(name)
                .backend(
                    storage
                        .with_config(config)
                        .poll_with_interval(POLL_INTERVAL),
                )
                .data(worker.clone())
                .concurrency(concurrency)
                .build(handle)
                .run_until(signal)
                .await
        }
        Queue::Postgres(storage) => {
            let config = apalis_postgres::Config::default()
                .queue(twostep_queue::QUEUE_NAME)
                .batch_size(concurrency)
                .heartbeat_interval(Duration::from_secs(2));
            WorkerBuilder::new(name)
                .backend(
                    storage
                        .with_config(config)
                        .poll_with_interval(POLL_INTERVAL),
                )
                .data(worker.clone())
                .concurrency(concurrency)
                .build(handle)
                .run_until(signal)
                .await
        }
    };
    sweeper.abort();
    result.map_err(Into::into)
}
