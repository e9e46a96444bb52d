//! twostep domain: plans, MFA policies, identifiers, input validation and secret helpers.
//!
//! Everything here is pure: no I/O, no HTTP, no SQL. The store and API crates build on
//! these types so that a value, once parsed, is valid everywhere.

pub mod caps;
pub mod clock;
pub mod crypto;
pub mod flow;
pub mod ids;
pub mod otp;
pub mod plan;
pub mod policy;
pub mod recovery;
pub mod secret;
pub mod signing;
pub mod throttle;
pub mod totp;
pub mod validate;

pub use ids::{
    ApiKeyId, AuditEventId, ChallengeId, DeliveryId, FactorId, FlowId, Kind, OrgId,
    OutboxMessageId, PrefixedId, TenantId, UserId,
};
pub use plan::{Entitlement, Entitlements, PlanSlug};
pub use policy::{
    EffectivePolicy, EnvMode, EnvironmentPolicy, FactorType, OrgMode, OrganizationPolicy,
    PolicyWarning, PrimaryMethod,
};
pub use validate::{Checks, FieldError};
