//! The append-only audit log.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entity::audit_event::{ActiveModel, Column, Entity, Model};
use crate::{Page, PageRequest, StoreError, page};

/// Who did it: `operator`, or the id of the API key used (`key_…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

/// One thing that happened, to be recorded. Never carries a secret.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The tenant it concerns; `None` for installation-wide changes (plans).
    pub tenant_id: Option<Uuid>,
    /// What happened, e.g. `organization.created`.
    pub action: &'static str,
    /// Kind of the target, e.g. `organization`.
    pub target_type: &'static str,
    /// The target's public id (`org_…`, a plan slug).
    pub target_id: String,
    /// The user concerned, if any (for filtering by user).
    pub user_id: Option<Uuid>,
    /// Non-secret particulars.
    pub details: serde_json::Value,
    /// Who did it.
    pub actor: &'a Actor,
}

impl<'a> Event<'a> {
    /// An event whose target is one of the tenant's users.
    pub fn about_user(
        tenant_id: Uuid,
        user_id: Uuid,
        actor: &'a Actor,
        action: &'static str,
        details: serde_json::Value,
    ) -> Self {
        Self {
            tenant_id: Some(tenant_id),
            action,
            target_type: "user",
            target_id: twostep_core::UserId::from_uuid(user_id).to_string(),
            user_id: Some(user_id),
            details,
            actor,
        }
    }
}

/// Appends `event`; call inside the transaction of the change it records.
pub async fn record(conn: &impl ConnectionTrait, event: Event<'_>) -> Result<(), StoreError> {
    ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(event.tenant_id),
        actor: Set(event.actor.0.clone()),
        action: Set(event.action.to_owned()),
        target_type: Set(event.target_type.to_owned()),
        target_id: Set(event.target_id),
        user_id: Set(event.user_id),
        details: Set(event.details),
        created_at: Set(crate::now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this action.
    pub action: Option<String>,
    /// Only events concerning this user.
    pub user_id: Option<Uuid>,
}

/// The tenant's events, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    filter: Filter,
    req: PageRequest,
) -> Result<Page<Model>, StoreError> {
    let mut select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    if let Some(action) = filter.action {
        select = select.filter(Column::Action.eq(action));
    }
    if let Some(user_id) = filter.user_id {
        select = select.filter(Column::UserId.eq(user_id));
    }
    page::fetch(conn, select, Column::Id, |m| m.id, req).await
}
