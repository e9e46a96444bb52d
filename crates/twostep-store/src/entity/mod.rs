//! sea-orm entities, one per table. Written to match the migration chain; behaviour lives
//! in the repository modules beside this one.
#![allow(missing_docs)]

pub mod api_key;
pub mod audit_event;
pub mod challenge;
pub mod delivery;
pub mod environment_policy;
pub mod factor;
pub mod flow;
pub mod membership;
pub mod organization;
pub mod organization_policy;
pub mod outbox_message;
pub mod plan;
pub mod recovery_code;
pub mod service_secret;
pub mod tenant;
pub mod user;
pub mod user_mfa;
