//! Which users belong to which organizations.

use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde_json::json;
use twostep_core::OrgId;
use uuid::Uuid;

use crate::audit::{self, Actor, Event};
use crate::entity::membership::{ActiveModel, Column, Entity};
use crate::entity::user;
use crate::{Page, PageRequest, StoreError, page};

/// Whether the user belongs to the organization (both of the tenant).
pub async fn is_member(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<bool, StoreError> {
    Ok(Entity::find_by_id((org_id, user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .one(conn)
        .await?
        .is_some())
}

/// Adds the user to the organization; adding twice changes nothing. The caller has
/// checked that both belong to the tenant. Returns whether a membership was added.
pub async fn add(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<bool, StoreError> {
    let txn = crate::write_txn(db).await?;
    if is_member(&txn, tenant_id, org_id, user_id).await? {
        return Ok(false);
    }
    ActiveModel {
        organization_id: Set(org_id),
        user_id: Set(user_id),
        tenant_id: Set(tenant_id),
        created_at: Set(crate::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        member_event("membership.added", actor, tenant_id, org_id, user_id),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Removes the user from the organization; `false` when they were not a member.
pub async fn remove(
    db: &DatabaseConnection,
    actor: &Actor,
    tenant_id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<bool, StoreError> {
    let txn = crate::write_txn(db).await?;
    let deleted = Entity::delete_many()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::OrganizationId.eq(org_id))
        .filter(Column::UserId.eq(user_id))
        .exec(&txn)
        .await?
        .rows_affected;
    if deleted == 0 {
        return Ok(false);
    }
    audit::record(
        &txn,
        member_event("membership.removed", actor, tenant_id, org_id, user_id),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// The organization's members, newest user first.
pub async fn members(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    org_id: Uuid,
    req: PageRequest,
) -> Result<Page<user::Model>, StoreError> {
    let member_ids = Query::select()
        .column(Column::UserId)
        .from(Entity)
        .and_where(Column::TenantId.eq(tenant_id))
        .and_where(Column::OrganizationId.eq(org_id))
        .to_owned();
    let select = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::Id.in_subquery(member_ids));
    page::fetch(conn, select, user::Column::Id, |m| m.id, req).await
}

fn member_event<'a>(
    action: &'static str,
    actor: &'a Actor,
    tenant_id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
) -> Event<'a> {
    Event {
        tenant_id: Some(tenant_id),
        action,
        target_type: "organization",
        target_id: OrgId::from_uuid(org_id).to_string(),
        user_id: Some(user_id),
        details: json!({}),
        actor,
    }
}
