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

schema_cases!(
    every_row_keeps_its_user,
    a_precedence_version_is_taken_up_by_every_writer,
    an_import_chunk_committing_after_a_new_precedence_is_done_again,
);

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
    a_merge_moves_links_derives_the_survivor_from_both_and_undoes_exactly,
    an_undo_after_a_later_write_is_refused,
    an_undo_is_refused_when_the_address_was_taken,
    merges_the_rules_refuse,
    a_chain_of_merges_points_at_the_last_survivor,
    a_chain_ranks_the_merged_persons_values_before_earlier_ones,
    concurrent_merges_of_one_person_one_wins,
    scim_writes_to_a_survivor_leave_the_merged_persons_link,
    an_undo_is_refused_when_the_survivors_address_was_taken,
    import_rows_are_queued_once_and_linked_by_a_decision,
    an_import_row_decided_different_becomes_a_new_person,
    people_pairs_are_queued_merged_or_remembered_as_different,
    concurrent_decisions_of_one_item_one_wins,
    a_row_links_to_its_person_though_its_address_is_someone_elses,
    a_candidate_merged_since_is_decided_as_their_survivor,
    the_matchers_lease_and_position_move_together,
    change_log_records_every_write,
    a_new_link_is_a_change,
    facts_read_ahead_hold_until_a_write,
    sequencing_numbers_more_than_one_batch,
    change_feed_has_no_gap_or_repeat_under_concurrent_writers,
    a_change_committed_late_is_numbered,
    credentials_lifecycle,
    registry_records,
    the_retention_sweep_redacts_finished_jobs_rows_once_under_a_lease,
    the_retention_sweep_redacts_the_history_of_people_archived_long_ago,
    the_retention_sweep_takes_each_archived_person_once,
    a_new_precedence_derives_everyone_again_once,
    an_undone_merge_is_derived_with_the_version_in_force,
    a_people_finder_profile_is_one_per_person_and_slug,
    a_write_abandoned_mid_way_leaves_the_next_write_working,
    merges_and_undos_abandoned_mid_way_leave_nothing_half_done,
);

/// SQLite: what is committed reaches the database file within moments, copied from the WAL by
/// the store's checkpointer beside the writer, though the WAL holds far fewer pages than would
/// make a commit copy them (SQLite's 1,000). A copy of the database file alone, without its WAL,
/// has the user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_beside_the_writer() {
    use sqlx::{Connection as _, Row as _};
    let db = harness::TestDb::sqlite().await;
    let user =
        db.store.sso_create(&cases::sso_user("ann", "Ann", "Lee", "ann@example.com"), &cases::actor()).await.unwrap();
    let path = db.db.url.trim_start_matches("sqlite://").to_owned();
    let copy = format!("{path}.copy");
    let mut found = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        std::fs::copy(&path, &copy).unwrap();
        let Ok(mut conn) = sqlx::SqliteConnection::connect(&format!("sqlite://{copy}")).await else { continue };
        found = sqlx::query("SELECT count(*) AS n FROM users WHERE id = ?")
            .bind(*user.id.as_uuid())
            .fetch_one(&mut conn)
            .await
            .map_or(0, |r| r.get::<i64, _>("n"));
        let _ = conn.close().await;
        let _ = std::fs::remove_file(&copy);
        if found == 1 {
            break;
        }
    }
    assert_eq!(found, 1, "the user reached the database file");
    db.cleanup().await;
}
