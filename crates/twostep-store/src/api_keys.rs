//! Tenant API keys, stored as SHA-256 digests.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde_json::json;
use twostep_core::ApiKeyId;
use uuid::Uuid;

use crate::audit::{self, Actor, Event};
use crate::entity::api_key::{ActiveModel, Column, Entity, Model};
use crate::{Page, PageRequest, StoreError, page};

/// The live (not revoked) key with this digest.
pub async fn authenticate(
    conn: &impl ConnectionTrait,
    key_hash: &[u8],
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::KeyHash.eq(key_hash.to_vec()))
        .filter(Column::RevokedAt.is_null())
        .one(conn)
        .await?)
}

/// The tenant's keys, revoked ones included, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    req: PageRequest,
) -> Result<Page<Model>, StoreError> {
    let select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    page::fetch(conn, select, Column::Id, |m| m.id, req).await
}

/// Inserts a key and records it; the caller owns the transaction.
pub(crate) async fn insert(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    tenant_id: Uuid,
    name: &str,
    key_hash: Vec<u8>,
) -> Result<Model, StoreError> {
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        name: Set(name.to_owned()),
        key_hash: Set(key_hash),
        created_at: Set(crate::now()),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    audit::record(conn, key_event("api_key.created", actor, &model)).await?;
    Ok(model)
}

/// Creates a key for the tenant.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    name: &str,
    key_hash: Vec<u8>,
) -> Result<Model, StoreError> {
    let txn = crate::write_txn(db).await?;
    let model = insert(&txn, actor, tenant_id, name, key_hash).await?;
    txn.commit().await?;
    Ok(model)
}

/// Revokes a key of the tenant at once; `false` when the tenant has no such live key.
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    key_id: Uuid,
) -> Result<bool, StoreError> {
    let txn = crate::write_txn(db).await?;
    let Some(model) = Entity::find_by_id(key_id)
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::RevokedAt.is_null())
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    let mut active: ActiveModel = model.into();
    active.revoked_at = Set(Some(crate::now()));
    let model = active.update(&txn).await?;
    audit::record(&txn, key_event("api_key.revoked", actor, &model)).await?;
    txn.commit().await?;
    Ok(true)
}

fn key_event<'a>(action: &'static str, actor: &'a Actor, model: &Model) -> Event<'a> {
    Event {
        tenant_id: Some(model.tenant_id),
        action,
        target_type: "api_key",
        target_id: ApiKeyId::from_uuid(model.id).to_string(),
        user_id: None,
        details: json!({ "name": model.name }),
        actor,
    }
}
