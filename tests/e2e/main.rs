//! End-to-end tests across binaries: sso-scim, import-worker, admin and api (with peoplefinder or
//! sso-profile where a test needs them) started together on one throw-away SQLite file or
//! PostgreSQL schema, driven only over HTTP as their callers drive them. The binaries are the workspace's (`target/<profile>/`): build the workspace first
//! (`scripts/test.sh` does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod hawk;
mod logs;
mod merge;
mod peoplefinder;
mod personal;
mod sign_in;
mod support;

mod cases {
    pub use crate::hawk::*;
    pub use crate::logs::*;
    pub use crate::merge::*;
    pub use crate::peoplefinder::*;
    pub use crate::personal::*;
    pub use crate::sign_in::*;
}

identity_testkit::both_backends!(crate::cases:
    sso_an_import_a_merge_and_its_undo,
    scim_writes_reach_the_sign_in_profile,
    hawk_with_mohawk,
    a_person_is_exported_then_erased_from_every_table,
    nothing_personal_reaches_the_logs,
    a_people_finder_write_shows_in_api_with_its_source,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_answer_while_postgres_is_stopped() {
    sign_in::sign_ins_answer_while_postgres_is_stopped().await;
}
