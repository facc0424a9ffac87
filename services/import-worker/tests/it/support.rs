//! What every import-worker test needs: the real binary with a token made by its own CLI, the
//! routes as plain calls that return status, headers and JSON, polling until a job is done, the
//! example files, result files parsed and compared, and the people in the store counted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::collections::HashSet;

use identity_core::import::records::split_all;
use identity_core::import::result::ResultRow;
use identity_store::testing::TestDatabase;
use identity_store::{PeopleQuery, PoolConfig, Store};
use identity_testkit::{normalise_ids, Service};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_import-worker");
pub const HEADER: &str = "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH";
pub const RESULT_HEADER: &str = "ROW_NUMBER,ID,USER_ID,USER_IMPORT_ROW_RESULT,NOTES,RAW_DATA";

/// Settings that make the tests quick: jobs are picked up at once.
pub const FAST: &[(&str, &str)] = &[("IDENTITY_IMPORT__POLL_MS", "50")];

/// A file under the repository's `examples/`.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)
}

pub fn example_text(name: &str) -> String {
    std::fs::read_to_string(example(name)).unwrap()
}

/// A fresh directory for a test's files (result files, generated inputs).
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("identity-import-tests").join(uuid::Uuid::new_v4().simple().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `import-worker registry load examples/registry.csv` on the test's database.
pub async fn load_example_registry(db: &TestDatabase) {
    let out =
        identity_testkit::run_cli(BIN, &db.url, &["registry", "load", example("registry.csv").to_str().unwrap()]).await;
    assert!(out.contains("Loaded 7 registry records"), "{out}");
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub async fn from_response(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self { status, headers, text, body }
    }

    /// Asserts the binary's error shape: this status, a JSON `{"error": code, "message": …}`.
    pub fn assert_error(&self, status: u16, code: &str) -> &str {
        assert_eq!(self.status, status, "{}", self.text);
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with("application/json"), "{content_type}: {}", self.text);
        assert_eq!(self.body["error"], code, "{}", self.text);
        let message = self.body["message"].as_str().unwrap_or_else(|| panic!("no message: {}", self.text));
        assert!(!message.is_empty());
        message
    }

    pub fn job_id(&self) -> String {
        assert_eq!(self.status, 202, "{}", self.text);
        self.body["id"].as_str().unwrap().to_owned()
    }
}

/// The binary serving, and an import token for it.
pub struct Importer {
    pub svc: Service,
    pub token: String,
}

impl Importer {
    /// Starts the binary on `db` (settings from `env` on top of [`FAST`]) and makes a token.
    pub async fn start(db: &TestDatabase, env: &[(&str, &str)]) -> Self {
        let svc = Self::serve(db, env).await;
        let token = svc.cli(&["tokens", "create", "--name", "test-upload", "--all-services"]).await.trim().to_owned();
        assert!(!token.is_empty() && !token.contains('\n'), "one token on stdout: {token:?}");
        Self { svc, token }
    }

    /// Another process on the same database, with a token made before.
    pub async fn again(db: &TestDatabase, env: &[(&str, &str)], token: &str) -> Self {
        Self { svc: Self::serve(db, env).await, token: token.to_owned() }
    }

    async fn serve(db: &TestDatabase, env: &[(&str, &str)]) -> Service {
        let mut all: Vec<(&str, &str)> = FAST.to_vec();
        all.extend_from_slice(env);
        Service::start(BIN, &db.url, &all).await
    }

