//! The outbox sender on a real SQLite database migrated by the real chain.

use twostep_delivery::{Email, EmailSender, OutboxSender, Sms, SmsSender};
use twostep_store::audit::Actor;
use twostep_store::{PageRequest, outbox, tenants};

#[tokio::test]
async fn outbox_keeps_messages_per_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = twostep_store::connect(&url).await.unwrap();
    twostep_store::migrate(&db).await.unwrap();
    let op = Actor("operator".into());
    let (a, _) = tenants::create(&db, &op, "A", "pro", vec![1; 32])
        .await
        .unwrap();
    let (b, _) = tenants::create(&db, &op, "B", "pro", vec![2; 32])
        .await
        .unwrap();

    let sender = OutboxSender::new(db.clone());
    let email = Email {
        tenant_id: a.id,
        to: "ada@example.com".into(),
        subject: "Your code".into(),
        text: "Your code is 123456".into(),
        html: "<p>123456</p>".into(),
    };
    let id = sender.send_email(&email).await.unwrap();
    assert!(id.starts_with("outbox-"));
    let sms = Sms {
        tenant_id: a.id,
        to: "+14155552671".into(),
        text: "Code 654321".into(),
    };
    sender.send_sms(&sms).await.unwrap();

    let page = PageRequest {
        cursor: None,
        limit: 50,
    };
    let mine = outbox::list(&db, a.id, page).await.unwrap().items;
    assert_eq!(mine.len(), 2);
    assert_eq!(
        (mine[0].channel.as_str(), mine[0].body.as_str()),
        ("sms", "Code 654321")
    );
    assert_eq!(mine[1].subject.as_deref(), Some("Your code"));
    assert!(
        outbox::list(&db, b.id, page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
