//! AWS senders: SES v2 `SendEmail` and SNS `Publish`, through the real SDK. Region,
//! credentials and endpoint come from the standard AWS configuration chain
//! (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, profiles, instance roles…).

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sns::types::MessageAttributeValue;

use crate::{Email, EmailSender, MessageId, SendError, Sms, SmsSender};

/// The AWS configuration from the environment (the standard chain).
pub async fn aws_config_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Error codes that mean "slow down / try later" rather than "this will never work".
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "Throttled",
    "TooManyRequestsException",
    "LimitExceededException",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "KMSThrottling",
];

/// Sorts an SDK error into transient and permanent. Only the code and HTTP status are
/// kept: provider messages may echo the destination.
fn classify<E: ProvideErrorMetadata>(err: SdkError<E, HttpResponse>) -> SendError {
    match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let status = service.raw().status().as_u16();
            let what = format!("{code} (HTTP {status})");
            if status >= 500 || status == 429 || TRANSIENT_CODES.contains(&code.as_str()) {
                SendError::Transient(what)
            } else {
                SendError::Permanent(what)
            }
        }
        SdkError::ConstructionFailure(_) => {
            SendError::Permanent("request construction failed".into())
        }
        SdkError::TimeoutError(_) => SendError::Transient("timeout".into()),
        SdkError::DispatchFailure(_) => SendError::Transient("dispatch failure".into()),
        SdkError::ResponseError(_) => SendError::Transient("unreadable response".into()),
        _ => SendError::Transient("unknown SDK error".into()),
    }
}

/// Email through AWS SES v2.
#[derive(Debug, Clone)]
pub struct SesSender {
    client: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesSender {
    /// A sender from `from` (a verified identity), optionally tagged with a
    /// configuration set (for event publishing).
    pub fn new(config: &SdkConfig, from: String, configuration_set: Option<String>) -> Self {
        Self {
            client: aws_sdk_sesv2::Client::new(config),
            from,
            configuration_set,
        }
    }
}

fn utf8(data: &str) -> Result<Content, SendError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| SendError::Permanent(format!("invalid content: {e}")))
}

#[async_trait]
impl EmailSender for SesSender {
    async fn send_email(&self, email: &Email) -> Result<MessageId, SendError> {
        let message = Message::builder()
            .subject(utf8(&email.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&email.text)?)
                    .html(utf8(&email.html)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(classify)?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}

/// SMS through AWS SNS `Publish` to a phone number, as a transactional message.
#[derive(Debug, Clone)]
pub struct SnsSender {
    client: aws_sdk_sns::Client,
    sender_id: Option<String>,
}

impl SnsSender {
    /// A sender, optionally with an alphanumeric sender id (where countries allow it).
    pub fn new(config: &SdkConfig, sender_id: Option<String>) -> Self {
        Self {
            client: aws_sdk_sns::Client::new(config),
            sender_id,
        }
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, SendError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SendError::Permanent(format!("invalid attribute: {e}")))
}

#[async_trait]
impl SmsSender for SnsSender {
    async fn send_sms(&self, sms: &Sms) -> Result<MessageId, SendError> {
        let mut publish = self
            .client
            .publish()
            .phone_number(&sms.to)
            .message(&sms.text)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?);
        if let Some(sender_id) = &self.sender_id {
            publish =
                publish.message_attributes("AWS.SNS.SMS.SenderID", string_attribute(sender_id)?);
        }
        let out = publish.send().await.map_err(classify)?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}
