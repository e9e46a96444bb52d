//! The test and demo sender: stores each message in the `outbox_message` table, readable
//! per tenant through `GET /admin/v1/outbox`.

use async_trait::async_trait;
use twostep_store::DatabaseConnection;
use twostep_store::outbox::{self, NewMessage};

use crate::{Email, EmailSender, MessageId, SendError, Sms, SmsSender};

/// Writes messages to the outbox table.
#[derive(Debug, Clone)]
pub struct OutboxSender {
    db: DatabaseConnection,
}

impl OutboxSender {
    /// A sender writing to `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn store(&self, message: NewMessage<'_>) -> Result<MessageId, SendError> {
        outbox::insert(&self.db, message)
            .await
            .map(|id| format!("outbox-{}", id.simple()))
            // A database hiccup is worth another attempt.
            .map_err(|e| SendError::Transient(format!("outbox write failed: {e}")))
    }
}

#[async_trait]
impl EmailSender for OutboxSender {
    async fn send_email(&self, email: &Email) -> Result<MessageId, SendError> {
        self.store(NewMessage {
            tenant_id: email.tenant_id,
            channel: "email",
            destination: &email.to,
            subject: Some(&email.subject),
            body: &email.text,
        })
        .await
    }
}

#[async_trait]
impl SmsSender for OutboxSender {
    async fn send_sms(&self, sms: &Sms) -> Result<MessageId, SendError> {
        self.store(NewMessage {
            tenant_id: sms.tenant_id,
            channel: "sms",
            destination: &sms.to,
            subject: None,
            body: &sms.text,
        })
        .await
    }
}
