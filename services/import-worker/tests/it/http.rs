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
    assert_same_results(&imp.results(&dry_id).await, &expected, "dry run over HTTP");
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
    imp.assert_no_server_errors().await;
}
