//! A worker killed in the middle of a job: another process resumes after the last committed
//! chunk, and the result file is the one an uninterrupted run gives, with no row applied twice.

use std::time::Duration;

use identity_store::testing::TestDatabase;

use crate::generate::generate;
use crate::support::*;

const ROWS: usize = 3_000;
/// Chunks committed before the kill: the new worker has a real checkpoint to resume after.
const KILL_AFTER_ROWS: i64 = 400;
const SETTINGS: &[(&str, &str)] = &[("IDENTITY_IMPORT__CHUNK_ROWS", "50"), ("IDENTITY_IMPORT__LEASE_MS", "1000")];

pub async fn a_killed_worker_is_resumed_with_the_same_results(db: &TestDatabase) {
    let file = generate(ROWS);

    // Interrupted: SIGKILL once several chunks are committed and more are to come.
    load_registry(db, &file.registry).await;
    let first = Importer::start(db, SETTINGS).await;
    let id = first.upload("?service=gen", file.users.clone()).await.job_id();
    let job = first
        .wait_for(&id, Duration::from_secs(60), |j| {
            j["rows_done"].as_i64() >= Some(KILL_AFTER_ROWS) || j["status"] == "done"
        })
        .await;
    let token = first.token.clone();
    first.svc.kill().await;
    let done_at_kill = job["rows_done"].as_i64().unwrap();
    assert!(
        done_at_kill < ROWS as i64,
        "the job finished before the worker could be killed ({job}): make the file bigger"
    );
    assert_eq!(done_at_kill % 50, 0, "progress moves a whole chunk at a time: {job}");
    let second = Importer::again(db, SETTINGS, &token).await;
    let after_crash = second.wait_for(&id, Duration::from_secs(90), |j| j["status"] == "done").await;
    let resumed = second.results(&id).await;
    let lines = parse_results(&resumed);
    assert_eq!(lines.len(), ROWS);
    assert_eq!(job_counts(&after_crash), outcome_counts(&lines), "{after_crash}");
    assert_eq!(people_count(db).await, added_ids(&lines).len(), "no row was applied twice");
    let resumed_from: Vec<i64> = second
        .svc
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "processing import job")
        .filter_map(|l| l["import.rows_done"].as_i64())
        .collect();
    assert_eq!(resumed_from.len(), 1, "the new worker took the job once");
    assert!(resumed_from[0] >= done_at_kill, "it resumed after the checkpoint ({resumed_from:?}), not from row one");

    // Uninterrupted, on a fresh database.
    let fresh = another_database(db).await;
    load_registry(&fresh, &file.registry).await;
    let whole = Importer::start(&fresh, SETTINGS).await;
    let (job, straight) = whole.import("?service=gen", file.users).await;
    assert_eq!(job_counts(&job), job_counts(&after_crash));
    assert_same_results(&resumed, &straight, "killed and resumed, against uninterrupted");
    assert_eq!(people_count(&fresh).await, added_ids(&parse_results(&straight)).len());
    drop(whole);
    fresh.drop_now().await;

    // The file exercises what it is meant to, across chunks.
    let [none, added, updated, invalid] = outcome_counts(&lines);
    assert!(none > 0 && added > 0 && updated > 0 && invalid > 0, "{:?}", [none, added, updated, invalid]);
    assert!(lines.iter().any(|l| l.notes.starts_with("Potential duplicate user")));
    assert!(lines.iter().any(|l| l.notes == "Updated TRN and name for existing user"));
}
