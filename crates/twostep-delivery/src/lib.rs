//! Message senders. The worker hands a rendered message to an [`EmailSender`] or an
//! [`SmsSender`]; which one is configuration: `ses` (AWS SES v2), `sns` (AWS SNS
//! transactional SMS), `console` (the log, for development) or `outbox` (a table readable
//! through the admin API, for tests and demos).

mod aws;
mod console;
mod outbox;
mod template;

pub use aws::{SesSender, SnsSender, aws_config_from_env};
pub use console::ConsoleSender;
pub use outbox::OutboxSender;
pub use template::{Rendered, render};

use async_trait::async_trait;
use uuid::Uuid;

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The tenant on whose behalf it is sent (the outbox keeps it per tenant).
    pub tenant_id: Uuid,
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// A text message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// The tenant on whose behalf it is sent.
    pub tenant_id: Uuid,
    /// Recipient number, E.164.
    pub to: String,
    /// The text.
    pub text: String,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Retrying cannot help: a rejected address, number or message.
    #[error("permanent: {0}")]
    Permanent(String),
    /// Throttling, a provider fault or a timeout: worth another try later.
    #[error("transient: {0}")]
    Transient(String),
}

/// The provider's id for a sent message.
pub type MessageId = String;

/// Sends email.
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends one email; returns the provider's message id.
    async fn send_email(&self, email: &Email) -> Result<MessageId, SendError>;
}

/// Sends text messages.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one text message; returns the provider's message id.
    async fn send_sms(&self, sms: &Sms) -> Result<MessageId, SendError>;
}

/// `a***@example.com`, `+1******2671`: enough to recognise, not enough to use.
pub fn mask(destination: &str) -> String {
    if let Some((local, domain)) = destination.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let chars: Vec<char> = destination.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_destinations() {
        assert_eq!(mask("ada@example.com"), "a***@example.com");
        assert_eq!(mask("+14155552671"), "+1******2671");
        assert_eq!(mask("12345"), "*****");
    }
}
