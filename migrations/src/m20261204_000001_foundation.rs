//! Plans, tenants, API keys, organizations, users, memberships, MFA policies, audit
//! events, and service secrets; the four seeded plans.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `created_at` and `updated_at`, both UTC.
fn stamps(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
}

/// The `tenant_id` column of a tenant-owned table, removed with its tenant.
fn tenant_fk<'a>(
    table: &'a mut TableCreateStatement,
    name: &'static str,
) -> &'a mut TableCreateStatement {
    table.col(uuid("tenant_id")).foreign_key(
        ForeignKey::create()
            .name(format!("fk_{name}_tenant"))
            .from(name, "tenant_id")
            .to("tenant", "id")
            .on_delete(ForeignKeyAction::Cascade),
    )
}

fn index(
    table: &'static str,
    name: &str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("ix_{table}_{name}")).table(table);
    for col in cols {
        idx.col(*col);
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                stamps(
                    Table::create()
                        .table("plan")
                        .col(string_len("id", 32).primary_key())
                        .col(string("name"))
                        .col(integer("rank"))
                        .col(json_binary("entitlements")),
                )
                .to_owned(),
            )
            .await?;
        manager
            .create_table(
                stamps(
                    Table::create()
                        .table("tenant")
                        .col(pk_uuid("id"))
                        .col(string("name"))
                        .col(string_len("plan_id", 32))
                        .foreign_key(
                            ForeignKey::create()
                                .name("fk_tenant_plan")
                                .from("tenant", "plan_id")
                                .to("plan", "id")
                                .on_delete(ForeignKeyAction::Restrict),
                        ),
                )
                .to_owned(),
            )
            .await?;

        let mut api_key = Table::create();
        api_key
            .table("api_key")
            .col(pk_uuid("id"))
            .col(string("name"))
            .col(binary_len("key_hash", 32).unique_key())
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("revoked_at"));
        manager
            .create_table(tenant_fk(&mut api_key, "api_key").to_owned())
            .await?;
        manager
            .create_index(index("api_key", "tenant", &["tenant_id", "id"], false))
            .await?;

        let mut org = Table::create();
        org.table("organization")
            .col(pk_uuid("id"))
            .col(string("code"))
            .col(string("name"));
        manager
            .create_table(stamps(tenant_fk(&mut org, "organization")).to_owned())
            .await?;
        manager
            .create_index(index(
                "organization",
                "tenant_code",
                &["tenant_id", "code"],
                true,
            ))
            .await?;
        manager
            .create_index(index("organization", "tenant", &["tenant_id", "id"], false))
            .await?;

        let mut user = Table::create();
        user.table("user")
            .col(pk_uuid("id"))
            .col(string("external_id"))
            .col(string_null("email"))
            .col(string_null("phone"))
            .col(string_len_null("primary_method", 32));
        manager
            .create_table(stamps(tenant_fk(&mut user, "user")).to_owned())
            .await?;
        manager
            .create_index(index(
                "user",
                "tenant_external",
                &["tenant_id", "external_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index("user", "tenant", &["tenant_id", "id"], false))
            .await?;

        let mut membership = Table::create();
        membership
            .table("membership")
            .col(uuid("organization_id"))
            .col(uuid("user_id"))
            .col(timestamp_with_time_zone("created_at"))
            .primary_key(Index::create().col("organization_id").col("user_id"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_membership_organization")
                    .from("membership", "organization_id")
                    .to("organization", "id")
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_membership_user")
                    .from("membership", "user_id")
                    .to("user", "id")
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager
            .create_table(tenant_fk(&mut membership, "membership").to_owned())
            .await?;
        manager
            .create_index(index(
                "membership",
                "tenant_org",
                &["tenant_id", "organization_id", "user_id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "membership",
                "tenant_user",
                &["tenant_id", "user_id"],
                false,
            ))
            .await?;

        let mut env_policy = Table::create();
        env_policy
            .table("environment_policy")
            .col(json_binary("policy"));
        tenant_fk(&mut env_policy, "environment_policy")
            .primary_key(Index::create().col("tenant_id"));
        manager
            .create_table(stamps(&mut env_policy).to_owned())
            .await?;

        let mut org_policy = Table::create();
        org_policy
            .table("organization_policy")
            .col(pk_uuid("organization_id"))
            .col(json_binary("policy"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_organization_policy_organization")
                    .from("organization_policy", "organization_id")
                    .to("organization", "id")
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager
            .create_table(stamps(tenant_fk(&mut org_policy, "organization_policy")).to_owned())
            .await?;
        manager
            .create_index(index(
                "organization_policy",
                "tenant",
                &["tenant_id", "organization_id"],
                false,
            ))
            .await?;

        // Append-only; outlives its tenant on purpose, so no foreign key.
        manager
            .create_table(
                Table::create()
                    .table("audit_event")
                    .col(pk_uuid("id"))
                    .col(uuid_null("tenant_id"))
                    .col(string("actor"))
                    .col(string("action"))
                    .col(string("target_type"))
                    .col(string("target_id"))
                    .col(uuid_null("user_id"))
                    .col(json_binary("details"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("tenant", &["tenant_id", "id"][..]),
            ("tenant_action", &["tenant_id", "action", "id"][..]),
            ("tenant_user", &["tenant_id", "user_id", "id"][..]),
        ] {
            manager
                .create_index(index("audit_event", name, cols, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("service_secret")
                    .col(string_len("name", 64).primary_key())
                    .col(binary("value"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;

        seed_plans(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "service_secret",
            "audit_event",
            "organization_policy",
            "environment_policy",
            "membership",
            "user",
            "organization",
            "api_key",
            "tenant",
            "plan",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The plans every installation starts with. Kept here, not read from the domain crate,
/// because a migration must not change when the code does.
async fn seed_plans(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // Microseconds, as every later write stores them.
    let now = chrono::DurationRound::duration_trunc(
        chrono::Utc::now(),
        chrono::Duration::microseconds(1),
    )
    .map_err(|e| DbErr::Custom(e.to_string()))?;
    let mut insert = Query::insert();
    insert.into_table("plan").columns([
        "id",
        "name",
        "rank",
        "entitlements",
        "created_at",
        "updated_at",
    ]);
    for (id, name, rank, mfa_per_org, sms, max_orgs) in [
        ("free", "Free", 0, false, false, Some(5)),
        ("pro", "Pro", 10, false, true, Some(100)),
        ("plus", "Plus", 20, false, true, Some(1000)),
        ("scale", "Scale", 30, true, true, None::<u32>),
    ] {
        let entitlements =
            serde_json::json!({ "mfa_per_org": mfa_per_org, "sms": sms, "max_orgs": max_orgs });
        insert.values_panic([
            id.into(),
            name.into(),
            rank.into(),
            entitlements.into(),
            now.into(),
            now.into(),
        ]);
    }
    manager.exec_stmt(insert.to_owned()).await
}
