//! A worker killed in the middle of a job: another process resumes after the last committed
//! chunk, and the result file is the one an uninterrupted run gives, with no row applied twice.
//! A job that no worker ever finishes is given up.

use std::time::Duration;

use identity_store::testing::TestDatabase;
use import_worker::worker::MAX_CLAIMS;

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

/// A job that stops every worker that takes it is given up after `MAX_CLAIMS` claims, with a
/// reason, instead of being taken again at every lease expiry; resuming it starts the count again.
pub async fn a_job_no_worker_finishes_is_given_up(db: &TestDatabase) {
    let idle = Importer::start(db, &[("IDENTITY_IMPORT__WORKER", "false")]).await;
    let id = idle.upload("?service=npq", format!("{HEADER}\n1,a@example.org,,A,,B,,01011990\n")).await.job_id();
    // Workers that took the job and vanished: each claim's lease has already run out.
    let store = store(db).await;
    let expired = chrono::Utc::now() - chrono::Duration::seconds(1);
    for i in 0..MAX_CLAIMS {
        let job = store.import_job_claim(&format!("vanished-{i}"), expired).await.unwrap().expect("claimable again");
        assert_eq!(job.id.to_string(), id);
    }
    store.close().await;
    let token = idle.token.clone();
    drop(idle);

    let worker = Importer::again(db, &[], &token).await;
    let job =
        worker.wait_for(&id, Duration::from_secs(30), |j| j["status"] != "queued" && j["status"] != "running").await;
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("{MAX_CLAIMS} workers in a row took this job")) && error.contains("resume"),
        "{error}"
    );
    assert_eq!(job["rows_done"], 0, "the worker gave up without applying a row");
    assert_eq!(people_count(db).await, 0);

    assert_eq!(worker.post(&format!("/imports/{id}/resume")).await.status, 202);
    let job = worker.wait_done(&id).await;
    assert_eq!(job_counts(&job), [0, 1, 0, 0], "{job}");
}

/// A dry run decides every row in one transaction, which can outlast the lease: the job stays
/// with the worker running it, and a second worker waiting for work never takes it over.
pub async fn a_long_dry_run_keeps_its_job(db: &TestDatabase) {
    const LEASE_MS: i64 = 200;
    let settings = [("IDENTITY_IMPORT__LEASE_MS", "200")];
    let file = generate(ROWS);
    load_registry(db, &file.registry).await;
    let first = Importer::start(db, &settings).await;
    let second = Importer::again(db, &settings, &first.token).await;
    let id = first.upload("?service=gen&dry_run=true", file.users).await.job_id();
    let job = first.wait_done(&id).await;
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(job[k].as_str().unwrap()).unwrap();
    let took = (at("finished_at") - at("started_at")).num_milliseconds();
    assert!(took > 2 * LEASE_MS, "the dry run took {took} ms, within the lease: make the file bigger");
    let runs = |imp: &Importer| imp.svc.logs().iter().filter(|l| l.contains("\"processing import job\"")).count();
    assert_eq!(runs(&first) + runs(&second), 1, "one worker ran the job, once");
    assert_eq!(people_count(db).await, 0, "a dry run keeps nothing");
}

/// Only claims in a row that move a job no further count: a worker that committed a chunk
/// before it vanished (a restart during a long job) starts the count again.
pub async fn claims_that_move_a_job_on_do_not_count(db: &TestDatabase) {
    use identity_core::import::Outcome;
    use identity_store::{ChunkResults, ImportRowResult, OutcomeCounts};
    let idle = Importer::start(db, &[("IDENTITY_IMPORT__WORKER", "false")]).await;
    let body = format!("{HEADER}\n1,a@example.org,,A,,B,,01011990\n2,b@example.org,,C,,D,,02021990\n");
    let id = idle.upload("?service=npq", body).await.job_id();
    let store = store(db).await;
    let expired = chrono::Utc::now() - chrono::Duration::seconds(1);
    for i in 0..MAX_CLAIMS - 1 {
        store.import_job_claim(&format!("vanished-{i}"), expired).await.unwrap().expect("claimable again");
    }
    // The last of them commits row 1 before it vanishes.
    let job = store.import_job_claim("progressed", expired).await.unwrap().unwrap();
    assert_eq!(job.attempts, MAX_CLAIMS);
    let mut counts = OutcomeCounts::default();
    counts.add(Outcome::Invalid);
    let chunk = ChunkResults {
        job_id: job.id,
        worker: "progressed".into(),
        results: vec![ImportRowResult {
            row_number: 1,
            outcome: Outcome::Invalid,
            notes: "test".into(),
            user_id: None,
        }],
        counts,
        after: 0,
        rows_done: 1,
        lease_until: expired,
    };
    let mut session = store.import_session().await.unwrap();
    session.record_results(&chunk).await.unwrap();
    session.commit().await.unwrap();
    assert_eq!(store.import_job(job.id).await.unwrap().attempts, 0, "progress starts the count again");
    // The same chunk again (a retry after a commit whose answer was lost): the job is no longer
    // at that checkpoint, and nothing is recorded twice.
    let mut session = store.import_session().await.unwrap();
    assert!(matches!(session.record_results(&chunk).await, Err(identity_store::StoreError::NotFound)));
    session.rollback().await.unwrap();
    assert_eq!(job_counts_of(&store.import_job(job.id).await.unwrap()), (1, 1), "recorded once");
    store.close().await;
    let token = idle.token.clone();
    drop(idle);

    let worker = Importer::again(db, &[], &token).await;
    let job = worker.wait_done(&id).await;
    assert_eq!(job_counts(&job), [0, 1, 0, 1], "row 2 applied after row 1's checkpoint: {job}");
}

