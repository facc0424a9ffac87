//! The api binary: consumer services read people here and nowhere else. It never writes personal
//! data.

pub mod config;
mod routes;

pub use routes::routes;
