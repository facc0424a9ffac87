#![doc = include_str!("../README.md")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use identity_store::testing::TestDatabase;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub use identity_store::testing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A throw-away database for a backend, or `None` when PostgreSQL is unreachable and not
/// required (the skip is printed).
pub async fn database(backend: Backend) -> Option<TestDatabase> {
    match backend {
        Backend::Sqlite => Some(TestDatabase::sqlite()),
        Backend::Postgres => TestDatabase::postgres().await,
    }
}

/// A PostgreSQL test database's URL whose sessions carry `name` as their `application_name`,
/// so that [`end_postgres_sessions`] ends only them.
pub fn with_application_name(url: &str, name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={name}")
}

/// Ends every PostgreSQL session named `name` as an administrator would (`pg_terminate_backend`:
/// SQLSTATE 57P01 for each); returns how many.
pub async fn end_postgres_sessions(name: &str) -> usize {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(&testing::postgres_url()).await.unwrap();
    let ended: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let _ = admin.close().await;
    ended.len()
}

/// The PostgreSQL server's log file: where the logging collector writes it, or Debian's.
pub async fn postgres_log() -> Option<std::path::PathBuf> {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(&testing::postgres_url()).await.ok()?;
    let (file, dir): (Option<String>, String) =
        sqlx::query_as("SELECT pg_current_logfile(), current_setting('data_directory')")
            .fetch_one(&mut admin)
            .await
            .ok()?;
    let _ = admin.close().await;
    if let Some(file) = file {
        return Some(std::path::Path::new(&dir).join(file));
    }
    let debian = std::fs::read_dir("/var/log/postgresql").ok()?;
    debian.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "log"))
}

/// Asserts that an OpenAPI document has references, and that each names one of its component
/// schemas.
pub fn assert_openapi_refs_resolve(doc: &serde_json::Value) {
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "{r} resolves");
    }
}

/// Runs a binary's command line (`tokens create …`) against a database; returns stdout, panics
/// with stderr on failure.
pub async fn run_cli(binary: &str, database_url: &str, args: &[&str]) -> String {
    let out = Command::new(binary)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{binary} {args:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a binary's command line with extra environment and returns its whole output, whatever
/// its exit status (for commands that are expected to fail).
pub async fn cli_output(binary: &str, database_url: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(binary);
    cmd.args(args).env("DATABASE_URL", database_url).env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap_or_else(|e| panic!("cannot run {binary}: {e}"))
}

/// A running binary.
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub database_url: String,
    pub binary: String,
    logs: Arc<Mutex<Vec<String>>>,
    pub http: reqwest::Client,
}

impl Service {
    /// Starts `binary serve --bind 127.0.0.1:0` with `DATABASE_URL` and waits until it listens.
    pub async fn start(binary: &str, database_url: &str, env: &[(&str, &str)]) -> Self {
        Self::start_with(binary, Some(database_url), None, env).await
    }

    /// [`Service::start`] with no `DATABASE_URL` at all (the binary's default) and in a chosen
    /// working directory.
    pub async fn start_with(
        binary: &str,
        database_url: Option<&str>,
        cwd: Option<&std::path::Path>,
        env: &[(&str, &str)],
    ) -> Self {
        let mut cmd = Command::new(binary);
        cmd.args(["serve", "--bind", "127.0.0.1:0"]);
        match database_url {
            Some(url) => cmd.env("DATABASE_URL", url),
            None => cmd.env_remove("DATABASE_URL"),
        };
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        cmd.env("IDENTITY_LOG__FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sink = logs.clone();
        // Keep draining stderr for the life of the process: a full pipe would block the server.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut tx = Some(tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = listening_address(&line) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(addr)) => addr,
            _ => {
                let _ = child.start_kill();
                panic!("{binary} did not start listening:\n{}", logs.lock().unwrap().join("\n"));
            }
        };
        let http = reqwest::Client::builder().pool_max_idle_per_host(4).build().unwrap();
        Self {
            child,
            base: format!("http://{addr}"),
            database_url: database_url.unwrap_or_default().to_owned(),
            binary: binary.to_owned(),
            logs,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the binary logged so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Runs this binary's command line against the same database.
    pub async fn cli(&self, args: &[&str]) -> String {
        run_cli(&self.binary, &self.database_url, args).await
    }

    /// Runs this binary's command line against the same database with extra environment and
    /// returns its whole output, whatever its exit status.
    pub async fn cli_output(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        cli_output(&self.binary, &self.database_url, args, env).await
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// SIGKILL: the process dies mid-work, as in a crash.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// SIGTERM, without waiting for the process to exit.
    pub async fn terminate(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().await;
    }

    /// SIGTERM, then waits for the process to exit; returns whether it exited successfully.
    pub async fn stop(mut self) -> bool {
        self.terminate().await;
        match tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await {
            Ok(Ok(status)) => status.success(),
            _ => {
                let _ = self.child.start_kill();
                false
            }
        }
    }
}

pub mod cluster;
pub mod foundation;
pub mod hawk;

/// Replaces every UUID in `text` with `<id N>`, numbered by first appearance, so files written
/// by two runs (whose users get different random ids) can be compared whole.
pub fn normalise_ids(text: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let candidate = text.get(i..i + 36).filter(|c| {
            c.bytes()
                .enumerate()
                .all(|(j, b)| if [8, 13, 18, 23].contains(&j) { b == b'-' } else { b.is_ascii_hexdigit() })
        });
        match candidate {
            Some(id) if bytes.get(i + 36).is_none_or(|b| !b.is_ascii_hexdigit()) => {
                let n = seen.iter().position(|s| s == id).unwrap_or_else(|| {
                    seen.push(id.to_owned());
                    seen.len() - 1
                });
                out.push_str(&format!("<id {n}>"));
                i += 36;
            }
            _ => {
                let ch = text[i..].chars().next().unwrap();
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

fn listening_address(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v.get("message")?.as_str()? != "listening" {
        return None;
    }
    Some(v.get("http.addr")?.as_str()?.to_owned())
}

/// Declares an async test once per backend: `mod sqlite { fn name }` and `mod postgres { fn name }`.
/// Each case is `async fn name(db: &TestDatabase)` in the given module path.
#[macro_export]
macro_rules! both_backends {
    ($cases:path: $($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = $crate::database($crate::Backend::Sqlite).await.unwrap();
                    { use $cases as cases; cases::$case(&db).await; }
                    db.drop_now().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = $crate::database($crate::Backend::Postgres).await else { return };
                    { use $cases as cases; cases::$case(&db).await; }
                    db.drop_now().await;
                }
            )*
        }
    };
}
