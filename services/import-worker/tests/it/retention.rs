//! The retention sweep (`[retention]`), in the binary's loop and from its command line.

use std::time::Duration;

use identity_store::testing::TestDatabase;

use crate::support::{example, store, Importer};

const SWEEP_NOW: [(&str, &str); 2] =
    [("IDENTITY_RETENTION__IMPORT_ROWS_DAYS", "0"), ("IDENTITY_RETENTION__SWEEP_EVERY_S", "1")];

async fn rows_with_data(db: &TestDatabase, job: &str) -> usize {
    let rows = store(db).await.import_rows(job.parse().unwrap(), 0, 1000).await.unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.outcome.is_some()), "outcomes stay");
    rows.iter().filter(|r| !r.raw_data.is_empty() || !r.source_id.is_empty() || r.notes.is_some()).count()
}

/// `serve` sweeps on its own: a job finished longer ago than `import_rows_days` (0 here) loses
/// its rows' data, says when, its results answer 410, and `/metrics` counts what went.
pub async fn the_worker_sweeps_finished_jobs_rows_away(db: &TestDatabase) {
    let imp = Importer::start(db, &SWEEP_NOW).await;
    let id = imp.upload("?service=npq", std::fs::read(example("users.csv")).unwrap()).await.job_id();
    let done = imp.wait_done(&id).await;
    let job = imp.wait_for(&id, Duration::from_secs(30), |j| !j["data_removed_at"].is_null()).await;
    assert_eq!(job["rows_done"], 35, "{job}");
    assert_eq!(job["counts"], done["counts"], "counts stay");
    let gone = imp.get(&format!("/imports/{id}/results")).await;
    assert!(gone.assert_error(410, "data_removed").contains("retention"), "{}", gone.text);
    assert_eq!(rows_with_data(db, &id).await, 0);
    let metrics = imp.svc.http.get(imp.svc.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let metric = |name: &str| {
        let line = metrics.lines().find(|l| l.starts_with(&format!("identity_retention_{name}{{")));
        line.and_then(|l| l.rsplit(' ').next()).unwrap_or_else(|| panic!("no {name}:\n{metrics}")).to_owned()
    };
    assert_eq!(metric("import_rows_redacted_total"), "35");
    assert_eq!(metric("import_jobs_redacted_total"), "1");
    assert_eq!(metric("sweep_failures_total"), "0");
    assert!(metric("sweeps_total").parse::<u64>().unwrap() >= 1);
    assert!(metric("last_sweep_timestamp_seconds").parse::<i64>().unwrap() > 1_700_000_000);
    imp.assert_no_server_errors().await;
}

/// `import-worker retention sweep` runs it once, saying what it removed; a second run finds
/// nothing left, and a job within its days keeps its rows.
pub async fn the_command_line_sweeps_once(db: &TestDatabase) {
    let imp = Importer::start(db, &[("IDENTITY_RETENTION__ENABLED", "false")]).await;
    let id = imp.upload("?service=npq", std::fs::read(example("users.csv")).unwrap()).await.job_id();
    imp.wait_done(&id).await;
    let kept = imp.svc.cli(&["retention", "sweep"]).await;
    assert_eq!(kept.trim(), "Removed the raw data of 0 import rows of 0 jobs, and the history of 0 archived people.");
    assert_eq!(rows_with_data(db, &id).await, 35, "finished today: kept for 90 days");

    let now = [("IDENTITY_RETENTION__IMPORT_ROWS_DAYS", "0")];
    let out = imp.svc.cli_output(&["retention", "sweep"], &now).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Removed the raw data of 35 import rows of 1 job, and the history of 0 archived people."
    );
    assert_eq!(rows_with_data(db, &id).await, 0);
    imp.get(&format!("/imports/{id}/results")).await.assert_error(410, "data_removed");
    let again = imp.svc.cli_output(&["retention", "sweep"], &now).await;
    assert!(String::from_utf8_lossy(&again.stdout).contains("of 0 import rows of 0 jobs"), "nothing twice");
}
