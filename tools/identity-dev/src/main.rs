//! `cargo run -p identity-dev`: builds sso-scim, api, import-worker, admin, peoplefinder and
//! sso-profile, starts them on one local SQLite file, makes a credential for each, loads the
//! example registry, imports `examples/users.csv` through the import routes, merges two records of
//! one person, writes her People Finder profile, reads her sign-in profile, and prints where to
//! look next.
//! `--once` does the same, checks the services answer, stops them and exits (CI runs this).

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::Value;
use tokio::process::{Child, Command};

/// Start identity locally: every service, one SQLite file, an example import.
#[derive(Parser)]
#[command(name = "identity-dev", version)]
struct Args {
    /// Where the database, logs, credentials and result file go.
    #[arg(long, default_value = ".identity-local")]
    dir: PathBuf,
    /// Start from an empty database (deletes --dir first).
    #[arg(long)]
    fresh: bool,
    /// Start, import, check, stop: no waiting for Ctrl-C.
    #[arg(long)]
    once: bool,
    /// sso-scim listens on this port, then api, import-worker, admin, peoplefinder and sso-profile
    /// on the ports after it (DESIGN.md 7.1: 8081-8086).
    #[arg(long, default_value_t = 8081)]
    port: u16,
}

/// Each binary and its port's distance from `--port`.
const BINARIES: [(&str, u16); 6] =
    [("sso-scim", 0), ("api", 1), ("import-worker", 2), ("admin", 3), ("sso-profile", 5), ("peoplefinder", 4)];

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

fn step(text: &str) {
    eprintln!("\n==> {text}");
}

/// Runs a binary's command line against the local database; returns its standard output.
async fn cli(bin: &Path, db: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{} {}: {}", bin.display(), args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A fresh credential named `local` (revoking one left by an earlier run).
async fn credential(bin: &Path, db: &str, group: &str, extra: &[&str]) -> Result<String, String> {
    let _ = cli(bin, db, &[group, "revoke", "local"]).await;
    let mut args = vec![group, "create", "--name", "local"];
    args.extend_from_slice(extra);
    cli(bin, db, &args).await
}

async fn wait_ready(http: &reqwest::Client, base: &str, name: &str, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} stopped before it was ready ({status}); see its log"));
        }
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{name} did not become ready at {base}; see its log"))
}

/// A port taken by another program (or another identity-dev) would answer our readiness checks
/// itself: say so before anything starts.
fn ports_are_free(first: u16) -> Result<(), String> {
    for (name, offset) in BINARIES {
        let port = first + offset;
        if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            return Err(format!(
                "port {port} (for {name}) is not free: {e}. Another identity-dev or another program is \
                 listening there; stop it, or choose other ports with --port"
            ));
        }
    }
    Ok(())
}

async fn stop(children: &mut [(String, Child)]) {
    for (_, child) in children.iter() {
        if let Some(pid) = child.id() {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
        }
    }
    for (name, child) in children.iter_mut() {
        match tokio::time::timeout(Duration::from_secs(20), child.wait()).await {
            Ok(Ok(status)) if status.success() => eprintln!("    {name} stopped"),
            _ => {
                let _ = child.start_kill();
                eprintln!("    {name} did not stop cleanly");
            }
        }
    }
}

