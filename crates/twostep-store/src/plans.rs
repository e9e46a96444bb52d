//! Plans (installation-wide, managed by the operator).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;
use twostep_core::Entitlements;
use twostep_core::policy::suspended_by_plan_change;
use uuid::Uuid;

use crate::StoreError;
use crate::audit::{self, Actor, Event};
use crate::entity::plan::{ActiveModel, Column, Entity, Model};
use crate::entity::tenant;
use crate::policies;

/// A plan as read back, entitlements decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Slug.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Ordering from cheapest to dearest.
    pub rank: i32,
    /// What the plan allows.
    pub entitlements: Entitlements,
    /// When created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl TryFrom<Model> for Plan {
    type Error = StoreError;
    fn try_from(m: Model) -> Result<Self, StoreError> {
        Ok(Self {
            entitlements: serde_json::from_value(m.entitlements)?,
            id: m.id,
            name: m.name,
            rank: m.rank,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// Changes to a plan; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PlanPatch {
    /// New display name.
    pub name: Option<String>,
    /// New rank.
    pub rank: Option<i32>,
    /// New entitlements (replaced whole).
    pub entitlements: Option<Entitlements>,
    /// Take `mfa_per_org` away even though organizations have their own policy.
    pub force: bool,
}

/// The outcome of [`update`].
#[derive(Debug, Clone, PartialEq)]
pub enum PlanUpdated {
    /// No such plan.
    NotFound,
    /// The change would suspend these organizations' policies (tenants on the plan);
    /// nothing was changed. Repeat with `force`.
    Conflict(Vec<Uuid>),
    /// Changed.
    Updated(Box<Plan>),
}

/// Every plan, cheapest first.
pub async fn list(conn: &impl ConnectionTrait) -> Result<Vec<Plan>, StoreError> {
    Entity::find()
        .order_by_asc(Column::Rank)
        .order_by_asc(Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(Plan::try_from)
        .collect()
}

/// One plan.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Plan>, StoreError> {
    Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(Plan::try_from)
        .transpose()
}

/// Creates a plan; [`StoreError::Conflict`] when the slug is taken.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    id: &str,
    name: &str,
    rank: i32,
    entitlements: &Entitlements,
) -> Result<Plan, StoreError> {
    let txn = crate::write_txn(db).await?;
    let now = crate::now();
    let model = ActiveModel {
        id: Set(id.to_owned()),
        name: Set(name.to_owned()),
        rank: Set(rank),
        entitlements: Set(serde_json::to_value(entitlements)?),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, plan_event("plan.created", actor, &model)).await?;
    txn.commit().await?;
    model.try_into()
}

/// Changes a plan; `None` when there is no such plan.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: &str,
    patch: PlanPatch,
) -> Result<PlanUpdated, StoreError> {
    let txn = crate::write_txn(db).await?;
    let Some(model) = Entity::find_by_id(id.to_owned()).one(&txn).await? else {
        return Ok(PlanUpdated::NotFound);
    };
    let current: Plan = model.clone().try_into()?;
    let mut suspended = Vec::new();
    if let Some(next) = &patch.entitlements {
        let tenants = tenant::Entity::find()
            .filter(tenant::Column::PlanId.eq(id))
            .all(&txn)
            .await?;
        for t in tenants {
            let own = policies::orgs_with_own_policy(&txn, t.id).await?;
            suspended.extend(suspended_by_plan_change(&current.entitlements, next, &own));
        }
    }
    if !suspended.is_empty() && !patch.force {
        return Ok(PlanUpdated::Conflict(suspended));
    }
    let mut active: ActiveModel = model.into();
    if let Some(name) = patch.name {
        active.name = Set(name);
    }
    if let Some(rank) = patch.rank {
        active.rank = Set(rank);
    }
    if let Some(entitlements) = patch.entitlements {
        active.entitlements = Set(serde_json::to_value(entitlements)?);
    }
    active.updated_at = Set(crate::now());
    let model = active.update(&txn).await?;
    audit::record(&txn, plan_event("plan.updated", actor, &model)).await?;
    txn.commit().await?;
    Ok(PlanUpdated::Updated(Box::new(model.try_into()?)))
}

fn plan_event<'a>(action: &'static str, actor: &'a Actor, model: &Model) -> Event<'a> {
    Event {
        tenant_id: None,
        action,
        target_type: "plan",
        target_id: model.id.clone(),
        user_id: None,
        details: json!({ "name": model.name, "rank": model.rank, "entitlements": model.entitlements }),
        actor,
    }
}
