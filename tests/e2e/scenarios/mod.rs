//! The scenarios, grouped by concern; each takes a freshly started server.

mod admin;
mod at_rest;
mod attacks;
mod auth;
mod auth_limits;
mod auth_policy;
mod conformance;
mod errors;
mod isolation;
mod ops;
mod policy;
mod spec_attacks;
mod worker;

pub use admin::*;
pub use at_rest::*;
pub use attacks::*;
pub use auth::*;
pub use auth_limits::*;
pub use auth_policy::*;
pub use conformance::*;
pub use errors::*;
pub use isolation::*;
pub use ops::*;
pub use policy::*;
pub use spec_attacks::*;
pub use worker::*;
