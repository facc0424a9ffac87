//! The peoplefinder binary: People Finder's API (DESIGN.md §7.7) as the seed system serves it,
//! under `/api/peoplefinder`. What people write about themselves there is their `peoplefinder`
//! source profile, which feeds their combined profile through precedence.

pub mod config;
pub mod datasets;
mod reference;
mod request;
mod routes;
mod teams;

pub use routes::routes;
