//! End-to-end tests of the import-worker binary: each starts the real binary on a throw-away SQLite file
//! or PostgreSQL schema and uses its command line and HTTP routes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod crash;
mod errors;
mod generate;
mod http;
mod rawhttp;
mod remote;
mod retention;
mod stub;
mod support;

mod cases {
    pub use crate::cli::*;
    pub use crate::crash::*;
    pub use crate::errors::*;
    pub use crate::http::*;
    pub use crate::remote::*;
    pub use crate::retention::*;
}

identity_testkit::both_backends!(crate::cases:
    cli_import_gives_the_example_results_and_a_rerun_changes_nothing,
    cli_dry_run_writes_the_results_and_changes_nothing,
    rows_see_the_chunk_just_before_them,
    registry_load_refuses_bad_records_and_loads_the_rest,
    http_import_gives_the_example_results,
    the_openapi_document_describes_the_routes,
    routes_need_a_token,
    a_token_reaches_its_own_services_only,
    bad_requests_are_refused_precisely,
    oversized_uploads_are_refused,
    an_upload_cut_off_fails_its_job,
    awkward_rows_get_their_own_results,
    a_ten_megabyte_field_is_one_invalid_row,
    an_upload_after_100_continue_outlasts_the_header_timeout,
    a_killed_worker_is_resumed_with_the_same_results,
    a_job_no_worker_finishes_is_given_up,
    claims_that_move_a_job_on_do_not_count,
    an_upload_left_by_a_stopped_process_fails_its_job,
    a_long_dry_run_keeps_its_job,
    a_remote_registry_gives_the_same_results,
    the_remote_registry_is_retried,
    a_registry_outage_fails_the_job_resumably,
    cli_import_fails_with_a_reason_when_the_registry_is_down,
    the_worker_sweeps_finished_jobs_rows_away,
    the_command_line_sweeps_once,
);

#[tokio::test]
async fn starts_without_configuration() {
    identity_testkit::foundation::starts_without_configuration(env!("CARGO_BIN_EXE_import-worker")).await;
}

#[tokio::test]
async fn two_workers_on_postgres_never_add_the_same_person_twice() {
    crash::two_workers_never_add_the_same_person_twice().await;
}

#[tokio::test]
async fn two_cli_imports_on_postgres_never_add_the_same_person_twice() {
    crash::two_cli_imports_never_add_the_same_person_twice().await;
}

#[tokio::test]
async fn a_job_survives_sessions_ended_by_postgres() {
    crash::a_job_survives_sessions_ended_by_postgres().await;
}

#[tokio::test]
async fn connections_are_timed_out_and_limited() {
    identity_testkit::foundation::connections_are_timed_out_and_limited(env!("CARGO_BIN_EXE_import-worker")).await;
}

#[tokio::test]
async fn readiness_follows_postgres() {
    identity_testkit::foundation::readiness_follows_postgres(env!("CARGO_BIN_EXE_import-worker")).await;
}

#[tokio::test]
async fn serves_only_its_own_routes() {
    use identity_testkit::foundation::*;
    let others: Vec<&str> =
        [SSO_SCIM_ROUTES, API_ROUTES, ADMIN_ROUTES, SSO_PROFILE_ROUTES, PEOPLEFINDER_ROUTES].concat();
    serves_only_its_own_routes(env!("CARGO_BIN_EXE_import-worker"), IMPORT_WORKER_ROUTES, &others).await;
}

#[tokio::test]
async fn network_profile_is_enforced() {
    identity_testkit::foundation::network_profile_is_enforced(env!("CARGO_BIN_EXE_import-worker"), "/imports").await;
}

#[test]
fn deploy_files_agree() {
    identity_testkit::foundation::deploy_files_agree::<import_worker::config::Config>("import-worker", |c| {
        c.http.bind.port()
    });
}
