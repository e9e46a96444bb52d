//! Users of a tenant.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor, Event};
use crate::entity::user::{ActiveModel, Column, Entity, Model};
use crate::{Page, PageRequest, StoreError, page};

/// A user's fields as checked by the caller. For a patch, the outer `None` leaves a
/// field alone and `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// The tenant's own id for the user (unique per tenant).
    pub external_id: Option<String>,
    /// Email address.
    pub email: Option<Option<String>>,
    /// E.164 phone number.
    pub phone: Option<Option<String>>,
    /// Primary sign-in method (wire name).
    pub primary_method: Option<Option<String>>,
}

/// The tenant's users, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    req: PageRequest,
) -> Result<Page<Model>, StoreError> {
    let select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    page::fetch(conn, select, Column::Id, |m| m.id, req).await
}

/// One user of the tenant.
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id)
        .filter(Column::TenantId.eq(tenant_id))
        .one(conn)
        .await?)
}

/// One user of the tenant, by the tenant's own id.
pub async fn get_by_external_id(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    external_id: &str,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::ExternalId.eq(external_id))
        .one(conn)
        .await?)
}

/// Creates a user; [`StoreError::Conflict`] when the external id is taken.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    external_id: String,
    fields: UserPatch,
) -> Result<Model, StoreError> {
    let txn = crate::write_txn(db).await?;
    let now = crate::now();
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        external_id: Set(external_id),
        email: Set(fields.email.flatten()),
        phone: Set(fields.phone.flatten()),
        primary_method: Set(fields.primary_method.flatten()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, user_event("user.created", actor, &model)).await?;
    txn.commit().await?;
    Ok(model)
}

/// Changes a user; `None` when the tenant has no such user.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    id: Uuid,
    patch: UserPatch,
) -> Result<Option<Model>, StoreError> {
    let txn = crate::write_txn(db).await?;
    let Some(model) = get(&txn, tenant_id, id).await? else {
        return Ok(None);
    };
    let mut active: ActiveModel = model.into();
    if let Some(external_id) = patch.external_id {
        active.external_id = Set(external_id);
    }
    if let Some(email) = patch.email {
        active.email = Set(email);
    }
    if let Some(phone) = patch.phone {
        active.phone = Set(phone);
    }
    if let Some(method) = patch.primary_method {
        active.primary_method = Set(method);
    }
    active.updated_at = Set(crate::now());
    let model = active.update(&txn).await?;
    audit::record(&txn, user_event("user.updated", actor, &model)).await?;
    txn.commit().await?;
    Ok(Some(model))
}

/// Deletes a user and their memberships; `false` when the tenant has no such user.
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool, StoreError> {
    let txn = crate::write_txn(db).await?;
    let Some(model) = get(&txn, tenant_id, id).await? else {
        return Ok(false);
    };
    Entity::delete_by_id(id)
        .filter(Column::TenantId.eq(tenant_id))
        .exec(&txn)
        .await?;
    audit::record(&txn, user_event("user.deleted", actor, &model)).await?;
    txn.commit().await?;
    Ok(true)
}

// Contact details are personal data: the log says which fields are set, not their values.
fn user_event<'a>(action: &'static str, actor: &'a Actor, model: &Model) -> Event<'a> {
    let details = json!({
        "external_id": model.external_id,
        "has_email": model.email.is_some(),
        "has_phone": model.phone.is_some(),
        "primary_method": model.primary_method,
    });
    Event::about_user(model.tenant_id, model.id, actor, action, details)
}
