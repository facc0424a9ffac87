//! End-to-end tests across binaries: sso-scim, import-worker, admin and api started together on
//! one throw-away SQLite file or PostgreSQL schema, driven only over HTTP as their callers drive
//! them. The binaries are the workspace's (`target/<profile>/`): build the workspace first
//! (`scripts/test.sh` does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod merge;
mod support;

mod cases {
    pub use crate::merge::*;
}

identity_testkit::both_backends!(crate::cases:
    sso_an_import_a_merge_and_its_undo,
);
