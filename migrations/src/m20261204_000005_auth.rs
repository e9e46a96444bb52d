//! Auth flows: factors (TOTP secret sealed), recovery codes (argon2id digests), flows
//! (token as SHA-256, policy snapshot), challenges (code as a keyed hash) and the per-user
//! failure counter.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn owned_by(
    table: &'static str,
    parent: &'static str,
    column: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{parent}"))
        .from(table, column)
        .to(parent, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn indexes(
    manager: &SchemaManager<'_>,
    table: &'static str,
    list: &[(&str, &[&'static str])],
) -> Result<(), DbErr> {
    for (name, cols) in list {
        let mut index = Index::create();
        index.name(format!("ix_{table}_{name}")).table(table);
        for col in *cols {
            index.col(*col);
        }
        manager.create_index(index.to_owned()).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("flow")
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(uuid("user_id"))
                    .col(uuid_null("org_id"))
                    .col(string_len_null("primary_method", 16))
                    .col(binary("token_digest"))
                    .col(json_binary("policy"))
                    .col(string_len("state", 24))
                    .col(boolean("mfa_verified"))
                    .col(json_binary("amr"))
                    .col(uuid_null("result_jti"))
                    .col(timestamp_with_time_zone_null("completed_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut owned_by("flow", "tenant", "tenant_id"))
                    .foreign_key(&mut owned_by("flow", "user", "user_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_flow_token_digest")
                    .table("flow")
                    .col("token_digest")
                    .unique()
                    .to_owned(),
            )
            .await?;
        indexes(manager, "flow", &[("tenant", &["tenant_id", "id"])]).await?;

        manager
            .create_table(
                Table::create()
                    .table("factor")
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(uuid("user_id"))
                    // The flow that enrolled it: a pending factor is verified in that flow only.
                    .col(uuid_null("flow_id"))
                    .col(string_len("factor_type", 8))
                    .col(string_len("status", 8))
                    .col(string_null("destination"))
                    .col(binary_null("secret"))
                    .col(string_len_null("secret_key_id", 16))
                    .col(big_integer_null("last_used_step"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut owned_by("factor", "tenant", "tenant_id"))
                    .foreign_key(&mut owned_by("factor", "user", "user_id"))
                    .to_owned(),
            )
            .await?;
        indexes(
            manager,
            "factor",
            &[("tenant_user", &["tenant_id", "user_id", "id"])],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("challenge")
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(uuid("user_id"))
                    .col(uuid("flow_id"))
                    .col(uuid("factor_id"))
                    .col(binary("code_digest"))
                    .col(integer("attempts"))
                    .col(integer("max_attempts"))
                    .col(string_len("status", 8))
                    .col(uuid_null("delivery_id"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut owned_by("challenge", "tenant", "tenant_id"))
                    .foreign_key(&mut owned_by("challenge", "flow", "flow_id"))
                    .foreign_key(&mut owned_by("challenge", "factor", "factor_id"))
                    .to_owned(),
            )
            .await?;
        indexes(
            manager,
            "challenge",
            &[
                ("tenant_factor", &["tenant_id", "factor_id", "created_at"]),
                ("tenant_user", &["tenant_id", "user_id", "created_at"]),
                ("flow", &["flow_id"]),
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("recovery_code")
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(uuid("user_id"))
                    .col(uuid("set_id"))
                    .col(integer("position"))
                    // One salt per set, repeated on each of its rows.
                    .col(binary("salt"))
                    .col(binary("digest"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut owned_by("recovery_code", "tenant", "tenant_id"))
                    .foreign_key(&mut owned_by("recovery_code", "user", "user_id"))
                    .to_owned(),
            )
            .await?;
        indexes(
            manager,
            "recovery_code",
            &[("tenant_user", &["tenant_id", "user_id", "position"])],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("user_mfa")
                    .col(pk_uuid("user_id"))
                    .col(uuid("tenant_id"))
                    .col(integer("failures"))
                    .col(timestamp_with_time_zone_null("last_failure_at"))
                    .col(timestamp_with_time_zone_null("declined_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut owned_by("user_mfa", "tenant", "tenant_id"))
                    .foreign_key(&mut owned_by("user_mfa", "user", "user_id"))
                    .to_owned(),
            )
            .await?;
        indexes(
            manager,
            "user_mfa",
            &[("tenant", &["tenant_id", "user_id"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["user_mfa", "recovery_code", "challenge", "factor", "flow"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
