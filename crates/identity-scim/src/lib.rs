#![doc = include_str!("../README.md")]

pub mod error;
pub mod filter;
pub mod patch;
pub mod path;
pub mod schema;

pub use error::{ScimError, ScimType};
