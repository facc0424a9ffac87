//! End-to-end tests of the api binary: each starts the real binary on a throw-away SQLite file
//! or PostgreSQL schema and talks HTTP to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[tokio::test]
async fn starts_without_configuration() {
    identity_testkit::foundation::starts_without_configuration(env!("CARGO_BIN_EXE_api")).await;
}

#[tokio::test]
async fn readiness_follows_postgres() {
    identity_testkit::foundation::readiness_follows_postgres(env!("CARGO_BIN_EXE_api")).await;
}
