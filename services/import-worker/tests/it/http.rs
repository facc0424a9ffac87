//! The upload routes on the example file: a dry run and a real import, polled until done.

use identity_store::testing::TestDatabase;
use serde_json::Value;

use crate::support::*;

fn assert_accepted(reply: &Reply, dry_run: bool) -> String {
    let id = reply.job_id();
    assert_eq!(reply.headers["location"], format!("/imports/{id}").as_str());
    let job = &reply.body;
    assert_eq!(job["service"], "npq");
    assert_eq!(job["dry_run"], dry_run);
    assert_eq!(job["rows_total"], 35, "{job}");
    assert!(["queued", "running", "done"].contains(&job["status"].as_str().unwrap()), "{job}");
    id
}

/// `POST /imports` with the example file gives the example results, over a dry run that writes
/// nothing and a real run; a finished job cannot be resumed.
pub async fn http_import_gives_the_example_results(db: &TestDatabase) {
    let imp = Importer::start(db, &[]).await;
    load_example_registry(db).await;
    let body = std::fs::read(example("users.csv")).unwrap();
    let expected = example_text("users.results.csv");
    let expected_counts = outcome_counts(&parse_results(&expected));

    let dry = imp.upload("?service=npq&dry_run=true", body.clone()).await;
    let dry_id = assert_accepted(&dry, true);
    let job = imp.wait_done(&dry_id).await;
    assert_eq!(job_counts(&job), expected_counts, "{job}");
    assert_eq!(job["dry_run"], true);
    let dry_results = imp.results(&dry_id).await;
    assert_same_results(&dry_results, &as_a_dry_run(&expected), "dry run over HTTP");
    assert!(parse_results(&dry_results).iter().all(|l| l.user_id.is_empty()), "nobody exists yet:\n{dry_results}");
    assert_eq!(people_count(db).await, 0, "a dry run adds nobody");

    let real = imp.upload("?service=npq&dry_run=false", body).await;
    let id = assert_accepted(&real, false);
    let job: Value = imp.wait_done(&id).await;
    assert_eq!(job["id"], id.as_str());
    assert_eq!(job_counts(&job), expected_counts, "{job}");
    assert_eq!(job["rows_done"], 35);
    let results = imp.results(&id).await;
    assert_same_results(&results, &expected, "import over HTTP");
    assert_eq!(people_count(db).await, added_ids(&parse_results(&results)).len());

    let again = imp.post(&format!("/imports/{id}/resume")).await;
    assert!(again.assert_error(409, "not_failed").contains("done"), "{}", again.text);
    assert_eq!(imp.job(&id).await["status"], "done");

    // A dry run among people who exist: a row linked to one of them shows their id; a row that
    // would add a person, and a later row linked to that person, show none.
    let alice = parse_results(&results).into_iter().find(|l| l.id == "npq-001").unwrap().user_id;
    let before = people(db).await;
    let mixed = format!(
        "{HEADER}\nmix-1,alice.walker@example.org,,Alice,,Walker,,03051971\n\
         mix-2,quentin.zebedee@example.org,,Quentin,,Zebedee,,07081966\n\
         mix-3,Quentin.Zebedee@example.org,,Quentin,,Zebedee,,07081966\n"
    );
    let (job, mixed) = imp.import("?service=npq&dry_run=true", mixed).await;
    assert_eq!(job_counts(&job), [2, 1, 0, 0], "{job}");
    let lines = parse_results(&mixed);
    let shown: Vec<(&str, &str, &str)> =
        lines.iter().map(|l| (l.id.as_str(), l.outcome.as_str(), l.user_id.as_str())).collect();
    assert_eq!(
        shown,
        [("mix-1", "None", alice.as_str()), ("mix-2", "UserAdded", ""), ("mix-3", "None", "")],
        "{mixed}"
    );
    assert_eq!(assert_dry_run_ids_are_held(db, &mixed, "a dry run among people who exist").await, 1);
    assert_eq!(people(db).await, before, "a dry run changes nobody");
    imp.assert_no_server_errors().await;
}
