//! The api binary: consumer services read people here and nowhere else. It never writes personal
//! data.
//!
//! - `routes`: `/api/v1/people…`, `/api/v1/changes`, `/api/v1/openapi.json`, with API keys,
//!   scopes and a per-key rate limit.
//! - `views`: what the routes answer (the OpenAPI document is generated from these).
//! - `ratelimit`: the per-key token bucket.

pub mod config;
mod ratelimit;
mod routes;
pub mod views;

pub use routes::{routes, ApiDoc};

/// Every scope an API key may have; a Hawk-signed caller (the seed system's) has them all.
pub const SCOPES: &[&str] = &["people:read", "profiles:read", "changes:read"];
