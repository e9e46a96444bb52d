//! Flows: one MFA step of one sign-in. State changes are compare-and-set on the state
//! (and the expiry), so a flow completes at most once however many requests race.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use twostep_core::flow::FlowState;
use uuid::Uuid;

use crate::StoreError;
use crate::entity::flow::{ActiveModel, Column, Entity, Model};

/// A flow to create.
#[derive(Debug, Clone)]
pub struct NewFlow {
    /// Its id.
    pub id: Uuid,
    /// Owner.
    pub tenant_id: Uuid,
    /// The user signing in.
    pub user_id: Uuid,
    /// The organization of the sign-in.
    pub org_id: Option<Uuid>,
    /// The primary method used before this step.
    pub primary_method: Option<String>,
    /// SHA-256 of the flow token.
    pub token_digest: Vec<u8>,
    /// The effective policy, as JSON.
    pub policy: serde_json::Value,
    /// The first state.
    pub state: FlowState,
    /// Authentication methods so far.
    pub amr: Vec<String>,
    /// End of the flow's life.
    pub expires_at: DateTime<Utc>,
}

/// How a flow completed, for its result token.
#[derive(Debug, Clone)]
pub struct Completion {
    /// Whether a second factor was proven.
    pub mfa_verified: bool,
    /// Authentication methods.
    pub amr: Vec<String>,
}

/// Stores a new flow; a flow that starts completed gets its result id at once.
#[tracing::instrument(skip_all, err)]
pub async fn create(
    conn: &impl ConnectionTrait,
    new: NewFlow,
    now: DateTime<Utc>,
) -> Result<Model, StoreError> {
    let completed = new.state == FlowState::Completed;
    Ok(ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        user_id: Set(new.user_id),
        org_id: Set(new.org_id),
        primary_method: Set(new.primary_method),
        token_digest: Set(new.token_digest),
        policy: Set(new.policy),
        state: Set(new.state.as_str().to_owned()),
        mfa_verified: Set(false),
        amr: Set(serde_json::json!(new.amr)),
        result_jti: Set(completed.then(Uuid::now_v7)),
        completed_at: Set(completed.then_some(now)),
        expires_at: Set(new.expires_at),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?)
}

/// The flow `id` if `token_digest` is its token's.
#[tracing::instrument(skip_all, fields(id = %id), err)]
pub async fn by_token(
    conn: &impl ConnectionTrait,
    id: Uuid,
    token_digest: &[u8],
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id)
        .filter(Column::TokenDigest.eq(token_digest.to_vec()))
        .one(conn)
        .await?)
}

/// One of the tenant's flows.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
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

/// Moves a live flow from one of `from` to `to`; `false` if another request moved it
/// first or it has expired. A completion stamps the result token's id and time.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn transition(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    from: &[FlowState],
    to: FlowState,
    completion: Option<Completion>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut update = Entity::update_many()
        .col_expr(Column::State, Expr::value(to.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    if let Some(done) = completion {
        update = update
            .col_expr(Column::MfaVerified, Expr::value(done.mfa_verified))
            .col_expr(Column::Amr, Expr::value(serde_json::json!(done.amr)))
            .col_expr(Column::ResultJti, Expr::value(Uuid::now_v7()))
            .col_expr(Column::CompletedAt, Expr::value(now));
    }
    let moved = update
        .filter(Column::Id.eq(id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::State.is_in(from.iter().map(|s| s.as_str())))
        .filter(Column::ExpiresAt.gt(now))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(moved == 1)
}

/// Marks a flow past its expiry as `expired` (unless it already reached a final state).
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, id = %id), err)]
pub async fn expire(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::State, Expr::value(FlowState::Expired.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(
            Column::State.is_not_in(
                FlowState::ALL
                    .into_iter()
                    .filter(|s| s.is_final())
                    .map(FlowState::as_str),
            ),
        )
        .filter(Column::ExpiresAt.lte(now))
        .exec(conn)
        .await?;
    Ok(())
}
