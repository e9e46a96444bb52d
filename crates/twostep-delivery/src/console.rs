//! The development sender: writes messages to the log. Never configure it in production:
//! it is the one place a code is allowed into the log.

use async_trait::async_trait;

use crate::{Email, EmailSender, MessageId, SendError, Sms, SmsSender, mask};

/// Logs each message, text included.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSender;

#[async_trait]
impl EmailSender for ConsoleSender {
    async fn send_email(&self, email: &Email) -> Result<MessageId, SendError> {
        let id = format!("console-{}", uuid::Uuid::now_v7().simple());
        tracing::warn!(
            sender = "console",
            to = %mask(&email.to),
            subject = %email.subject,
            text = %email.text,
            message_id = %id,
            "email written to the log by the development sender"
        );
        Ok(id)
    }
}

#[async_trait]
impl SmsSender for ConsoleSender {
    async fn send_sms(&self, sms: &Sms) -> Result<MessageId, SendError> {
        let id = format!("console-{}", uuid::Uuid::now_v7().simple());
        tracing::warn!(
            sender = "console",
            to = %mask(&sms.to),
            text = %sms.text,
            message_id = %id,
            "SMS written to the log by the development sender"
        );
        Ok(id)
    }
}
