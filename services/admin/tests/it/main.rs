//! End-to-end tests of the admin binary: each starts the real binary on a throw-away SQLite file
//! or PostgreSQL schema, writes people through the store the way SCIM and imports write them, and
//! merges them over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod merges;
mod personal;
mod precedence;
mod reviews;
mod support;
mod tokens;

mod cases {
    pub use crate::merges::*;
    pub use crate::personal::*;
    pub use crate::precedence::*;
    pub use crate::reviews::*;
    pub use crate::tokens::*;
}

identity_testkit::both_backends!(crate::cases:
    a_reviewer_merges_and_an_admin_undoes,
    roles_decide_who_may_do_what,
    bad_requests_get_clear_errors,
    concurrent_merges_of_one_person_one_wins,
    a_merge_killed_midway_is_whole_or_absent,
    a_reviewer_links_an_import_row,
    a_scan_queues_alike_people_once,
    the_matcher_follows_the_feed,
    an_admin_manages_tokens_over_http,
    an_erasure_killed_midway_is_whole_or_absent,
    a_long_history_is_exported_whole_and_in_order,
    a_precedence_is_checked_stored_and_derived_in_the_background,
    a_rederivation_killed_midway_finishes_once,
);

#[tokio::test]
async fn starts_without_configuration() {
    identity_testkit::foundation::starts_without_configuration(env!("CARGO_BIN_EXE_admin")).await;
}

#[tokio::test]
async fn serves_only_its_own_routes() {
    use identity_testkit::foundation::*;
    let others: Vec<&str> =
        [SSO_SCIM_ROUTES, API_ROUTES, IMPORT_WORKER_ROUTES, SSO_PROFILE_ROUTES, PEOPLEFINDER_ROUTES].concat();
    serves_only_its_own_routes(env!("CARGO_BIN_EXE_admin"), ADMIN_ROUTES, &others).await;
}

#[tokio::test]
async fn network_profile_is_enforced() {
    identity_testkit::foundation::network_profile_is_enforced(
        env!("CARGO_BIN_EXE_admin"),
        "/admin/v1/merges/00000000-0000-4000-8000-000000000000",
    )
    .await;
}

#[tokio::test]
async fn readiness_follows_postgres() {
    identity_testkit::foundation::readiness_follows_postgres(env!("CARGO_BIN_EXE_admin")).await;
}

#[test]
fn deploy_files_agree() {
    identity_testkit::foundation::deploy_files_agree::<admin::config::Config>("admin", |c| c.http.bind.port());
}
