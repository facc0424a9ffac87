use chrono::{Duration, Utc};
use identity_core::import::Outcome;
use identity_core::{ServiceName, UserId};
use identity_store::{
    Actor, ChunkResults, ImportRowResult, NewImportJob, NewImportRow, NewMerge, OutcomeCounts, Store, StoreError,
    SweptRows,
};

use super::{actor, sso_user};

const HEADER: &str = "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH";

fn later() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::seconds(60)
}

/// A job of `rows` rows (`hr-1` … with their raw lines), each naming `user` if given, claimed
/// and, if `finish`, processed and finished (else left running).
async fn job(store: &Store, rows: i64, user: Option<UserId>, finish: bool) -> uuid::Uuid {
    let job = store
        .import_job_create(&NewImportJob {
            service: ServiceName::new("hr").unwrap(),
            file_name: "hr.csv".into(),
            submitted_by: "test".into(),
            dry_run: false,
            columns: HEADER.into(),
        })
        .await
        .unwrap();
    let stored: Vec<NewImportRow> = (1..=rows)
        .map(|n| NewImportRow {
            row_number: n,
            source_id: format!("hr-{n}"),
            raw_data: format!("hr-{n},row{n}@example.com,,Row,,Number{n},,01011980"),
            problem: None,
        })
        .collect();
    store.import_rows_append(job.id, &stored).await.unwrap();
    store.import_job_queue(job.id, rows).await.unwrap();
    let worker = "worker-1";
    let claimed = store.import_job_claim(worker, later()).await.unwrap().unwrap();
    assert_eq!(claimed.id, job.id);
    if !finish {
        return job.id;
    }
    let results = (1..=rows)
        .map(|n| ImportRowResult { row_number: n, outcome: Outcome::None, notes: format!("note {n}"), user_id: user })
        .collect();
    let mut session = store.import_session().await.unwrap();
    session
        .record_results(&ChunkResults {
            job_id: job.id,
            worker: worker.into(),
            results,
            counts: OutcomeCounts { none: rows, ..OutcomeCounts::default() },
            after: 0,
            rows_done: rows,
            lease_until: later(),
        })
        .await
        .unwrap();
    session.commit().await.unwrap();
    store.import_job_finish(job.id, worker, None).await.unwrap();
    job.id
}

/// Rows of `job` still holding their raw line.
async fn rows_with_data(store: &Store, job: uuid::Uuid) -> usize {
    let rows = store.import_rows(job, 0, 10_000).await.unwrap();
    rows.iter().filter(|r| !r.raw_data.is_empty() || !r.source_id.is_empty() || r.notes.is_some()).count()
}

/// The import-row part of the sweep: finished jobs only, a chunk at a time from where the last
/// holder left off, every row once, under one lease at a time.
pub async fn the_retention_sweep_redacts_finished_jobs_rows_once_under_a_lease(store: Store) {
    let done = job(&store, 10, None, true).await;
    let queued = job(&store, 4, None, false).await;
    let cutoff = Utc::now() + Duration::seconds(1);

    assert!(store.retention_lease("a", later()).await.unwrap());
    assert!(!store.retention_lease("b", later()).await.unwrap(), "one holder at a time");
    assert!(matches!(store.retention_import_rows("b", cutoff, 3, later()).await, Err(StoreError::NotFound)));
    let first = store.retention_import_rows("a", cutoff, 3, later()).await.unwrap();
    assert_eq!(first, Some(SweptRows { rows: 3, job_done: false }));
    assert_eq!(rows_with_data(&store, done).await, 7);

    // a stalls past its lease (renewed to a moment ago): b takes over where a's chunk committed.
    assert!(store.retention_lease("a", Utc::now() - Duration::seconds(1)).await.unwrap());
    assert!(store.retention_lease("b", later()).await.unwrap());
    assert!(matches!(store.retention_import_rows("a", cutoff, 3, later()).await, Err(StoreError::NotFound)));
    let mut swept = 3;
    let mut chunks = Vec::new();
    while let Some(chunk) = store.retention_import_rows("b", cutoff, 3, later()).await.unwrap() {
        swept += chunk.rows;
        chunks.push(chunk);
    }
    assert_eq!(swept, 10, "every row once: {chunks:?}");
    assert!(chunks.last().unwrap().job_done);
    assert_eq!(rows_with_data(&store, done).await, 0);
    let rows = store.import_rows(done, 0, 100).await.unwrap();
    assert!(rows.iter().all(|r| r.outcome == Some(Outcome::None)), "outcomes stay");
    let job_now = store.import_job(done).await.unwrap();
    assert!(job_now.data_removed_at.is_some());
    assert_eq!(job_now.counts.none, 10, "counts stay");
    assert_eq!(rows_with_data(&store, queued).await, 4, "a job not finished keeps its rows");
    assert_eq!(store.retention_import_rows("b", cutoff, 3, later()).await.unwrap(), None, "nothing twice");

    // A job finished after the cutoff waits for a later sweep.
    let recent = job(&store, 2, None, true).await;
    assert_eq!(store.retention_import_rows("b", cutoff - Duration::days(1), 3, later()).await.unwrap(), None);
    assert_eq!(rows_with_data(&store, recent).await, 2);

    // A failed job the sweep has begun cannot be resumed: its rows are no longer whole.
    let failed = job(&store, 4, None, false).await;
    store.import_job_finish(failed, "worker-1", Some("the registry was down")).await.unwrap();
    let cutoff = Utc::now() + Duration::seconds(1);
    while store.import_job(failed).await.unwrap().data_removed_at.is_none() {
        store.retention_import_rows("b", cutoff, 1, later()).await.unwrap().unwrap();
    }
    assert!(rows_with_data(&store, failed).await > 0, "begun, not done: {}", rows_with_data(&store, failed).await);
    assert!(matches!(store.import_job_resume(failed).await, Err(StoreError::NotFound)));
    while store.retention_import_rows("b", cutoff, 1, later()).await.unwrap().is_some() {}
    assert_eq!(rows_with_data(&store, failed).await, 0);

    store.retention_release("b").await.unwrap();
    assert!(store.retention_lease("c", later()).await.unwrap(), "a released lease is free at once");
}

