//! The scenarios, grouped by concern; each takes a freshly started server.

mod admin;
mod attacks;
mod auth;
mod auth_limits;
mod conformance;
mod errors;
mod isolation;
mod ops;
mod policy;
mod worker;

pub use admin::*;
pub use attacks::*;
pub use auth::*;
pub use auth_limits::*;
pub use conformance::*;
pub use errors::*;
pub use isolation::*;
pub use ops::*;
pub use policy::*;
pub use worker::*;
