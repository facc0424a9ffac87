#![doc = include_str!("../README.md")]

pub mod error;
pub mod schema;

pub use error::{ScimError, ScimType};
