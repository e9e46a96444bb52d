//! Deliveries: one message to send by email or SMS, its status and attempts. The code it
//! carries is sealed (AES-256-GCM) and wiped when the delivery is final.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("delivery")
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(string_len("channel", 8))
                    .col(string("destination"))
                    .col(string_len("template", 64))
                    .col(string_len("status", 16))
                    .col(integer("attempts"))
                    .col(string_null("last_error"))
                    .col(string_null("provider_message_id"))
                    .col(binary_null("secret"))
                    .col(string_len_null("secret_key_id", 16))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone_null("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("enqueued_at"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_delivery_tenant")
                            .from("delivery", "tenant_id")
                            .to("tenant", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("tenant", &["tenant_id", "id"][..]),
            ("tenant_status", &["tenant_id", "status", "id"][..]),
            // Caps: this tenant's sends on a channel, or to one destination, in the last hour.
            (
                "tenant_channel_created",
                &["tenant_id", "channel", "created_at"][..],
            ),
            (
                "tenant_destination_created",
                &["tenant_id", "destination", "created_at"][..],
            ),
            // The sweep for deliveries whose job went missing.
            ("status_enqueued", &["status", "enqueued_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(format!("ix_delivery_{name}")).table("delivery");
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("delivery").to_owned())
            .await
    }
}
