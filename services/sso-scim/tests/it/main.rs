//! End-to-end tests of the sso-scim binary: each starts the real binary on a throw-away SQLite file
//! or PostgreSQL schema and talks SCIM to it over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod filters;
mod hawk;
mod lifecycle;
mod patch;
mod support;

mod cases {
    pub use crate::errors::*;
    pub use crate::filters::*;
    pub use crate::hawk::*;
    pub use crate::lifecycle::*;
    pub use crate::patch::*;
}

identity_testkit::both_backends!(crate::cases:
    create_read_replace_delete,
    shutdown_numbers_the_last_writes,
    deactivation_and_the_combined_profile,
    every_write_changes_the_etag_and_if_match_guards_writes,
    duplicate_user_names_conflict_even_when_racing,
    logs_hold_no_personal_data,
    every_operator_and_grouping,
    bad_filters_are_invalid_filter,
    sorting_paging_and_projection,
    the_combined_profile_is_returned_on_request,
    cursor_walks_are_stable_under_deletes,
    every_patch_form,
    identity_provider_quirks,
    patch_errors,
    patches_are_bounded,
    contending_patches_all_apply,
    bad_requests_get_clear_errors,
    discovery_documents,
    authentication,
    only_scim_routes_are_served,
    hawk_signed_scim_writes,
);

#[tokio::test]
async fn starts_without_configuration() {
    identity_testkit::foundation::starts_without_configuration(env!("CARGO_BIN_EXE_sso-scim")).await;
}

#[tokio::test]
async fn patches_through_two_replicas_on_postgres_all_apply() {
    patch::patches_through_two_replicas_all_apply().await;
}

#[tokio::test]
async fn conflicts_leave_no_personal_data_in_the_postgres_log() {
    errors::conflicts_leave_no_personal_data_in_the_postgres_log().await;
}

#[tokio::test]
async fn sessions_ended_by_postgres_are_retried() {
    errors::sessions_ended_by_postgres_are_retried().await;
}

#[tokio::test]
async fn connections_are_timed_out_and_limited() {
    identity_testkit::foundation::connections_are_timed_out_and_limited(env!("CARGO_BIN_EXE_sso-scim")).await;
}

#[tokio::test]
async fn readiness_follows_postgres() {
    identity_testkit::foundation::readiness_follows_postgres(env!("CARGO_BIN_EXE_sso-scim")).await;
}

#[tokio::test]
async fn serves_only_its_own_routes() {
    use identity_testkit::foundation::*;
    let others: Vec<&str> =
        [API_ROUTES, IMPORT_WORKER_ROUTES, ADMIN_ROUTES, SSO_PROFILE_ROUTES, PEOPLEFINDER_ROUTES].concat();
    serves_only_its_own_routes(env!("CARGO_BIN_EXE_sso-scim"), SSO_SCIM_ROUTES, &others).await;
}

#[tokio::test]
async fn network_profile_is_enforced() {
    identity_testkit::foundation::network_profile_is_enforced(env!("CARGO_BIN_EXE_sso-scim"), "/scim/v2/Users").await;
}

#[test]
fn deploy_files_agree() {
    identity_testkit::foundation::deploy_files_agree::<sso_scim::config::Config>("sso-scim", |c| c.http.bind.port());
}
