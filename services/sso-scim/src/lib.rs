//! The sso-scim binary: Staff SSO (and any SCIM 2.0 client) creates, updates, deactivates and
//! archives users here.

pub mod config;
mod routes;

pub use routes::routes;
