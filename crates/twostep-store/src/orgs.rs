//! Organizations of a tenant.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use twostep_core::{Entitlement, Entitlements, OrgId};
use uuid::Uuid;

use crate::audit::{self, Actor, Event};
use crate::entity::organization::{ActiveModel, Column, Entity, Model};
use crate::{Page, PageRequest, StoreError, page};

/// Changes to an organization; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OrgPatch {
    /// New code (unique per tenant).
    pub code: Option<String>,
    /// New name.
    pub name: Option<String>,
}

/// The tenant's organizations, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    req: PageRequest,
) -> Result<Page<Model>, StoreError> {
    let select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    page::fetch(conn, select, Column::Id, |m| m.id, req).await
}

/// How many organizations the tenant has.
pub async fn count(conn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<u64, StoreError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .count(conn)
        .await?)
}

/// One organization of the tenant.
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

/// Creates an organization unless the plan's `max_orgs` is reached (the inner `Err`);
/// [`StoreError::Conflict`] when the code is taken.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    code: &str,
    name: &str,
    plan: &Entitlements,
) -> Result<Result<Model, Entitlement>, StoreError> {
    let txn = crate::write_txn(db).await?;
    // Count and insert with the tenant's writers serialised, so `max_orgs` holds under
    // concurrency.
    crate::lock_tenant(&txn, tenant_id).await?;
    let existing = count(&txn, tenant_id).await?;
    if let Err(missing) = plan.require(Entitlement::MoreOrgs, existing) {
        return Ok(Err(missing));
    }
    let now = crate::now();
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, org_event("organization.created", actor, &model)).await?;
    txn.commit().await?;
    Ok(Ok(model))
}

/// Changes an organization; `None` when the tenant has no such organization.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    id: Uuid,
    patch: OrgPatch,
) -> Result<Option<Model>, StoreError> {
    let txn = crate::write_txn(db).await?;
    let Some(model) = get(&txn, tenant_id, id).await? else {
        return Ok(None);
    };
    let mut active: ActiveModel = model.into();
    if let Some(code) = patch.code {
        active.code = Set(code);
    }
    if let Some(name) = patch.name {
        active.name = Set(name);
    }
    active.updated_at = Set(crate::now());
    let model = active.update(&txn).await?;
    audit::record(&txn, org_event("organization.updated", actor, &model)).await?;
    txn.commit().await?;
    Ok(Some(model))
}

/// Deletes an organization with its policy and memberships; `false` when the tenant has
/// no such organization.
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
    audit::record(&txn, org_event("organization.deleted", actor, &model)).await?;
    txn.commit().await?;
    Ok(true)
}

fn org_event<'a>(action: &'static str, actor: &'a Actor, model: &Model) -> Event<'a> {
    Event {
        tenant_id: Some(model.tenant_id),
        action,
        target_type: "organization",
        target_id: OrgId::from_uuid(model.id).to_string(),
        user_id: None,
        details: json!({ "code": model.code, "name": model.name }),
        actor,
    }
}
