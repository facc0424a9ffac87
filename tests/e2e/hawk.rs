//! The seed system's callers sign with mohawk: `tests/hawk/mohawk_check.py` signs requests to
//! sso-scim, api and two sso-profile replicas with it and checks each refusal (a wrong MAC or key
//! id, stale and future timestamps, a replayed nonce, also at the other replica, a body without a
//! hash, a changed body, query string or content type, a header over 4 KiB).
//!
//! The Python with mohawk is `IDENTITY_MOHAWK_PYTHON` (`.ci/run` makes a virtual environment),
//! else `python3`. Without mohawk the test says it was skipped, unless `IDENTITY_REQUIRE_MOHAWK=1`
//! (CI), where it fails.

use identity_store::testing::TestDatabase;
use identity_testkit::Service;

use crate::support::binary;

const KEY: &str = "a-hawk-key-for-mohawk-tests";

fn python() -> Option<String> {
    let python = std::env::var("IDENTITY_MOHAWK_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let has =
        std::process::Command::new(&python).args(["-c", "import mohawk"]).output().is_ok_and(|o| o.status.success());
    if has {
        return Some(python);
    }
    assert!(
        std::env::var("IDENTITY_REQUIRE_MOHAWK").map_or(true, |v| v != "1"),
        "{python} cannot import mohawk, and IDENTITY_REQUIRE_MOHAWK=1"
    );
    eprintln!("SKIPPED: {python} cannot import mohawk (pip install mohawk, or set IDENTITY_MOHAWK_PYTHON)");
    None
}

pub async fn hawk_with_mohawk(db: &TestDatabase) {
    let Some(python) = python() else { return };
    let env = [("IDENTITY_HAWK__ID", "staff-sso"), ("IDENTITY_HAWK__KEY", KEY)];
    let scim = Service::start(&binary("sso-scim"), &db.url, &env).await;
    let api = Service::start(&binary("api"), &db.url, &env).await;
    let profile = Service::start(&binary("sso-profile"), &db.url, &env).await;
    let replica = Service::start(&binary("sso-profile"), &db.url, &env).await;
    let config = serde_json::json!({
        "id": "staff-sso", "key": KEY, "scim": scim.base, "api": api.base, "profile": profile.base,
        "profile_replica": replica.base, "user_name": "mohawk.caller",
    });
    let path = std::env::temp_dir().join(format!("mohawk-{}.json", std::process::id()));
    std::fs::write(&path, config.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/hawk/mohawk_check.py");
    let out = tokio::process::Command::new(&python).arg(script).arg(&path).output().await.unwrap();
    let _ = std::fs::remove_file(&path);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.contains("every check passed"), "{said}");
    for svc in [scim, api, profile, replica] {
        let logs = svc.logs().join("\n");
        assert!(!logs.contains(KEY), "a Hawk key in the logs");
        assert!(svc.stop().await);
    }
}
