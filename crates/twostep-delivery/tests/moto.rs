//! The SES and SNS senders through the real AWS SDK against a local AWS-compatible
//! server (moto), read back from what the server recorded. `./scripts/test` installs and
//! starts moto and sets `TWOSTEP_TEST_MOTO_URL`; without it these tests say so and pass.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sesv2::config::Credentials;
use serde_json::Value;
use twostep_delivery::{Email, EmailSender, SendError, SesSender, Sms, SmsSender, SnsSender};
use uuid::Uuid;

fn moto_url() -> Option<String> {
    let url = std::env::var("TWOSTEP_TEST_MOTO_URL").ok();
    if url.is_none() {
        eprintln!("SKIPPED: moto test (TWOSTEP_TEST_MOTO_URL is not set; ./scripts/test sets it)");
    }
    url
}

async fn config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

async fn recorded(endpoint: &str) -> Value {
    reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("moto state")
        .json()
        .await
        .expect("moto state is JSON")
}

/// A fresh domain per test: moto's state is shared by every test using it.
fn domain() -> String {
    format!("t{}.example.com", Uuid::now_v7().simple())
}

#[tokio::test]
async fn ses_sends_through_the_sdk() {
    let Some(endpoint) = moto_url() else { return };
    let config = config(&endpoint).await;
    let domain = domain();
    aws_sdk_sesv2::Client::new(&config)
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .expect("verify the sending domain");
    let sender = SesSender::new(&config, format!("no-reply@{domain}"), None);
    let to = format!("ada@{domain}");
    let email = Email {
        tenant_id: Uuid::now_v7(),
        to: to.clone(),
        subject: "Your Acme code".into(),
        text: "Your code is 493021. It expires in 10 minutes.".into(),
        html: "<p>Your code is <b>493021</b>. It expires in 10 minutes.</p>".into(),
    };
    let id = sender.send_email(&email).await.expect("sent");
    assert!(!id.is_empty());

    let state = recorded(&endpoint).await;
    let messages = state["ses"]["Message"].as_array().expect("ses messages");
    let sent = messages
        .iter()
        .find(|m| m["destinations"]["ToAddresses"][0] == to.as_str())
        .unwrap_or_else(|| panic!("no message to {to}: {state}"));
    assert_eq!(sent["source"], format!("no-reply@{domain}").as_str());
    assert_eq!(sent["subject"], "Your Acme code");
    assert!(sent["body"].as_str().unwrap().contains("493021"), "{sent}");
}

#[tokio::test]
async fn ses_refuses_an_unverified_sender_permanently() {
    let Some(endpoint) = moto_url() else { return };
    let config = config(&endpoint).await;
    let sender = SesSender::new(&config, format!("no-reply@{}", domain()), None);
    let email = Email {
        tenant_id: Uuid::now_v7(),
        to: "ada@example.org".into(),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
    };
    match sender.send_email(&email).await {
        Err(SendError::Permanent(reason)) => assert!(reason.contains("HTTP 4"), "{reason}"),
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

#[tokio::test]
async fn sns_publishes_transactional_sms() {
    let Some(endpoint) = moto_url() else { return };
    let config = config(&endpoint).await;
    let sender = SnsSender::new(&config, Some("Acme".into()));
    // A number of its own, so parallel tests do not mix.
    let suffix = Uuid::now_v7().as_u128() % 10_000;
    let to = format!("+1415555{suffix:04}");
    let sms = Sms {
        tenant_id: Uuid::now_v7(),
        to: to.clone(),
        text: "Acme code: 771204".into(),
    };
    let id = sender.send_sms(&sms).await.expect("sent");
    assert!(!id.is_empty());
    let state = recorded(&endpoint).await;
    let messages = state["sns"]["SMS"].as_array().expect("sns messages");
    let sent = messages
        .iter()
        .find(|m| m["phone_number"] == to.as_str() && m["message"] == "Acme code: 771204")
        .unwrap_or_else(|| panic!("no SMS to {to}: {state}"));
    assert!(sent.is_object());
}

#[tokio::test]
async fn an_unreachable_provider_is_transient() {
    // A port nothing listens on: the SDK cannot connect, which is worth a retry.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = config(&endpoint).await;
    let sms = Sms {
        tenant_id: Uuid::now_v7(),
        to: "+14155552671".into(),
        text: "x".into(),
    };
    match SnsSender::new(&config, None).send_sms(&sms).await {
        Err(SendError::Transient(_)) => {}
        other => panic!("expected a transient error, got {other:?}"),
    }
}