/// The archived part's place moves forward one person at a time: each archived person once, in
/// the order of their archiving, and a person archived after the sweep passed comes later.
pub async fn the_retention_sweep_takes_each_archived_person_once(store: Store) {
    let mut archived = Vec::new();
    for name in ["ann", "bob", "cat"] {
        let user =
            store.sso_create(&sso_user(name, name, "Lee", &format!("{name}@example.com")), &actor()).await.unwrap().id;
        job(&store, 1, Some(user), true).await;
        store.sso_archive(user, None, &actor()).await.unwrap();
        archived.push(user);
    }
    assert!(store.retention_lease("a", later()).await.unwrap());
    let cutoff = Utc::now() + Duration::seconds(1);
    for _ in &archived {
        assert_eq!(store.retention_archived("a", cutoff, 1, later()).await.unwrap(), Some(1));
    }
    assert_eq!(store.retention_archived("a", cutoff, 1, later()).await.unwrap(), None);
    let late = store.sso_create(&sso_user("dan", "Dan", "Lee", "dan@example.com"), &actor()).await.unwrap().id;
    let late_rows = job(&store, 1, Some(late), true).await;
    store.sso_archive(late, None, &actor()).await.unwrap();
    let cutoff = Utc::now() + Duration::seconds(1);
    assert_eq!(store.retention_archived("a", cutoff, 5, later()).await.unwrap(), Some(1), "only the new one");
    assert_eq!(rows_with_data(&store, late_rows).await, 0);
}

/// The archived part: people archived (by their owner) before the cutoff lose the values their
/// history holds, and so do the records merged into them; live people and merged records of
/// live people keep theirs.
pub async fn the_retention_sweep_redacts_the_history_of_people_archived_long_ago(store: Store) {
    let leaver = store.sso_create(&sso_user("leaver", "Lea", "Ver", "lea@example.com"), &actor()).await.unwrap().id;
    let twin = store.sso_create(&sso_user("twin", "Lea", "Ver", "lea.v@example.com"), &actor()).await.unwrap().id;
    let stayer = store.sso_create(&sso_user("stayer", "Stay", "Er", "stay@example.com"), &actor()).await.unwrap().id;
    let merge = store
        .merge(&NewMerge { survivor: leaver, merged: twin, reason: "Lea Ver twice".into() }, &Actor::new("reviewer"))
        .await
        .unwrap();
    let leaver_rows = job(&store, 3, Some(twin), true).await;
    let stayer_rows = job(&store, 2, Some(stayer), true).await;
    store.sso_archive(leaver, None, &actor()).await.unwrap();
    // The rows' own retention is far off: only the archived part touches them.
    let rows_cutoff = Utc::now() - Duration::days(30);

    assert!(store.retention_lease("a", later()).await.unwrap());
    assert_eq!(store.retention_import_rows("a", rows_cutoff, 100, later()).await.unwrap(), None);
    assert_eq!(
        store.retention_archived("a", Utc::now() - Duration::days(1), 10, later()).await.unwrap(),
        None,
        "archived just now: kept"
    );
    let cutoff = Utc::now() + Duration::seconds(1);
    assert_eq!(store.retention_archived("a", cutoff, 10, later()).await.unwrap(), Some(1));
    assert_eq!(store.retention_archived("a", cutoff, 10, later()).await.unwrap(), None, "nothing twice");
    assert_eq!(rows_with_data(&store, leaver_rows).await, 0, "rows naming the merged record go too");
    assert_eq!(rows_with_data(&store, stayer_rows).await, 2);
    assert_eq!(store.merge_get(merge.id).await.unwrap().reason, "", "the merge's reason goes");
    // The person itself stays archived, with its ids and history's shape.
    assert_eq!(store.person(leaver).await.unwrap().user.status, identity_core::UserStatus::Archived);
    assert!(matches!(store.retention_archived("b", cutoff, 10, later()).await, Err(StoreError::NotFound)));
}