async fn run(args: Args, children: &mut Vec<(String, Child)>) -> Result<(), String> {
    let root = repo_root();
    step("building sso-scim, api, import-worker, admin, peoplefinder and sso-profile");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = Command::new(cargo)
        .args(["build", "-p", "sso-scim", "-p", "api", "-p", "import-worker", "-p", "admin", "-p", "sso-profile"])
        .args(["-p", "peoplefinder"])
        .current_dir(&root)
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !built.success() {
        return Err("cargo build failed".into());
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), PathBuf::from).join("debug");
    let bin = |name: &str| target.join(name);

    if args.fresh && args.dir.exists() {
        std::fs::remove_dir_all(&args.dir).map_err(|e| format!("cannot empty {}: {e}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir).map_err(|e| e.to_string())?;
    let db_file = dir.join("identity.db");
    let earlier_run = db_file.exists();
    let db = format!("sqlite://{}", db_file.display());
    ports_are_free(args.port)?;

    step(&format!("database {db}"));
    cli(&bin("import-worker"), &db, &["migrate"]).await?;
    let scim_token = credential(&bin("sso-scim"), &db, "tokens", &[]).await?;
    let api_key = credential(&bin("api"), &db, "keys", &["--scope", "people:read,profiles:read,changes:read"]).await?;
    let import_token = credential(&bin("import-worker"), &db, "tokens", &["--all-services"]).await?;
    let admin_token = credential(&bin("admin"), &db, "tokens", &["--role", "admin"]).await?;
    let profile_token = credential(&bin("sso-profile"), &db, "tokens", &[]).await?;
    let peoplefinder_token = credential(&bin("peoplefinder"), &db, "tokens", &[]).await?;
    let credentials = dir.join("credentials.env");
    std::fs::write(
        &credentials,
        format!(
            "SCIM_TOKEN={scim_token}\nAPI_KEY={api_key}\nIMPORT_TOKEN={import_token}\nADMIN_TOKEN={admin_token}\n\
             SSO_PROFILE_TOKEN={profile_token}\nPEOPLEFINDER_TOKEN={peoplefinder_token}\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let registry = root.join("examples/registry.csv");
    eprintln!("    {}", cli(&bin("import-worker"), &db, &["registry", "load", &registry.display().to_string()]).await?);

    step("starting the services");
    let http = reqwest::Client::new();
    let mut bases = Vec::new();
    for (name, offset) in BINARIES {
        let port = args.port + offset;
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).map_err(|e| e.to_string())?;
        let child = Command::new(bin(name))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", &db)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        children.push((name.to_owned(), child));
        bases.push(format!("http://127.0.0.1:{port}"));
    }
    for ((name, child), base) in children.iter_mut().zip(&bases) {
        wait_ready(&http, base, name, child).await?;
        eprintln!("    {name:<14} {base}");
    }
    let (scim, api, import, admin, profile, peoplefinder) =
        (&bases[0], &bases[1], &bases[2], &bases[3], &bases[4], &bases[5]);

    step("importing examples/users.csv through the import-worker");
    let file = std::fs::read(root.join("examples/users.csv")).map_err(|e| e.to_string())?;
    let r = http
        .post(format!("{import}/imports?service=example&file_name=users.csv"))
        .bearer_auth(&import_token)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let job: Value = r.json().await.map_err(|e| e.to_string())?;
    let id = job["id"].as_str().ok_or_else(|| format!("upload refused: {job}"))?.to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let j: Value = http
            .get(format!("{import}/imports/{id}"))
            .bearer_auth(&import_token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match j["status"].as_str() {
            Some("done") => break j,
            Some("failed") => return Err(format!("the import failed: {}", j["error"])),
            _ if Instant::now() > deadline => return Err("the import did not finish in a minute".into()),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let results = http
        .get(format!("{import}/imports/{id}/results"))
        .bearer_auth(&import_token)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let results_file = dir.join("users.results.csv");
    std::fs::write(&results_file, results).map_err(|e| e.to_string())?;
    let c = &done["counts"];
    let why = if earlier_run {
        "this database already held an earlier run's people, so rows added then are None now; \
         --fresh starts from an empty one"
    } else {
        "examples/users.csv reaches every outcome on purpose; see examples/README.md"
    };
    eprintln!(
        "    {} rows: None {}, UserAdded {}, UserUpdated {}, Invalid {} -> {}\n    ({why})",
        done["rows_total"],
        c["None"],
        c["UserAdded"],
        c["UserUpdated"],
        c["Invalid"],
        results_file.display()
    );

    // The services answer what was imported.
    let people: Value = http
        .get(format!("{api}/api/v1/people?limit=5"))
        .bearer_auth(&api_key)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let listed = people["people"].as_array().map_or(0, Vec::len);
    let scim_list = http
        .get(format!("{scim}/scim/v2/Users?count=1"))
        .bearer_auth(&scim_token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if listed == 0 || !scim_list.status().is_success() {
        return Err(format!(
            "the services did not answer as expected: api listed {listed} people, SCIM said {}",
            scim_list.status()
        ));
    }

    step("merging two records of one person through admin");
    let merge = merge_example(&http, scim, &scim_token, api, &api_key, admin, &admin_token).await?;
    eprintln!("    {}", merge.said);
    let (survivor, merge_id) = merge.ids.unwrap_or_else(|| ("<id>".into(), "<merge id>".into()));

    step("Alice Walker writes her People Finder profile: api shows what it won");
    eprintln!("    {}", peoplefinder_example(&http, peoplefinder, &peoplefinder_token, api, &api_key).await?);

    step("Staff SSO signs Alice Walker in: her sign-in profile from sso-profile's memory");
    eprintln!("    {}", sign_in_example(&http, profile, &profile_token).await?);

    println!(
        r#"
identity {state} on one SQLite file: {db}
Logs: {dir}/*.log   Credentials: {credentials}   Import results: {results}

Try:
  # people, with the source of every value
  curl -H "Authorization: Bearer {api_key}" "{api}/api/v1/people?limit=3"
  curl -H "Authorization: Bearer {api_key}" "{api}/api/v1/people?email=awalker@staff.example.org"
  curl -H "Authorization: Bearer {api_key}" "{api}/api/v1/changes?after=0&limit=5"
  # SCIM, as Staff SSO calls it
  curl -H "Authorization: Bearer {scim_token}" "{scim}/scim/v2/Users?count=3"
  curl -H "Authorization: Bearer {scim_token}" -H "Content-Type: application/scim+json" \
       -d '{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada","name":{{"givenName":"Ada","familyName":"Lovelace"}},"emails":[{{"value":"ada@example.org","primary":true}}]}}' \
       "{scim}/scim/v2/Users"
  # another import
  curl -H "Authorization: Bearer {import_token}" -H "Content-Type: text/csv" --data-binary @examples/users.csv "{import}/imports?service=example"
  #   then follow the answer's links: {import}/imports/<id> (status), {import}/imports/<id>/results (CSV)
  # the OpenAPI documents of the API and of the import routes
  curl -H "Authorization: Bearer {api_key}" "{api}/api/v1/openapi.json"
  curl -H "Authorization: Bearer {import_token}" "{import}/imports/openapi.json"
  # a person's history (changes and merges), a merge, its undo (admin; token roles: viewer, reviewer, admin)
  curl -H "Authorization: Bearer {admin_token}" "{admin}/admin/v1/people/{survivor}/history"
  curl -H "Authorization: Bearer {admin_token}" -H "Content-Type: application/json" \
       -d '{{"survivor":"<id>","merged":"<id>","reason":"the same person"}}' "{admin}/admin/v1/merges"
  curl -X POST -H "Authorization: Bearer {admin_token}" "{admin}/admin/v1/merges/{merge_id}/undo"
  # People Finder's API (People Finder itself signs with Hawk)
  curl -H "Authorization: Bearer {peoplefinder_token}" "{peoplefinder}/api/peoplefinder/reference/grades"
  # the sign-in profile Staff SSO reads (sso-profile, from memory; Staff SSO itself signs with Hawk)
  curl -H "Authorization: Bearer {profile_token}" "{profile}/api/sso/alice.walker"
"#,
        dir = dir.display(),
        credentials = credentials.display(),
        results = results_file.display(),
        state = if args.once { "ran" } else { "is running" },
    );
    if args.once {
        eprintln!("--once: stopping the services.");
        return Ok(());
    }
    eprintln!("Press Ctrl-C to stop.");
    // Until `main` sees Ctrl-C or SIGTERM.
    std::future::pending::<()>().await;
    Ok(())
}

/// What the merge example did: a line to show, and the survivor's and the merge's ids.
struct MergeExample {
    said: String,
    ids: Option<(String, String)>,
}

/// Staff SSO signs in Alice Walker, whom the example import brought in with another address:
/// admin merges the imported record into SSO's, and api then sends readers of the imported one to
/// the survivor. Once per database: on a later run SSO already knows her.
async fn merge_example(
    http: &reqwest::Client,
    scim: &str,
    scim_token: &str,
    api: &str,
    api_key: &str,
    admin: &str,
    admin_token: &str,
) -> Result<MergeExample, String> {
    let send = |r: reqwest::RequestBuilder| async move { r.send().await.map_err(|e| e.to_string()) };
    let body = |r: reqwest::Response| async move { r.json::<Value>().await.map_err(|e| e.to_string()) };
    let found =
        body(send(http.get(format!("{api}/api/v1/people?email=alice.walker@example.org")).bearer_auth(api_key)).await?)
            .await?;
    let Some(imported) = found["people"][0]["id"].as_str().map(str::to_owned) else {
        return Ok(MergeExample { said: "Alice Walker is merged already (an earlier run)".into(), ids: None });
    };
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "alice.walker",
        "name": {"givenName": "Alice", "familyName": "Walker"},
        "emails": [{"value": "awalker@staff.example.org", "primary": true}],
    });
    let created = send(
        http.post(format!("{scim}/scim/v2/Users"))
            .bearer_auth(scim_token)
            .header("content-type", "application/scim+json")
            .body(user.to_string()),
    )
    .await?;
    if created.status().as_u16() == 409 {
        return Ok(MergeExample { said: "Staff SSO knows Alice Walker already (an earlier run)".into(), ids: None });
    }
    let survivor = body(created).await?["id"].as_str().map(str::to_owned).ok_or("SCIM created no user")?;
    let merge =
        serde_json::json!({"survivor": survivor, "merged": imported, "reason": "Staff SSO and the example import"});
    let merged = send(
        http.post(format!("{admin}/admin/v1/merges"))
            .bearer_auth(admin_token)
            .header("content-type", "application/json")
            .body(merge.to_string()),
    )
    .await?;
    if merged.status().as_u16() != 201 {
        return Err(format!("admin refused the merge: {}", merged.text().await.unwrap_or_default()));
    }
    let merge_id = body(merged).await?["id"].as_str().unwrap_or_default().to_owned();
    let said = format!(
        "Alice Walker: the imported {imported} merged into SSO's {survivor} (merge {merge_id});\n    \
         {api}/api/v1/people/{imported} now answers 308 to the survivor"
    );
    Ok(MergeExample { said, ids: Some((survivor, merge_id)) })
}

/// Alice Walker (Staff SSO's `alice.walker`) gives People Finder her pronouns and preferred name;
/// api then answers them with `peoplefinder` as their source. Once per database.
async fn peoplefinder_example(
    http: &reqwest::Client,
    peoplefinder: &str,
    token: &str,
    api: &str,
    api_key: &str,
) -> Result<String, String> {
    let profile = serde_json::json!({
        "sso_email_id": "alice.walker",
        "slug": "3f1e2d4c-5b6a-4978-8a1b-2c3d4e5f6a7b",
        "first_name": "Alice",
        "last_name": "Walker",
        "preferred_first_name": "Ali",
        "pronouns": "she/her",
        "grade": "grade_7",
    });
    let r = http
        .post(format!("{peoplefinder}/api/peoplefinder/people"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(profile.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match r.status().as_u16() {
        201 => {}
        409 => return Ok("Alice Walker has a People Finder profile already (an earlier run)".into()),
        status => return Err(format!("peoplefinder answered {status}: {}", r.text().await.unwrap_or_default())),
    }
    let found: Value = http
        .get(format!("{api}/api/v1/people?email=awalker@staff.example.org"))
        .bearer_auth(api_key)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let p = &found["people"][0]["profile"];
    Ok(format!(
        "{peoplefinder}/api/peoplefinder/people/{} -> api: preferred_name {} and pronouns {}",
        profile["slug"].as_str().unwrap_or_default(),
        p["preferred_name"],
        p["pronouns"]
    ))
}

/// Reads Alice Walker's sign-in profile, which sso-profile has from the change feed within a
/// moment of SCIM's write.
async fn sign_in_example(http: &reqwest::Client, profile: &str, token: &str) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = http
            .get(format!("{profile}/api/sso/alice.walker"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| e.to_string())?;
        match status {
            200 => return Ok(format!("{profile}/api/sso/alice.walker -> {text}")),
            404 if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => return Err(format!("sso-profile answered {status}: {text}")),
        }
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM (`kill`, a supervisor): either stops the services,
/// whatever step the launcher is at, rather than leaving them running without it.
async fn stop_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("identity-dev: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let mut children = Vec::new();
        let result = tokio::select! {
            result = run(args, &mut children) => result,
            () = stop_requested() => Ok(()),
        };
        step("stopping");
        stop(&mut children).await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("identity-dev: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_taken_port_is_named() {
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let refused = super::ports_are_free(port - 1).unwrap_err();
        assert!(refused.starts_with(&format!("port {port} (for api) is not free")), "{refused}");
        drop(taken);
    }
}
