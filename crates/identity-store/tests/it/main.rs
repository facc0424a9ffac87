//! The store's conformance suite: every case runs unchanged against SQLite and PostgreSQL, each
//! on its own database (a temporary SQLite file, a fresh PostgreSQL schema), so cases run in
//! parallel. One test binary for the crate: each file under `tests/` would be another link.
//!
//! PostgreSQL comes from `IDENTITY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached the PostgreSQL cases
//! pass with a message saying they were skipped, unless `IDENTITY_REQUIRE_POSTGRES=1` (CI), in
//! which case they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cases;
mod harness;

/// Declares each case once per backend: `sqlite::name` and `postgres::name`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = crate::harness::TestDb::sqlite().await;
                    crate::cases::$case(db.store.clone()).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = crate::harness::TestDb::postgres().await else { return };
                    crate::cases::$case(db.store.clone()).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

/// Declares a case that also needs the database itself (to send it SQL the store would not).
macro_rules! schema_cases {
    ($($case:ident),* $(,)?) => {
        mod sqlite_schema {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = crate::harness::TestDb::sqlite().await;
                    crate::cases::$case(db.store.clone(), &db.db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres_schema {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = crate::harness::TestDb::postgres().await else { return };
                    crate::cases::$case(db.store.clone(), &db.db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

schema_cases!(every_row_keeps_its_user);

conformance!(
    migrations_apply_twice,
    sso_create_then_get,
    sso_user_name_is_unique_case_insensitively,
    sso_concurrent_creates_of_one_user_name_one_wins,
    sso_email_is_unique_among_live_users,
    sso_replace_bumps_version_and_checks_if_match,
    sso_rename_moves_the_link,
    sso_deactivate_and_reactivate,
    sso_archive_hides_and_releases,
    sso_create_attaches_to_an_imported_person,
    sso_filter_operators,
    sso_filter_value_paths_and_extensions,
    sso_filter_logic_and_absent_attributes,
    sso_sort_and_index_paging,
    sso_cursor_paging_is_stable_under_deletes,
    failed_write_leaves_nothing_behind,
    combined_profile_and_links_for_people,
    people_listing_and_lookups,
    merged_users_point_at_the_survivor,
    change_log_records_every_write,
    a_new_link_is_a_change,
    sequencing_numbers_more_than_one_batch,
    change_feed_has_no_gap_or_repeat_under_concurrent_writers,
    a_change_committed_late_is_numbered,
    credentials_lifecycle,
    registry_records,
);
