#![doc = include_str!("../README.md")]

pub mod change;
pub mod combined;
pub mod import;
pub mod link;
pub mod matcher;
pub mod merge;
pub mod nicknames;
pub mod normalize;
pub mod precedence;
pub mod profile;
pub mod query;
pub mod registry;
pub mod review;
pub mod source;
pub mod team;
pub mod user;

pub use combined::{CombinedProfile, Sourced};
pub use link::Link;
pub use profile::{DateOfBirth, Email, ProfileFields, SourceProfile, Trn};
pub use registry::RegistryRecord;
pub use source::{ServiceName, Source};
pub use user::{User, UserId, UserStatus};
