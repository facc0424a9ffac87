//! End-to-end tests of the peoplefinder binary: each starts the real binary on a throw-away SQLite
//! file or PostgreSQL schema, provisions people the way SCIM does (through the store), and drives
//! People Finder's routes over HTTP, signed with Hawk or a bearer token. (A People Finder write
//! read back through the api binary: `tests/e2e`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod people;
mod teams;

mod cases {
    pub use crate::people::*;
    pub use crate::teams::*;
}

identity_testkit::both_backends!(crate::cases:
    people_are_created_read_and_replaced_as_people_finder_expects,
    a_profile_feeds_the_combined_profile_through_precedence,
    callers_must_authenticate,
    teams_form_a_tree_under_the_root,
    the_departments_lists_are_loaded_from_its_datasets,
);

#[tokio::test]
async fn starts_without_configuration() {
    identity_testkit::foundation::starts_without_configuration(env!("CARGO_BIN_EXE_peoplefinder")).await;
}

#[tokio::test]
async fn serves_only_its_own_routes() {
    use identity_testkit::foundation::*;
    let others: Vec<&str> =
        [SSO_SCIM_ROUTES, API_ROUTES, IMPORT_WORKER_ROUTES, ADMIN_ROUTES, SSO_PROFILE_ROUTES].concat();
    serves_only_its_own_routes(env!("CARGO_BIN_EXE_peoplefinder"), PEOPLEFINDER_ROUTES, &others).await;
}

#[tokio::test]
async fn network_profile_is_enforced() {
    identity_testkit::foundation::network_profile_is_enforced(
        env!("CARGO_BIN_EXE_peoplefinder"),
        "/api/peoplefinder/reference/grades",
    )
    .await;
}

#[test]
fn deploy_files_agree() {
    identity_testkit::foundation::deploy_files_agree::<peoplefinder::config::Config>("peoplefinder", |c| {
        c.http.bind.port()
    });
}
