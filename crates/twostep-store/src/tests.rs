//! Repository tests on a fresh SQLite file migrated by the real chain.

use super::*;
use crate::audit::Actor;

async fn fresh() -> (tempfile::TempDir, DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = connect(&url).await.unwrap();
    migrate(&db).await.unwrap();
    (dir, db)
}

/// A plan without limits.
fn unlimited() -> twostep_core::Entitlements {
    twostep_core::Entitlements {
        mfa_per_org: true,
        sms: true,
        max_orgs: None,
    }
}

fn op() -> Actor {
    Actor("operator".into())
}

#[tokio::test]
async fn migrations_seed_the_four_plans() {
    let (_dir, db) = fresh().await;
    assert!(is_ready(&db).await.unwrap());
    let plans = plans::list(&db).await.unwrap();
    let ids: Vec<_> = plans.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["free", "pro", "plus", "scale"]);
    let per_org: Vec<_> = plans
        .iter()
        .filter(|p| p.entitlements.mfa_per_org)
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(per_org, ["scale"]);
}

#[tokio::test]
async fn org_codes_are_unique_per_tenant_only() {
    let (_dir, db) = fresh().await;
    let (a, _) = tenants::create(&db, &op(), "A", "pro", vec![1; 32])
        .await
        .unwrap();
    let (b, _) = tenants::create(&db, &op(), "B", "pro", vec![2; 32])
        .await
        .unwrap();
    orgs::create(&db, &op(), a.id, "acme", "Acme", &unlimited())
        .await
        .unwrap()
        .unwrap();
    let dup = orgs::create(&db, &op(), a.id, "acme", "Acme 2", &unlimited()).await;
    assert!(matches!(dup, Err(StoreError::Conflict)), "{dup:?}");
    orgs::create(&db, &op(), b.id, "acme", "Acme", &unlimited())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(orgs::count(&db, a.id).await.unwrap(), 1);
}

#[tokio::test]
async fn deleting_a_tenant_removes_what_it_owns() {
    let (_dir, db) = fresh().await;
    let (a, key) = tenants::create(&db, &op(), "A", "scale", vec![3; 32])
        .await
        .unwrap();
    let org = orgs::create(&db, &op(), a.id, "acme", "Acme", &unlimited())
        .await
        .unwrap()
        .unwrap();
    assert!(
        api_keys::authenticate(&db, &key.key_hash)
            .await
            .unwrap()
            .is_some()
    );
    assert!(tenants::delete(&db, &op(), a.id).await.unwrap());
    assert!(
        api_keys::authenticate(&db, &key.key_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(orgs::get(&db, a.id, org.id).await.unwrap().is_none());
}

#[tokio::test]
async fn pages_walk_newest_first_without_gaps() {
    let (_dir, db) = fresh().await;
    let (t, _) = tenants::create(&db, &op(), "A", "scale", vec![4; 32])
        .await
        .unwrap();
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(
            orgs::create(&db, &op(), t.id, &format!("o{i}"), "O", &unlimited())
                .await
                .unwrap()
                .unwrap()
                .id,
        );
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = orgs::list(&db, t.id, PageRequest { cursor, limit: 2 })
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|o| o.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, made);
}
