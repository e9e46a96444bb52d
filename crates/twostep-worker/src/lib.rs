//! The delivery worker: for each job, claim the delivery (one worker at a time), open its
//! sealed code, render and send it, and record the outcome. Transient failures are
//! retried with exponential backoff and jitter; permanent ones, and the last failed
//! attempt, end the delivery as `dead`. Knows nothing of HTTP.

mod run;

pub use run::run;

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use twostep_core::crypto::SecretBox;
use twostep_delivery::{Email, EmailSender, SendError, Sms, SmsSender, mask, render};
use twostep_queue::{Queue, QueueError};
use twostep_store::deliveries::{self, DEAD, EXPIRED, SENT};
use twostep_store::{DatabaseConnection, StoreError, tenants};
use uuid::Uuid;

/// How deliveries are retried and leased.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a delivery is `dead`.
    pub max_attempts: i32,
    /// Delay before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Longest delay between attempts.
    pub max_delay: Duration,
    /// How long one attempt holds a delivery; past it another worker may take it over.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
            lease: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The delay after attempt `attempt` (1-based) failed: exponential, capped, with
    /// "equal jitter" (half fixed, half random) so retries of many messages spread out.
    pub fn backoff(&self, attempt: i32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.clamp(1, 20).saturating_sub(1));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }
}

/// What one execution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handed to the provider.
    Sent,
    /// Sent before; nothing done (a duplicate job).
    AlreadySent,
    /// No such delivery (its tenant was deleted, say); the job is dropped.
    Missing,
    /// Held by another worker, not due yet, or final; nothing done.
    Skipped,
    /// Its code had expired; not sent.
    Expired,
    /// Given up (permanent error or last attempt).
    Dead,
    /// Failed for now; another attempt is queued after the delay.
    Retrying(Duration),
}

/// A failure of the worker's own infrastructure (database, queue); the job is retried.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The data store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Everything a worker needs.
#[derive(Clone)]
pub struct Worker {
    /// The database.
    pub db: DatabaseConnection,
    /// The job queue (for retries and the sweep).
    pub queue: Queue,
    /// Opens sealed codes.
    pub secret_box: SecretBox,
    /// Sends email.
    pub email: Arc<dyn EmailSender>,
    /// Sends SMS.
    pub sms: Arc<dyn SmsSender>,
    /// Retries and leases.
    pub policy: RetryPolicy,
}

impl Worker {
    /// Runs one delivery to its next state. Tests call this directly to drain work step
    /// by step; the queue calls it for each job.
    pub async fn try_execute(&self, delivery_id: Uuid) -> Result<Outcome, WorkerError> {
        let lease =
            chrono::Duration::from_std(self.policy.lease).unwrap_or(chrono::Duration::seconds(60));
        let Some(delivery) = deliveries::claim(&self.db, delivery_id, lease).await? else {
            return Ok(match deliveries::find(&self.db, delivery_id).await? {
                None => Outcome::Missing,
                Some(d) if d.status == SENT => Outcome::AlreadySent,
                Some(_) => Outcome::Skipped,
            });
        };
        if chrono::Utc::now() >= delivery.expires_at {
            deliveries::finish(
                &self.db,
                &delivery,
                EXPIRED,
                "the code expired before it was sent",
            )
            .await?;
            return Ok(Outcome::Expired);
        }
        let code = delivery
            .secret
            .as_deref()
            .and_then(|sealed| self.secret_box.open(sealed, delivery.id.as_bytes()).ok())
            .and_then(|plain| String::from_utf8(plain).ok());
        let Some(code) = code else {
            deliveries::finish(
                &self.db,
                &delivery,
                DEAD,
                "the code cannot be opened with this key",
            )
            .await?;
            return Ok(Outcome::Dead);
        };
        let tenant = tenants::get(&self.db, delivery.tenant_id).await?;
        let tenant_name = tenant.map(|t| t.name).unwrap_or_default();
        let minutes = (delivery.expires_at - chrono::Utc::now()).num_minutes() + 1;
        let Some(message) = render(
            &delivery.template,
            &delivery.channel,
            &tenant_name,
            &code,
            minutes,
        ) else {
            deliveries::finish(&self.db, &delivery, DEAD, "unknown template").await?;
            return Ok(Outcome::Dead);
        };
        let sent = match delivery.channel.as_str() {
            "sms" => {
                let sms = Sms {
                    tenant_id: delivery.tenant_id,
                    to: delivery.destination.clone(),
                    text: message.text,
                };
                self.sms.send_sms(&sms).await
            }
            _ => {
                let email = Email {
                    tenant_id: delivery.tenant_id,
                    to: delivery.destination.clone(),
                    subject: message.subject,
                    text: message.text,
                    html: message.html,
                };
                self.email.send_email(&email).await
            }
        };
        let to = mask(&delivery.destination);
        match sent {
            Ok(provider_id) => {
                deliveries::mark_sent(&self.db, delivery.id, &provider_id).await?;
                tracing::info!(delivery_id = %delivery.id, channel = %delivery.channel, to = %to, attempt = delivery.attempts, "delivery sent");
                Ok(Outcome::Sent)
            }
            Err(SendError::Transient(reason)) if delivery.attempts < self.policy.max_attempts => {
                let delay = self.policy.backoff(delivery.attempts);
                let next =
                    chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                deliveries::mark_failed(&self.db, delivery.id, &reason, next).await?;
                self.queue.push(delivery.id, Some(delay)).await?;
                deliveries::mark_enqueued(&self.db, &[delivery.id]).await?;
                tracing::warn!(delivery_id = %delivery.id, to = %to, attempt = delivery.attempts, reason = %reason, retry_in_ms = delay.as_millis() as u64, "delivery failed; retrying");
                Ok(Outcome::Retrying(delay))
            }
            Err(err) => {
                let reason = err.to_string();
                deliveries::finish(&self.db, &delivery, DEAD, &reason).await?;
                tracing::warn!(delivery_id = %delivery.id, to = %to, attempt = delivery.attempts, reason = %reason, "delivery dead");
                Ok(Outcome::Dead)
            }
        }
    }

    /// Queues again the deliveries whose job went missing (see the queue crate).
    pub async fn sweep(&self, older_than: Duration) -> Result<usize, WorkerError> {
        let older_than =
            chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::minutes(10));
        let ids = deliveries::orphaned(&self.db, older_than, 500).await?;
        for id in &ids {
            self.queue.push(*id, None).await?;
        }
        deliveries::mark_enqueued(&self.db, &ids).await?;
        if !ids.is_empty() {
            tracing::info!(count = ids.len(), "sweep queued deliveries without a job");
        }
        Ok(ids.len())
    }
}

#[cfg(test)]
mod tests;
