//! Environment and organization MFA policies, stored as JSON documents of the domain
//! types so that the domain crate stays the one definition.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::json;
use twostep_core::{EnvironmentPolicy, OrgId, OrganizationPolicy};
use uuid::Uuid;

use crate::StoreError;
use crate::audit::{self, Actor, Event};
use crate::entity::{environment_policy as env, organization_policy as org};

/// The tenant's environment policy; the default (MFA off) until one is saved.
pub async fn environment(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<EnvironmentPolicy, StoreError> {
    match env::Entity::find_by_id(tenant_id).one(conn).await? {
        Some(row) => Ok(serde_json::from_value(row.policy)?),
        None => Ok(EnvironmentPolicy::default()),
    }
}

/// Replaces the tenant's environment policy.
pub async fn put_environment(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    policy: &EnvironmentPolicy,
) -> Result<(), StoreError> {
    let txn = crate::write_txn(db).await?;
    let now = crate::now();
    let doc = serde_json::to_value(policy)?;
    // One statement whether or not a policy exists yet, so two first saves cannot collide.
    env::Entity::insert(env::ActiveModel {
        tenant_id: Set(tenant_id),
        policy: Set(doc.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(env::Column::TenantId)
            .update_columns([env::Column::Policy, env::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    audit::record(
        &txn,
        Event {
            tenant_id: Some(tenant_id),
            action: "mfa_policy.updated",
            target_type: "environment",
            target_id: twostep_core::TenantId::from_uuid(tenant_id).to_string(),
            user_id: None,
            details: json!({ "policy": doc }),
            actor,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The organization's own policy, if it has one.
pub async fn organization(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    org_id: Uuid,
) -> Result<Option<OrganizationPolicy>, StoreError> {
    org::Entity::find_by_id(org_id)
        .filter(org::Column::TenantId.eq(tenant_id))
        .one(conn)
        .await?
        .map(|row| serde_json::from_value(row.policy).map_err(StoreError::from))
        .transpose()
}

/// Organizations of the tenant whose policy is their own (not `inherit`).
pub async fn orgs_with_own_policy(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let rows = org::Entity::find()
        .filter(org::Column::TenantId.eq(tenant_id))
        .all(conn)
        .await?;
    let mut own = Vec::new();
    for row in rows {
        let policy: OrganizationPolicy = serde_json::from_value(row.policy)?;
        if policy.is_own() {
            own.push(row.organization_id);
        }
    }
    own.sort();
    Ok(own)
}

/// Replaces the organization's policy. The caller has checked that the organization
/// belongs to the tenant.
pub async fn put_organization(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    org_id: Uuid,
    policy: &OrganizationPolicy,
) -> Result<(), StoreError> {
    let txn = crate::write_txn(db).await?;
    let now = crate::now();
    let doc = serde_json::to_value(policy)?;
    org::Entity::insert(org::ActiveModel {
        organization_id: Set(org_id),
        tenant_id: Set(tenant_id),
        policy: Set(doc.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(org::Column::OrganizationId)
            .update_columns([org::Column::Policy, org::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    audit::record(
        &txn,
        org_policy_event(
            "organization.mfa_policy_updated",
            actor,
            tenant_id,
            org_id,
            json!({ "policy": doc }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes the organization's policy (it inherits again); `false` when it had none.
pub async fn delete_organization(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    org_id: Uuid,
) -> Result<bool, StoreError> {
    let txn = crate::write_txn(db).await?;
    let deleted = org::Entity::delete_many()
        .filter(org::Column::TenantId.eq(tenant_id))
        .filter(org::Column::OrganizationId.eq(org_id))
        .exec(&txn)
        .await?
        .rows_affected;
    if deleted == 0 {
        return Ok(false);
    }
    audit::record(
        &txn,
        org_policy_event(
            "organization.mfa_policy_deleted",
            actor,
            tenant_id,
            org_id,
            json!({}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

fn org_policy_event<'a>(
    action: &'static str,
    actor: &'a Actor,
    tenant_id: Uuid,
    org_id: Uuid,
    details: serde_json::Value,
) -> Event<'a> {
    Event {
        tenant_id: Some(tenant_id),
        action,
        target_type: "organization",
        target_id: OrgId::from_uuid(org_id).to_string(),
        user_id: None,
        details,
        actor,
    }
}
