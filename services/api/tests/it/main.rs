//! End-to-end tests of the api binary: each starts the real binary on a throw-away SQLite file
//! or PostgreSQL schema, writes data through the store the way SCIM and imports write it, and
//! reads it over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod feed;
mod hawk;
mod people;
mod support;

mod cases {
    pub use crate::access::*;
    pub use crate::feed::*;
    pub use crate::hawk::*;
    pub use crate::people::*;
}

identity_testkit::both_backends!(crate::cases:
    a_person_with_the_source_of_every_field,
    explain_says_why_each_field_has_its_value,
    archived_merged_and_missing_people,
    lookups_and_listing,
    the_feed_has_no_gap_and_no_repeat_under_concurrent_writers,
    keys_scopes_and_rate_limits,
    the_openapi_document_is_valid_and_complete,
    only_api_routes_are_served,
    hawk_signatures_are_checked,
    a_replay_spends_none_of_the_callers_rate,
    hawk_is_refused_unless_configured,
);

#[tokio::test]
async fn starts_without_configuration() {
    identity_testkit::foundation::starts_without_configuration(env!("CARGO_BIN_EXE_api")).await;
}

#[tokio::test]
async fn reads_survive_sessions_ended_by_postgres() {
    let key = ["keys", "create", "--name", "feed", "--scope", "changes:read"];
    identity_testkit::foundation::reads_survive_ended_sessions(
        env!("CARGO_BIN_EXE_api"),
        &key,
        "/api/v1/changes?after=0",
    )
    .await;
}

#[tokio::test]
async fn connections_are_timed_out_and_limited() {
    identity_testkit::foundation::connections_are_timed_out_and_limited(env!("CARGO_BIN_EXE_api")).await;
}

#[tokio::test]
async fn readiness_follows_postgres() {
    identity_testkit::foundation::readiness_follows_postgres(env!("CARGO_BIN_EXE_api")).await;
}

#[tokio::test]
async fn serves_only_its_own_routes() {
    use identity_testkit::foundation::*;
    let others: Vec<&str> =
        [SSO_SCIM_ROUTES, IMPORT_WORKER_ROUTES, ADMIN_ROUTES, SSO_PROFILE_ROUTES, PEOPLEFINDER_ROUTES].concat();
    serves_only_its_own_routes(env!("CARGO_BIN_EXE_api"), API_ROUTES, &others).await;
}

#[tokio::test]
async fn network_profile_is_enforced() {
    identity_testkit::foundation::network_profile_is_enforced(env!("CARGO_BIN_EXE_api"), "/api/v1/people").await;
}

#[test]
fn deploy_files_agree() {
    identity_testkit::foundation::deploy_files_agree::<api::config::Config>("api", |c| c.http.bind.port());
}
