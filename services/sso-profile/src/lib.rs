//! The sso-profile binary: Staff SSO reads a person's sign-in profile here on every sign-in, from
//! memory, so a sign-in never waits for the database.

pub mod config;
mod follower;
mod routes;
mod signins;
mod views;

pub use follower::{FeedMetrics, Follower};
pub use routes::routes;
pub use signins::SignIns;
