//! Tenants, their plan, and plan changes with the downgrade rule.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::json;
use twostep_core::caps::DeliveryCaps;
use twostep_core::{OrgId, TenantId, policy::suspended_by_plan_change};
use uuid::Uuid;

use crate::audit::{self, Actor, Event};
use crate::entity::tenant::{ActiveModel, Column, Entity, Model};
use crate::plans::{self, Plan};
use crate::{Page, PageRequest, StoreError, api_keys, entity, page, policies};

/// Creates a tenant with its first API key (given as digest).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    plan_id: &str,
    key_hash: Vec<u8>,
) -> Result<(Model, entity::api_key::Model), StoreError> {
    let txn = crate::write_txn(db).await?;
    let now = crate::now();
    let tenant = ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        plan_id: Set(plan_id.to_owned()),
        delivery_caps: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        tenant_event(
            "tenant.created",
            actor,
            &tenant,
            json!({ "name": name, "plan_id": plan_id }),
        ),
    )
    .await?;
    let key = api_keys::insert(&txn, actor, tenant.id, "default", key_hash).await?;
    txn.commit().await?;
    Ok((tenant, key))
}

/// Every tenant, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    req: PageRequest,
) -> Result<Page<Model>, StoreError> {
    page::fetch(conn, Entity::find(), Column::Id, |m| m.id, req).await
}

/// One tenant.
pub async fn get(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// One tenant with its plan.
pub async fn get_with_plan(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<(Model, Plan)>, StoreError> {
    let Some(tenant) = get(conn, id).await? else {
        return Ok(None);
    };
    // The foreign key guarantees the plan; its absence is a broken database.
    let plan = plans::get(conn, &tenant.plan_id)
        .await?
        .ok_or_else(|| StoreError::Db(sea_orm::DbErr::RecordNotFound("tenant plan".into())))?;
    Ok(Some((tenant, plan)))
}

/// Changes to a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantPatch {
    /// New display name.
    pub name: Option<String>,
    /// New hourly delivery caps.
    pub delivery_caps: Option<DeliveryCaps>,
}

/// The tenant's hourly delivery caps: its own, or the defaults.
pub fn delivery_caps(model: &Model) -> DeliveryCaps {
    model
        .delivery_caps
        .clone()
        .and_then(|doc| serde_json::from_value(doc).ok())
        .unwrap_or_default()
}

/// Changes a tenant; `None` when there is no such tenant.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    patch: TenantPatch,
) -> Result<Option<Model>, StoreError> {
    let txn = crate::write_txn(db).await?;
    let Some(model) = get(&txn, id).await? else {
        return Ok(None);
    };
    let mut active: ActiveModel = model.into();
    if let Some(name) = &patch.name {
        active.name = Set(name.clone());
    }
    if let Some(caps) = &patch.delivery_caps {
        active.delivery_caps = Set(Some(serde_json::to_value(caps)?));
    }
    active.updated_at = Set(crate::now());
    let model = active.update(&txn).await?;
    let details = json!({ "name": patch.name, "delivery_caps": patch.delivery_caps });
    audit::record(&txn, tenant_event("tenant.updated", actor, &model, details)).await?;
    txn.commit().await?;
    Ok(Some(model))
}

/// Deletes a tenant and, through the foreign keys, everything it owns. The audit log
/// keeps its history; the deletion itself is recorded there too.
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<bool, StoreError> {
    let txn = crate::write_txn(db).await?;
    let Some(model) = get(&txn, id).await? else {
        return Ok(false);
    };
    Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(
        &txn,
        tenant_event(
            "tenant.deleted",
            actor,
            &model,
            json!({ "name": model.name }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// What a plan change did or why it was refused.
#[derive(Debug, Clone)]
pub enum PlanChange {
    /// No such tenant.
    TenantNotFound,
    /// No such plan.
    PlanNotFound,
    /// The new plan lacks `mfa_per_org` and these organizations have their own policy.
    Conflict(Vec<Uuid>),
    /// Changed; the organizations whose policy is now suspended.
    Changed {
        /// The tenant afterwards.
        tenant: Box<Model>,
        /// Organizations whose own policy no longer applies.
        suspended: Vec<Uuid>,
    },
}

/// Moves a tenant to another plan. Taking `mfa_per_org` away while organizations have
/// their own policy is refused unless `force`; with `force` the policies are kept and
/// suspended (they apply again once the plan has `mfa_per_org`).
pub async fn change_plan(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    plan_id: &str,
    force: bool,
) -> Result<PlanChange, StoreError> {
    let txn = crate::write_txn(db).await?;
    let Some((tenant, current)) = get_with_plan(&txn, id).await? else {
        return Ok(PlanChange::TenantNotFound);
    };
    let Some(next) = plans::get(&txn, plan_id).await? else {
        return Ok(PlanChange::PlanNotFound);
    };
    let own = policies::orgs_with_own_policy(&txn, id).await?;
    let suspended = suspended_by_plan_change(&current.entitlements, &next.entitlements, &own);
    if !suspended.is_empty() && !force {
        return Ok(PlanChange::Conflict(suspended));
    }
    let mut active: ActiveModel = tenant.into();
    active.plan_id = Set(next.id.clone());
    active.updated_at = Set(crate::now());
    let tenant = active.update(&txn).await?;
    let suspended_ids: Vec<String> = suspended
        .iter()
        .map(|o| OrgId::from_uuid(*o).to_string())
        .collect();
    let details = json!({ "from": current.id, "to": next.id, "force": force, "suspended_organizations": suspended_ids });
    audit::record(
        &txn,
        tenant_event("tenant.plan_changed", actor, &tenant, details),
    )
    .await?;
    txn.commit().await?;
    Ok(PlanChange::Changed {
        tenant: Box::new(tenant),
        suspended,
    })
}

fn tenant_event<'a>(
    action: &'static str,
    actor: &'a Actor,
    model: &Model,
    details: serde_json::Value,
) -> Event<'a> {
    Event {
        tenant_id: Some(model.id),
        action,
        target_type: "tenant",
        target_id: TenantId::from_uuid(model.id).to_string(),
        user_id: None,
        details,
        actor,
    }
}
