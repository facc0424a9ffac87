//! The import-worker binary: services migrating their users in upload a CSV; rows are
//! validated, matched against existing people, and applied; a result CSV comes back.

pub mod config;
mod routes;

pub use routes::routes;
