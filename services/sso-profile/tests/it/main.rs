//! End-to-end tests of the sso-profile binary: each starts the real binary on a throw-away SQLite
//! file or PostgreSQL schema, writes people through the store the way SCIM writes them, and reads
//! their sign-in profiles over HTTP. (With sso-scim writing, and with PostgreSQL stopped, in
//! `tests/e2e`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod profiles;

mod cases {
    pub use crate::profiles::*;
}

identity_testkit::both_backends!(crate::cases:
    sign_in_profiles_follow_the_store,
    callers_must_authenticate,
);

#[tokio::test]
async fn starts_without_configuration() {
    identity_testkit::foundation::starts_without_configuration(env!("CARGO_BIN_EXE_sso-profile")).await;
}

#[tokio::test]
async fn serves_only_its_own_routes() {
    use identity_testkit::foundation::*;
    let others: Vec<&str> =
        [SSO_SCIM_ROUTES, API_ROUTES, IMPORT_WORKER_ROUTES, ADMIN_ROUTES, PEOPLEFINDER_ROUTES].concat();
    serves_only_its_own_routes(env!("CARGO_BIN_EXE_sso-profile"), SSO_PROFILE_ROUTES, &others).await;
}

#[tokio::test]
async fn network_profile_is_enforced() {
    identity_testkit::foundation::network_profile_is_enforced(env!("CARGO_BIN_EXE_sso-profile"), "/api/sso/ann").await;
}

#[test]
fn deploy_files_agree() {
    identity_testkit::foundation::deploy_files_agree::<sso_profile::config::Config>("sso-profile", |c| {
        c.http.bind.port()
    });
}
