//! End-to-end tests of the admin binary: each starts the real binary on a throw-away SQLite file
//! or PostgreSQL schema, writes people through the store the way SCIM and imports write them, and
//! merges them over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod merges;
mod personal;
mod reviews;
mod support;
mod tokens;

mod cases {
    pub use crate::merges::*;
    pub use crate::personal::*;
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
);

#[tokio::test]
async fn starts_without_configuration() {
    identity_testkit::foundation::starts_without_configuration(env!("CARGO_BIN_EXE_admin")).await;
}

#[tokio::test]
async fn serves_only_its_own_routes() {
    use identity_testkit::foundation::*;
    let others: Vec<&str> = [SSO_SCIM_ROUTES, API_ROUTES, IMPORT_WORKER_ROUTES, SSO_PROFILE_ROUTES].concat();
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

/// `admin precedence show` prints the precedence in force as TOML, every field with its list.
#[tokio::test]
async fn precedence_show_prints_every_field() {
    let dir = std::env::temp_dir().join(format!("identity-precedence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("identity.db").display());
    let out = identity_testkit::run_cli(env!("CARGO_BIN_EXE_admin"), &url, &["precedence", "show"]).await;
    assert!(out.contains("names = [\"registry\", \"sso\", \"import:*\"]\n"), "{out}");
    assert!(out.contains("email = [\"sso\", \"import:*\"]\n"), "{out}");
    assert_eq!(out.lines().filter(|l| !l.starts_with('#')).count(), 6, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