/// A job left receiving by a process that stopped mid-upload is failed by a worker, with a
/// reason, once no upload could still be arriving (twice the request timeout); a job whose upload
/// may still be arriving is left alone.
pub async fn an_upload_left_by_a_stopped_process_fails_its_job(db: &TestDatabase) {
    use identity_core::ServiceName;
    use identity_store::NewImportJob;
    let new = |name: &str| NewImportJob {
        service: ServiceName::new("npq").unwrap(),
        file_name: name.to_owned(),
        submitted_by: "test".to_owned(),
        dry_run: false,
        columns: HEADER.to_owned(),
    };
    identity_testkit::run_cli(BIN, &db.url, &["migrate"]).await;
    let store = store(db).await;
    let stale = store.import_job_create(&new("cut-off.csv")).await.unwrap();
    // Stale after twice the request timeout: 2 s.
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let worker = Importer::start(db, &[("IDENTITY_HTTP__REQUEST_TIMEOUT_MS", "1000")]).await;
    // Created after the worker's first look: its upload may still be arriving.
    let fresh = store.import_job_create(&new("arriving.csv")).await.unwrap();
    let job = worker.wait_for(&stale.id.to_string(), Duration::from_secs(10), |j| j["status"] != "receiving").await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("stopped arriving"), "{job}");
    worker.post(&format!("/imports/{}/resume", stale.id)).await.assert_error(409, "upload_broke_off");
    assert_eq!(worker.job(&fresh.id.to_string()).await["status"], "receiving");
    store.close().await;
}

/// PostgreSQL ending the worker's sessions again and again while it imports (an administrator,
/// a restart): the job goes on and is done, never failed, with the results of an undisturbed run.
pub async fn a_job_survives_sessions_ended_by_postgres() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let file = generate(ROWS);
    load_registry(&db, &file.registry).await;
    let name = format!("import-{}", uuid::Uuid::new_v4().simple());
    let url = identity_testkit::with_application_name(&db.url, &name);
    let env = [FAST, SETTINGS].concat();
    let svc = identity_testkit::Service::start(BIN, &url, &env).await;
    let token = svc.cli(&["tokens", "create", "--name", "t", "--all-services"]).await.trim().to_owned();
    let imp = Importer { svc, token };
    let id = imp.upload("?service=gen", file.users.clone()).await.job_id();
    let (mut ended, deadline) = (0, std::time::Instant::now() + Duration::from_secs(120));
    let job = loop {
        let job = imp.job(&id).await;
        if job["status"] != "queued" && job["status"] != "running" {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "the job did not end: {job}\n{}", imp.svc.logs().join("\n"));
        ended += identity_testkit::end_postgres_sessions(&name).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(job["status"], "done", "{job}\n{}", imp.svc.logs().join("\n"));
    assert!(ended > 0, "sessions were ended while the job ran");
    let disturbed = imp.results(&id).await;
    imp.assert_no_server_errors().await;

    let fresh = another_database(&db).await;
    load_registry(&fresh, &file.registry).await;
    let whole = Importer::start(&fresh, SETTINGS).await;
    let (_, straight) = whole.import("?service=gen", file.users).await;
    assert_same_results(&disturbed, &straight, "with sessions ended, against undisturbed");
    assert_eq!(people_count(&db).await, added_ids(&parse_results(&straight)).len(), "no row was applied twice");
    drop(whole);
    fresh.drop_now().await;
    drop(imp);
    db.drop_now().await;
}

const PEOPLE: usize = 1500;
const WITH_TRN: usize = 100;

