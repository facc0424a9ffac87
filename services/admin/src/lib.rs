//! The admin binary: reviewers (and Staff SSO) merge two records of one person and undo merges,
//! through the JSON API under `/admin/v1`; every action checks the caller's role and is
//! recorded with its name.
//!
//! - `role`: viewer, reviewer, admin, and what each may do.
//! - `routes`: `/admin/v1/merges…`, `/admin/v1/reviews…` and `/admin/v1/people/{id}/…` (history,
//!   export, erase).
//! - `export`: everything held about a person as one streamed JSON document.
//! - `views`: review items as the routes and `admin reviews list` show them.
//! - `matching`: pairs worth a review among people, by the matcher's blocking keys; `scan`
//!   (`admin reviews scan`) runs it over everyone, `follower` over the people the change feed
//!   says changed; `cli`: the `reviews`, `people` and `precedence` commands.
//! - `rederive`: every combined profile derived again after a new precedence.

pub mod cli;
pub mod config;
pub mod export;
pub mod follower;
mod matching;
pub mod rederive;
pub mod role;
mod routes;
pub mod scan;
pub mod views;

pub use routes::routes;
