//! Response bodies of the admin API and their conversions from stored rows.

use chrono::{DateTime, Utc};
use serde::Serialize;
use twostep_core::caps::DeliveryCaps;
use twostep_core::{ApiKeyId, AuditEventId, Entitlements, OrgId, TenantId, UserId};
use twostep_store::Page;
use twostep_store::entity::{api_key, audit_event, organization, tenant, user};
use twostep_store::plans::Plan;
use utoipa::ToSchema;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    /// The items, newest first.
    pub data: Vec<T>,
    /// Pass as `cursor` to read the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> List<T> {
    /// A page of stored rows, converted; the cursor rendered with `render`.
    pub fn from_page<M>(
        page: Page<M>,
        render: impl Fn(uuid::Uuid) -> String,
        convert: impl FnMut(M) -> T,
    ) -> Self {
        let next_cursor = page.next_cursor.map(render);
        Self {
            data: page.items.into_iter().map(convert).collect(),
            next_cursor,
        }
    }
}

/// A plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    /// Slug, e.g. `scale`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Ordering from cheapest to dearest.
    pub rank: i32,
    /// What the plan allows.
    pub entitlements: Entitlements,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Plan> for PlanOut {
    fn from(p: Plan) -> Self {
        Self {
            id: p.id,
            name: p.name,
            rank: p.rank,
            entitlements: p.entitlements,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOut {
    /// `ten_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// The tenant's plan.
    pub plan_id: String,
    /// Hourly email and SMS limits (the defaults unless the operator set others).
    pub delivery_caps: DeliveryCaps,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<tenant::Model> for TenantOut {
    fn from(t: tenant::Model) -> Self {
        Self {
            id: TenantId::from_uuid(t.id).to_string(),
            delivery_caps: twostep_store::tenants::delivery_caps(&t),
            name: t.name,
            plan_id: t.plan_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    /// `key_…`
    pub id: String,
    /// Label chosen at creation.
    pub name: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When revoked; `null` while live.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<api_key::Model> for ApiKeyOut {
    fn from(k: api_key::Model) -> Self {
        Self {
            id: ApiKeyId::from_uuid(k.id).to_string(),
            name: k.name,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationOut {
    /// `org_…`
    pub id: String,
    /// The tenant's own handle, unique per tenant.
    pub code: String,
    /// Display name.
    pub name: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<organization::Model> for OrganizationOut {
    fn from(o: organization::Model) -> Self {
        Self {
            id: OrgId::from_uuid(o.id).to_string(),
            code: o.code,
            name: o.name,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// `usr_…`
    pub id: String,
    /// The tenant's own id for the user.
    pub external_id: String,
    /// Email address.
    pub email: Option<String>,
    /// Phone number, E.164.
    pub phone: Option<String>,
    /// Primary sign-in method.
    pub primary_method: Option<String>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<user::Model> for UserOut {
    fn from(u: user::Model) -> Self {
        Self {
            id: UserId::from_uuid(u.id).to_string(),
            external_id: u.external_id,
            email: u.email,
            phone: u.phone,
            primary_method: u.primary_method,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    /// `evt_…`
    pub id: String,
    /// `operator`, or the API key used (`key_…`).
    pub actor: String,
    /// What happened, e.g. `organization.created`.
    #[serde(rename = "type")]
    pub action: String,
    /// Kind of the target.
    pub target_type: String,
    /// The target's id.
    pub target_id: String,
    /// The user concerned, if any.
    pub user_id: Option<String>,
    /// Particulars (never a secret).
    pub details: serde_json::Value,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

impl From<audit_event::Model> for AuditEventOut {
    fn from(e: audit_event::Model) -> Self {
        Self {
            id: AuditEventId::from_uuid(e.id).to_string(),
            actor: e.actor,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            user_id: e.user_id.map(|u| UserId::from_uuid(u).to_string()),
            details: e.details,
            created_at: e.created_at,
        }
    }
}
