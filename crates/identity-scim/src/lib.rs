#![doc = include_str!("../README.md")]

pub mod discovery;
pub mod error;
pub mod filter;
pub mod patch;
pub mod path;
pub mod schema;
pub mod user;

pub use error::{ScimError, ScimType};
