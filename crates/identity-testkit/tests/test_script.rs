//! `scripts/test.sh`'s decisions, with a stand-in `cargo` that records how it was called: a
//! PostgreSQL that answers runs every PostgreSQL test (its database created if missing, and a
//! test that cannot reach it failing rather than skipping); one that does not answer is skipped
//! and counted, or fails the run when PostgreSQL is required.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use identity_testkit::testing;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A directory holding a `cargo` that logs its arguments and `IDENTITY_REQUIRE_POSTGRES`, lists
/// three PostgreSQL tests, and succeeds.
fn fake_cargo() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("identity-fake-cargo-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "#!/usr/bin/env bash\necho \"cargo $* REQUIRE=${{IDENTITY_REQUIRE_POSTGRES:-}}\" >> {log}\n\
         if [ \"$2\" = list ]; then printf 'a postgres::x\\nb postgres::y\\nc postgres::z\\n'; fi\nexit 0\n",
        log = dir.join("calls").display()
    );
    let path = dir.join("cargo");
    std::fs::write(&path, script).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    dir
}

fn uuid_like() -> String {
    format!(
        "{}{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

/// Runs the script with `url` as the test PostgreSQL; returns (success, output, cargo's calls).
fn run(url: &str, require: bool) -> (bool, String, String) {
    let cargo = fake_cargo();
    let path = format!("{}:{}", cargo.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/test.sh")).env("PATH", path).env("IDENTITY_TEST_POSTGRES_URL", url);
    cmd.env_remove("IDENTITY_REQUIRE_POSTGRES");
    if require {
        cmd.env("IDENTITY_REQUIRE_POSTGRES", "1");
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let calls = std::fs::read_to_string(cargo.join("calls")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(cargo);
    (out.status.success(), text, calls)
}

#[test]
fn a_postgres_that_answers_runs_every_postgres_test() {
    let admin = testing::postgres_url();
    let Some(base) = admin.rsplit_once('/').map(|(base, _)| base.to_owned()) else { return };
    if std::net::TcpStream::connect("127.0.0.1:5432").is_err() && !testing::postgres_required() {
        eprintln!("SKIPPED: PostgreSQL is unreachable");
        return;
    }
    // A database that does not exist yet: the script makes it.
    let name = format!("identity_script_{}", uuid_like());
    let (ok, text, calls) = run(&format!("{base}/{name}"), false);
    let _ = Command::new("psql")
        .args([&format!("{base}/postgres"), "-qc", &format!("DROP DATABASE IF EXISTS {name}")])
        .status();
    assert!(ok, "{text}");
    assert!(text.contains(&format!("Creating the test database '{name}'")), "{text}");
    assert!(text.contains("PostgreSQL ran"), "{text}");
    let run_call = calls.lines().find(|l| l.contains("nextest run")).expect("the tests ran");
    assert!(run_call.ends_with("REQUIRE=1"), "a PostgreSQL test that cannot connect fails: {run_call}");
    assert!(!run_call.contains("not test(/postgres/)"), "nothing filtered out: {run_call}");
}

#[test]
fn a_postgres_that_does_not_answer_is_skipped_and_counted_or_fails_the_run() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/test");
    let (ok, text, calls) = run(&url, false);
    assert!(ok, "{text}");
    assert!(text.contains("PostgreSQL tests are SKIPPED"), "{text}");
    assert!(text.contains("3 PostgreSQL tests were SKIPPED"), "the skipped are counted: {text}");
    assert!(calls.lines().any(|l| l.contains("nextest run") && l.contains("not test(/postgres/)")), "{calls}");
    let (ok, text, calls) = run(&url, true);
    assert!(!ok, "required and unreachable fails the run: {text}");
    assert!(text.contains("FATAL: PostgreSQL is required"), "{text}");
    assert!(!calls.contains("nextest run"), "no test ran: {calls}");
}
