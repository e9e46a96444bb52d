//! Messages written by the `outbox` sender, per tenant.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entity::outbox_message::{ActiveModel, Column, Entity, Model};
use crate::{Page, PageRequest, StoreError, page};

/// A message to keep.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    /// The tenant it was sent for.
    pub tenant_id: Uuid,
    /// `email` or `sms`.
    pub channel: &'static str,
    /// Address or number.
    pub destination: &'a str,
    /// Subject, for email.
    pub subject: Option<&'a str>,
    /// The text.
    pub body: &'a str,
}

/// Stores a message; returns its id.
pub async fn insert(
    conn: &impl ConnectionTrait,
    message: NewMessage<'_>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    ActiveModel {
        id: Set(id),
        tenant_id: Set(message.tenant_id),
        channel: Set(message.channel.to_owned()),
        destination: Set(message.destination.to_owned()),
        subject: Set(message.subject.map(str::to_owned)),
        body: Set(message.body.to_owned()),
        created_at: Set(crate::now()),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// The tenant's messages, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    req: PageRequest,
) -> Result<Page<Model>, StoreError> {
    let select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    page::fetch(conn, select, Column::Id, |m| m.id, req).await
}
