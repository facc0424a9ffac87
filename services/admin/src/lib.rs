//! The admin binary: reviewers (and Staff SSO) merge two records of one person and undo merges,
//! through the JSON API under `/admin/v1`; every action checks the caller's role and is
//! recorded with its name.
//!
//! - `role`: viewer, reviewer, admin, and what each may do.
//! - `routes`: `/admin/v1/merges…` and `/admin/v1/people/{id}/history`.

pub mod config;
pub mod role;
mod routes;

pub use routes::routes;
