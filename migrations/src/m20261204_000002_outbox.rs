//! Messages written by the `outbox` sender (development and tests), per tenant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("outbox_message")
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(string_len("channel", 8))
                    .col(string("destination"))
                    .col(string_null("subject"))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_outbox_message_tenant")
                            .from("outbox_message", "tenant_id")
                            .to("tenant", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_message_tenant")
                    .table("outbox_message")
                    .col("tenant_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("outbox_message").to_owned())
            .await
    }
}