/// Loads the registry records of [`PEOPLE`] people, and returns the file of side "a" or "b":
/// the same people under other emails and ids (side "b" gives the TRN rows another date of
/// birth, so that the TRN rule decides them).
async fn same_people(db: &TestDatabase) -> impl Fn(&str) -> String {
    let mut registry = "TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DATE_OF_BIRTH\n".to_owned();
    for i in 0..WITH_TRN {
        registry.push_str(&format!("{},Reg{i},,Istry{i},01011980\n", 2_000_000 + i));
    }
    load_registry(db, &registry).await;
    |side: &str| {
        let mut text = format!("{HEADER}\n");
        for i in 0..PEOPLE {
            let day = 1 + i % 28;
            if i < WITH_TRN {
                let dob = if side == "a" { "01011980" } else { "02021981" };
                text.push_str(&format!("{side}-{i},{side}-{i}@example.org,{},,,,,{dob}\n", 2_000_000 + i));
            } else {
                text.push_str(&format!("{side}-{i},{side}-{i}@example.org,,Person{i},,Family{i},,{day:02}031990\n"));
            }
        }
        text
    }
}

/// Each person of [`same_people`] added by one side, and the other side's row the potential
/// duplicate (or, for a TRN, the TRN already held).
fn each_person_added_once(lines_a: &[ResultLine], lines_b: &[ResultLine]) {
    assert_eq!((lines_a.len(), lines_b.len()), (PEOPLE, PEOPLE));
    for i in 0..PEOPLE {
        let (ra, rb) = (&lines_a[i], &lines_b[i]);
        let added = [ra, rb].iter().filter(|r| r.outcome == "UserAdded").count();
        assert_eq!(added, 1, "person {i} added exactly once: {ra:?} / {rb:?}");
        let other = if ra.outcome == "UserAdded" { rb } else { ra };
        assert_eq!(other.outcome, "Invalid", "{other:?}");
        // A TRN row that comes second meets the first one's person by the TRN, or, when that
        // person's combined date of birth is the registry's, by name and date of birth first.
        let notes: &[&str] = if i < WITH_TRN {
            &["A user already exists with the specified TRN", "Potential duplicate user"]
        } else {
            &["Potential duplicate user"]
        };
        assert!(notes.iter().any(|n| other.notes.starts_with(n)), "person {i}: {other:?}");
    }
}

/// Two command-line imports at once, on PostgreSQL, of the same people under other emails and
/// ids, each with one chunk decided while the one before it is written: each person is added
/// once, whichever import got there first.
pub async fn two_cli_imports_never_add_the_same_person_twice() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let file = same_people(&db).await;
    let dir = scratch_dir();
    let run = |side: &'static str| {
        let (input, output) = (dir.join(format!("{side}.csv")), dir.join(format!("{side}.results.csv")));
        std::fs::write(&input, file(side)).unwrap();
        let url = db.url.clone();
        async move {
            let service = format!("side-{side}");
            let args = ["import", input.to_str().unwrap(), "--service", &service, "--output", output.to_str().unwrap()];
            let out = identity_testkit::cli_output(BIN, &url, &args, &[("IDENTITY_IMPORT__CHUNK_ROWS", "25")]).await;
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            parse_results(&std::fs::read_to_string(&output).unwrap())
        }
    };
    let (lines_a, lines_b) = tokio::join!(run("a"), run("b"));
    each_person_added_once(&lines_a, &lines_b);
    assert_eq!(people_count(&db).await, PEOPLE);
    let _ = std::fs::remove_dir_all(dir);
    db.drop_now().await;
}

/// Two workers running two jobs at once, on PostgreSQL, whose rows are the same people under
/// other emails and ids: each person is added once, by whichever job got there first, and the
/// other job's row is the potential duplicate (or, for a TRN, the TRN already held).
pub async fn two_workers_never_add_the_same_person_twice() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let file = same_people(&db).await;
    let settings = [("IDENTITY_IMPORT__CHUNK_ROWS", "25")];
    let uploader = Importer::start(&db, &[("IDENTITY_IMPORT__WORKER", "false")]).await;
    let a = uploader.upload("?service=side-a", file("a")).await.job_id();
    let b = uploader.upload("?service=side-b", file("b")).await.job_id();
    // Two workers started together, each takes one of the two queued jobs.
    let env = [FAST, &settings].concat();
    let (first, second) =
        tokio::join!(Importer::again(&db, &env, &uploader.token), Importer::again(&db, &env, &uploader.token));
    let (done_a, done_b) = (first.wait_done(&a).await, first.wait_done(&b).await);
    let (lines_a, lines_b) = (parse_results(&first.results(&a).await), parse_results(&first.results(&b).await));
    let both_ran = |w: &Importer| w.svc.logs().iter().any(|l| l.contains("processing import job"));
    assert!(both_ran(&first) && both_ran(&second), "each worker ran a job");

    each_person_added_once(&lines_a, &lines_b);
    assert_eq!(people_count(&db).await, PEOPLE);
    assert_eq!(job_counts(&done_a)[1] + job_counts(&done_b)[1], PEOPLE as i64);
    drop((uploader, first, second));
    db.drop_now().await;
}

/// A job's checkpoint and its Invalid count.
fn job_counts_of(job: &identity_store::ImportJob) -> (i64, i64) {
    (job.rows_done, job.counts.invalid)
}
