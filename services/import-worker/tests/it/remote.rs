//! The remote teacher registry (a stub served by the test): the same results as the embedded
//! one, retries through a few 503s, and an outage that fails the job resumably without
//! touching its rows.

use std::time::Duration;

use identity_store::testing::TestDatabase;
use identity_testkit::cli_output;

use crate::stub::StubRegistry;
use crate::support::*;

const KEY: &str = "stub-key-0123456789";
/// TRNs in examples/users.csv that are well formed, each looked up once per chunk.
const LOOKUPS: u32 = 8;

fn remote(stub: &StubRegistry, more: &[(&'static str, &'static str)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("IDENTITY_REGISTRY__URL".to_owned(), stub.url.clone()),
        ("IDENTITY_REGISTRY__API_KEY".to_owned(), KEY.to_owned()),
        ("IDENTITY_REGISTRY__BACKOFF_MS".to_owned(), "10".to_owned()),
        ("IDENTITY_REGISTRY__TIMEOUT_MS".to_owned(), "5000".to_owned()),
    ];
    env.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

fn borrowed(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// With nothing in the embedded registry, the stub's records give the example's results.
pub async fn a_remote_registry_gives_the_same_results(db: &TestDatabase) {
    let stub = StubRegistry::start(KEY).await;
    let env = remote(&stub, &[]);
    let imp = Importer::start(db, &borrowed(&env)).await;
    let body = std::fs::read(example("users.csv")).unwrap();
    let (job, results) = imp.import("?service=npq", body).await;
    let expected = example_text("users.results.csv");
    assert_same_results(&results, &expected, "remote registry");
    assert_eq!(job_counts(&job), outcome_counts(&parse_results(&expected)));
    assert_eq!(stub.unauthorised(), 0, "the API key is sent");
    assert_eq!(stub.requests(), LOOKUPS, "each TRN is looked up once");
}

/// A few 503s are retried; the results do not change.
pub async fn the_remote_registry_is_retried(db: &TestDatabase) {
    let stub = StubRegistry::start(KEY).await;
    stub.fail_next(3);
    let env = remote(&stub, &[("IDENTITY_REGISTRY__RETRIES", "4")]);
    let imp = Importer::start(db, &borrowed(&env)).await;
    let (job, results) = imp.import("?service=npq", std::fs::read(example("users.csv")).unwrap()).await;
    assert_same_results(&results, &example_text("users.results.csv"), "after retries");
    assert_eq!(job["counts"]["UserAdded"], 11);
    assert_eq!(stub.requests(), LOOKUPS + 3, "three refused lookups were asked again");
}

/// An outage fails the job after the last chunk that could be decided, with no row marked
/// Invalid for it; once the registry is back, resuming finishes the job with the results of a
/// run that never failed.
pub async fn a_registry_outage_fails_the_job_resumably(db: &TestDatabase) {
    let stub = StubRegistry::start(KEY).await;
    // Rows 1-10 need three lookups; the chunk after them finds the registry down.
    stub.go_down_after(3);
    let env = remote(&stub, &[("IDENTITY_REGISTRY__RETRIES", "2"), ("IDENTITY_IMPORT__CHUNK_ROWS", "10")]);
    let imp = Importer::start(db, &borrowed(&env)).await;
    let expected = example_text("users.results.csv");
    let expected_lines = parse_results(&expected);
    let id = imp.upload("?service=npq", std::fs::read(example("users.csv")).unwrap()).await.job_id();

    let is_over = |j: &serde_json::Value| j["status"] == "failed" || j["status"] == "done";
    for attempt in 1..=2 {
        let job = imp.wait_for(&id, Duration::from_secs(30), is_over).await;
        assert_eq!(job["status"], "failed", "attempt {attempt}: {job}");
        let error = job["error"].as_str().unwrap();
        assert!(error.contains("registry") && error.contains("unavailable"), "{error}");
        assert!(error.contains("resume"), "the error says what to do: {error}");
        assert_eq!(job["rows_done"], 10, "{job}");
        assert_eq!(job["rows_total"], 35, "{job}");
        assert_eq!(job_counts(&job), outcome_counts(&expected_lines[..10]), "no row was marked for the outage: {job}");
        imp.get(&format!("/imports/{id}/results")).await.assert_error(409, "not_done");
        if attempt == 1 {
            // Resumed while the registry is still down: it fails again at the same row.
            let reply = imp.post(&format!("/imports/{id}/resume")).await;
            assert_eq!(reply.status, 202, "{}", reply.text);
            assert_eq!(reply.body["status"], "queued", "{}", reply.text);
        }
    }

    stub.come_back();
    let reply = imp.post(&format!("/imports/{id}/resume")).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    assert!(reply.body["error"].is_null(), "{}", reply.text);
    let job = imp.wait_done(&id).await;
    assert_eq!(job_counts(&job), outcome_counts(&expected_lines), "{job}");
    let results = imp.results(&id).await;
    assert_same_results(&results, &expected, "failed, then resumed");
    assert_eq!(people_count(db).await, added_ids(&expected_lines).len(), "no row applied twice");
}

/// `import` on the command line with the registry unreachable, down or refusing the key: a
/// non-zero exit with a one-line reason, and no result file.
pub async fn cli_import_fails_with_a_reason_when_the_registry_is_down(db: &TestDatabase) {
    let dir = scratch_dir();
    let output = dir.join("results.csv");
    let input = example("users.csv");
    let args = ["import", input.to_str().unwrap(), "--service", "npq", "--output", output.to_str().unwrap()];

    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let stub = StubRegistry::start(KEY).await;
    let down = StubRegistry::start(KEY).await;
    down.go_down_after(0);
    let cases =
        [(closed.as_str(), KEY, "unavailable"), (down.url.as_str(), KEY, "503"), (stub.url.as_str(), "wrong", "401")];
    for (url, key, why) in cases {
        let env = [
            ("IDENTITY_REGISTRY__URL", url),
            ("IDENTITY_REGISTRY__API_KEY", key),
            ("IDENTITY_REGISTRY__RETRIES", "1"),
            ("IDENTITY_REGISTRY__BACKOFF_MS", "10"),
        ];
        let out = cli_output(BIN, &db.url, &args, &env).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("import-worker: the teacher registry"), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
        assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
        assert!(!output.exists(), "no result file that looks complete");
    }
    assert!(stub.unauthorised() >= 1, "the wrong key was sent and refused");
    assert_eq!(people_count(db).await, 0);

    // Back up: the command line gets the example's results from the remote registry.
    let env = [("IDENTITY_REGISTRY__URL", stub.url.as_str()), ("IDENTITY_REGISTRY__API_KEY", KEY)];
    let out = cli_output(BIN, &db.url, &args, &env).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_same_results(&std::fs::read_to_string(&output).unwrap(), &example_text("users.results.csv"), "CLI, remote");
    let _ = std::fs::remove_dir_all(dir);
}
