//! The import-worker binary: services migrating their users in upload a CSV; rows are
//! validated, matched against existing people, and applied; a result CSV comes back.
//!
//! - `reader`: the file into its header and numbered rows, in pieces.
//! - `engine`: a chunk of rows through the rules (`identity_core::import`) and into the store.
//! - `worker`: the loop that claims queued jobs and processes them, resumable after a crash.
//! - `routes`: upload, job status, results, resume; `grant`: the services a token may import for.
//! - `file_import`, `registry_load`: the command-line imports.
//! - `registry`: the teacher registry, embedded or remote.
//! - `retention`: the sweep that removes what identity no longer needs to keep.

pub mod config;
pub mod engine;
pub mod file_import;
pub mod grant;
pub mod reader;
pub mod registry;
pub mod registry_load;
pub mod retention;
mod routes;
pub mod worker;

pub use routes::routes;