    pub async fn upload(&self, query: &str, body: impl Into<reqwest::Body>) -> Reply {
        let res = self
            .svc
            .http
            .post(self.svc.url(&format!("/imports{query}")))
            .bearer_auth(&self.token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .unwrap();
        Reply::from_response(res).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::from_response(self.svc.http.get(self.svc.url(path)).bearer_auth(&self.token).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str) -> Reply {
        Reply::from_response(self.svc.http.post(self.svc.url(path)).bearer_auth(&self.token).send().await.unwrap())
            .await
    }

    pub async fn job(&self, id: &str) -> Value {
        let r = self.get(&format!("/imports/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    }

    /// Polls the job until `until` holds; panics after `limit`.
    pub async fn wait_for(&self, id: &str, limit: Duration, until: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let job = self.job(id).await;
            if until(&job) {
                return job;
            }
            assert!(
                start.elapsed() < limit,
                "job {id} did not get there within {limit:?}: {job}\n{}",
                self.svc.logs().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls until the job is done (panics if it fails) and checks its progress fields.
    pub async fn wait_done(&self, id: &str) -> Value {
        let job =
            self.wait_for(id, Duration::from_secs(60), |j| j["status"] != "queued" && j["status"] != "running").await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["rows_done"], job["rows_total"], "{job}");
        assert!(job["error"].is_null(), "{job}");
        job
    }

    /// Downloads the results of a done job.
    pub async fn results(&self, id: &str) -> String {
        let r = self.get(&format!("/imports/{id}/results")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let content_type = r.headers["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        r.text
    }

    /// No request to this process so far was answered with a 5xx (from its own metrics).
    pub async fn assert_no_server_errors(&self) {
        let text = self.svc.http.get(self.svc.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let requests: Vec<&str> = text.lines().filter(|l| l.starts_with("identity_http_requests_total{")).collect();
        assert!(requests.iter().any(|l| l.contains("route=\"/imports")), "requests are counted:\n{text}");
        let failed: Vec<&&str> = requests.iter().filter(|l| l.contains("status=\"5")).collect();
        assert!(failed.is_empty(), "server errors: {failed:?}\n{}", self.svc.logs().join("\n"));
    }

    /// Uploads, waits until done, downloads the results.
    pub async fn import(&self, query: &str, body: impl Into<reqwest::Body>) -> (Value, String) {
        let id = self.upload(query, body).await.job_id();
        let job = self.wait_done(&id).await;
        let results = self.results(&id).await;
        (job, results)
    }
}

/// One line of a result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultLine {
    pub row: String,
    pub id: String,
    pub user_id: String,
    pub outcome: String,
    pub notes: String,
    pub raw: String,
}

/// Reads a result file (CSV, quoted fields may hold line breaks); checks its header.
pub fn parse_results(text: &str) -> Vec<ResultLine> {
    let mut records = split_all(text.as_bytes()).into_iter();
    let header = records.next().expect("a header line");
    assert_eq!(String::from_utf8_lossy(&header.raw), RESULT_HEADER);
    records
        .map(|r| {
            let f: Vec<String> = r.fields.iter().map(|f| String::from_utf8(f.clone()).unwrap()).collect();
            assert_eq!(f.len(), 6, "a result line has six fields: {:?}", String::from_utf8_lossy(&r.raw));
            ResultLine {
                row: f[0].clone(),
                id: f[1].clone(),
                user_id: f[2].clone(),
                outcome: f[3].clone(),
                notes: f[4].clone(),
                raw: f[5].clone(),
            }
        })
        .collect()
}

/// How many rows had each outcome: (None, UserAdded, UserUpdated, Invalid).
pub fn outcome_counts(lines: &[ResultLine]) -> [i64; 4] {
    let mut counts = [0; 4];
    for l in lines {
        let i = ["None", "UserAdded", "UserUpdated", "Invalid"]
            .iter()
            .position(|o| *o == l.outcome)
            .unwrap_or_else(|| panic!("unknown outcome {:?}", l.outcome));
        counts[i] += 1;
    }
    counts
}

/// The job's `counts`, in the order of [`outcome_counts`].
pub fn job_counts(job: &Value) -> [i64; 4] {
    ["None", "UserAdded", "UserUpdated", "Invalid"].map(|k| job["counts"][k].as_i64().unwrap())
}

/// Two result files are the same once user ids are numbered by first appearance. On a
/// difference, names the first line that differs.
pub fn assert_same_results(actual: &str, expected: &str, what: &str) {
    let (a, e) = (normalise_ids(actual), normalise_ids(expected));
    if a == e {
        return;
    }
    let first = a.split("\r\n").zip(e.split("\r\n")).position(|(x, y)| x != y);
    let show = |text: &str, i: Option<usize>| {
        i.and_then(|i| text.split("\r\n").nth(i)).map(|l| l.chars().take(300).collect::<String>()).unwrap_or_default()
    };
    panic!(
        "{what}: result files differ (line {:?})\n  actual:   {}\n  expected: {}\n  lengths {} and {}",
        first.map(|i| i + 1),
        show(&a, first),
        show(&e, first),
        a.len(),
        e.len()
    );
}

pub async fn store(db: &TestDatabase) -> Store {
    Store::connect(&db.url, &PoolConfig { max_connections: Some(2), ..PoolConfig::default() }).unwrap()
}

/// Every person in the store (user, version, combined profile, links) as text, in id order.
pub async fn people(db: &TestDatabase) -> Vec<String> {
    let store = store(db).await;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page =
            store.list_people(&PeopleQuery { status: None, updated_since: None, after, limit: 500 }).await.unwrap();
        out.extend(page.items.iter().map(|p| format!("{:?} {} {:?} {:?}", p.user, p.version, p.combined, p.links)));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    store.close().await;
    out
}

pub async fn people_count(db: &TestDatabase) -> usize {
    people(db).await.len()
}

/// The rows a result file sends to manual review, by ID, each with the people its notes name:
/// what the review queue must hold.
pub fn rows_for_review(lines: &[ResultLine]) -> Vec<(String, Vec<String>)> {
    let mut rows: Vec<(String, Vec<String>)> = lines
        .iter()
        .filter(|l| l.outcome == "Invalid" && l.notes.contains("Existing user ID "))
        .map(|l| {
            let named = l
                .notes
                .split("Existing user ID ")
                .skip(1)
                .map(|rest| rest.chars().take(36).collect::<String>())
                .collect();
            (l.id.clone(), named)
        })
        .collect();
    rows.sort();
    rows
}

/// The open import-row items of the review queue, as [`rows_for_review`] lists them, each with
/// its job.
pub async fn queued_rows(db: &TestDatabase) -> Vec<(String, Vec<String>, Option<uuid::Uuid>)> {
    use identity_store::{ReviewQuery, ReviewSubject};
    let store = store(db).await;
    let query = ReviewQuery { open: true, kind: None, service: None, after: None, limit: 500 };
    let mut rows: Vec<_> = store
        .review_list(&query)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|item| match item.subject {
            ReviewSubject::Import { subject, .. } => {
                Some((subject.id, item.candidates.iter().map(|c| c.person.to_string()).collect(), subject.job))
            }
            ReviewSubject::Person(_) => None,
        })
        .collect();
    rows.sort();
    rows
}

/// The user ids a result file gave to new people.
pub fn added_ids(lines: &[ResultLine]) -> Vec<String> {
    lines.iter().filter(|l| l.outcome == "UserAdded").map(|l| l.user_id.clone()).collect()
}

/// What a dry run's result file shows for `results`, a real import's: the same lines, with no
/// USER_ID for the people the import added, neither on their `UserAdded` rows nor on the later
/// rows that refer to them: after a dry run nobody holds those ids.
pub fn as_a_dry_run(results: &str) -> String {
    let lines = parse_results(results);
    let added: HashSet<&str> = lines.iter().filter(|l| l.outcome == "UserAdded").map(|l| l.user_id.as_str()).collect();
    let mut out = format!("{RESULT_HEADER}\r\n");
    for l in &lines {
        let shown = !l.user_id.is_empty() && !added.contains(l.user_id.as_str());
        // A note naming a person the run would add names the row that would add them.
        let mut notes = l.notes.clone();
        for a in lines.iter().filter(|a| a.outcome == "UserAdded") {
            notes = notes.replace(
                &format!("Existing user ID {}", a.user_id),
                &format!("Existing user: the person row {} would add", a.row),
            );
        }
        let row = ResultRow {
            row_number: l.row.parse().unwrap(),
            id: l.id.clone(),
            user_id: shown.then(|| l.user_id.parse().unwrap()),
            outcome: l.outcome.parse().unwrap(),
            notes: if notes.is_empty() { Vec::new() } else { vec![notes] },
            raw: l.raw.clone(),
        };
        out.push_str(&row.to_csv_line());
    }
    out
}

/// A dry run's result file shows no id nobody holds: its `UserAdded` rows have no USER_ID, and
/// every USER_ID it does show is a person in the store. Returns how many it shows.
pub async fn assert_dry_run_ids_are_held(db: &TestDatabase, results: &str, what: &str) -> usize {
    let store = store(db).await;
    let mut shown = 0;
    for l in parse_results(results) {
        if l.outcome == "UserAdded" {
            assert_eq!(l.user_id, "", "{what}: row {} would add a person, who has no id yet: {l:?}", l.row);
        } else if !l.user_id.is_empty() {
            let held = store.person(l.user_id.parse().unwrap()).await;
            assert!(held.is_ok(), "{what}: row {} shows {}, which nobody holds: {held:?}", l.row, l.user_id);
            shown += 1;
        }
    }
    store.close().await;
    shown
}

/// Another throw-away database on the same backend as `db`.
pub async fn another_database(db: &TestDatabase) -> TestDatabase {
    if db.url.starts_with("sqlite:") {
        TestDatabase::sqlite()
    } else {
        TestDatabase::postgres().await.expect("PostgreSQL answered a moment ago")
    }
}

/// `import-worker registry load` of a file written from `text`.
pub async fn load_registry(db: &TestDatabase, text: &str) {
    let dir = scratch_dir();
    let file = dir.join("registry.csv");
    std::fs::write(&file, text).unwrap();
    identity_testkit::run_cli(BIN, &db.url, &["registry", "load", file.to_str().unwrap()]).await;
    let _ = std::fs::remove_dir_all(dir);
}
