//! Checks every binary must pass (the foundation issue): it starts with no configuration on a
//! local SQLite file, serves `/healthz`, `/readyz` and `/metrics`, reports not ready while its
//! PostgreSQL is down and recovers when it returns, and stops cleanly on SIGTERM.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::Service;

/// No `DATABASE_URL`, no config file: a SQLite file appears in the working directory.
pub async fn starts_without_configuration(binary: &str) {
    let dir = std::env::temp_dir().join(format!("identity-fresh-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let svc = Service::start_with(binary, None, Some(&dir), &[]).await;
    let get = |path: &str| svc.http.get(svc.url(path)).send();
    let request_id = |r: &reqwest::Response| r.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
    let first = get("/healthz").await.unwrap();
    assert_eq!(first.status(), 200);
    let first = request_id(&first).expect("every answer names its request");
    assert!(first.len() == 32 && first.bytes().all(|b| b.is_ascii_hexdigit()), "{first}");
    // A binary that answers from memory is ready once loaded, a moment after it listens.
    let mut second = get("/readyz").await.unwrap();
    for _ in 0..100 {
        if second.status() == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        second = get("/readyz").await.unwrap();
    }
    assert_eq!(second.status(), 200);
    assert_ne!(request_id(&second).unwrap(), first, "each request its own id");
    let given = svc.http.get(svc.url("/healthz")).header("x-request-id", "lb-trace-1").send().await.unwrap();
    assert_eq!(request_id(&given).as_deref(), Some("lb-trace-1"), "an id from the load balancer is kept");
    let metrics = get("/metrics").await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    let healthz = text
        .lines()
        .find(|l| l.starts_with("identity_http_requests_total{") && l.contains("route=\"/healthz\""))
        .unwrap_or_else(|| panic!("requests are counted by route:\n{text}"));
    assert!(healthz.contains("status=\"200\"") && healthz.ends_with(" 2"), "{healthz}");
    let nul = svc.http.get(svc.url("/healthz?x=%00")).send().await.unwrap();
    assert_eq!(nul.status(), 400, "a NUL in the URL is refused on every route");
    assert!(dir.join("identity.db").exists(), "the default database is a SQLite file in the working directory");
    assert!(svc.stop().await, "SIGTERM ends the process with status 0");
    // A SIGTERM the moment it says it is listening (an orchestrator, a test) stops it as
    // gracefully: the handler is installed before.
    for _ in 0..5 {
        let svc = Service::start_with(binary, None, Some(&dir), &[]).await;
        assert!(svc.stop().await, "SIGTERM at once ends the process with status 0");
    }
    // A one-shot command says when it falls back on that default database.
    let credentials = if binary.ends_with("api") { "keys" } else { "tokens" };
    let out = tokio::process::Command::new(binary)
        .args([credentials, "list"])
        .current_dir(&dir)
        .env_remove("DATABASE_URL")
        .env_remove("IDENTITY_CONFIG")
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("using sqlite://identity.db in the working directory"), "{said}");
    let _ = std::fs::remove_dir_all(dir);
}

/// PostgreSQL ending every session of a binary (an administrator, a restart): each of its pooled
/// connections is dead, and the reads after are sent again on new ones rather than failing.
/// `credential` is the command that prints a secret reaching `path`.
pub async fn reads_survive_ended_sessions(binary: &str, credential: &[&str], path: &str) {
    let Some(db) = crate::database(crate::Backend::Postgres).await else { return };
    let name = format!("ended-{}", uuid_like());
    let svc = Service::start(binary, &crate::with_application_name(&db.url, &name), &[]).await;
    let secret = svc.cli(credential).await.trim().to_owned();
    let get = |http: reqwest::Client, url: String, secret: String| async move {
        let r = http.get(url).bearer_auth(secret).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    for round in 0..3 {
        // Several requests at once, so that several connections are pooled.
        let calls: Vec<_> =
            (0..8).map(|_| tokio::spawn(get(svc.http.clone(), svc.url(path), secret.clone()))).collect();
        for call in calls {
            assert_eq!(call.await.unwrap().0, 200);
        }
        assert!(crate::end_postgres_sessions(&name).await > 0, "the binary had sessions to end");
        for _ in 0..8 {
            let (status, body) = get(svc.http.clone(), svc.url(path), secret.clone()).await;
            assert_eq!(status, 200, "round {round}, after the sessions ended: {body}");
        }
    }
    drop(svc);
    db.drop_now().await;
}

/// Connections are held to the limits: one that sends nothing, or trickles its request head, is
/// cut off after the header timeout; a kept-alive one lives past the header timeout, up to the
/// idle timeout; and past the connection limit new connections wait, with a warning logged.
pub async fn connections_are_timed_out_and_limited(binary: &str) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let db = crate::testing::TestDatabase::sqlite();
    let timeouts = [("IDENTITY_HTTP__HEADER_TIMEOUT_MS", "300"), ("IDENTITY_HTTP__IDLE_TIMEOUT_MS", "3000")];
    let svc = Service::start(binary, &db.url, &timeouts).await;
    let addr = svc.base.trim_start_matches("http://").to_owned();
    // Whether the server closes the connection within `limit` (a read gives end of file or an error).
    async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(_)) => {}
                Err(_) => return false,
            }
        }
    }
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

    let mut silent = TcpStream::connect(&addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await, "a connection that sends nothing is closed");
    let mut blank = TcpStream::connect(&addr).await.unwrap();
    blank.write_all(b"\r\n\r\n\n\n").await.unwrap();
    assert!(closed_within(&mut blank, Duration::from_secs(5)).await, "blank lines start no request");

    let mut trickle = TcpStream::connect(&addr).await.unwrap();
    let closed = async {
        for b in request.iter().cycle().take(100) {
            if trickle.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    assert!(closed.await, "a head trickled a byte at a time is cut off before it is finished");

    let mut kept = TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 4096];
    for _ in 0..2 {
        kept.write_all(request).await.unwrap();
        let n = kept.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
        // Idle for longer than the header timeout, well within the idle timeout.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    assert!(closed_within(&mut kept, Duration::from_secs(10)).await, "an idle kept-alive connection is closed");
    drop(svc);

    let limited = [("IDENTITY_HTTP__MAX_CONNECTIONS", "3")];
    let svc = Service::start(binary, &db.url, &limited).await;
    let addr = svc.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    let waiting = tokio::spawn({
        let (http, url) = (svc.http.clone(), svc.url("/healthz"));
        async move { http.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a connection past the limit waits");
    assert!(svc.logs().iter().any(|l| l.contains("connection limit reached")), "the limit is logged");
    drop(held);
    let answered = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap();
    assert_eq!(answered.unwrap(), 200, "answered once the held connections closed");
    drop(svc);
    db.drop_now().await;
}

/// A PostgreSQL that is down makes `/readyz` 503 while the process keeps serving; when the
/// database comes back the binary migrates and becomes ready. The "database" is a TCP proxy to
/// the test PostgreSQL that the test opens and closes.
/// A port below Linux's ephemeral range (32768 and up) that nothing listens on.
pub(crate) fn quiet_port() -> u16 {
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    (0..2000u32)
        .map(|i| 20_000 + ((start + i * 7919) % 12_000) as u16)
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port between 20000 and 32000")
}

pub async fn readiness_follows_postgres(binary: &str) {
    let Some(db) = crate::database(crate::Backend::Postgres).await else {
        return;
    };
    let rest = db.url.strip_prefix("postgres://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (user, upstream) = authority.split_once('@').unwrap();
    // A free port, released so that nothing listens there yet: below the ephemeral range, where
    // no other test's connection can take it meanwhile (one from `bind(0)` sometimes was).
    let port = quiet_port();
    let url = format!("postgres://{user}@127.0.0.1:{port}/{path}");
    let svc = Service::start(binary, &url, &[("IDENTITY_DATABASE__ACQUIRE_TIMEOUT_MS", "500")]).await;
    let status = |path: &'static str| {
        let (http, url) = (svc.http.clone(), svc.url(path));
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status("/healthz").await, 200, "alive without a database");
    assert_eq!(status("/readyz").await, 503, "not ready without a database");
    assert_eq!(status("/metrics").await, 200, "the health routes answer before the database does");
    assert_eq!(status("/no-such-route").await, 503, "the binary's own routes wait for the database");
    let waiting = svc.http.get(svc.url("/no-such-route")).send().await.unwrap();
    assert!(waiting.headers().contains_key("retry-after"), "a 503 says when to come back");

    let proxy = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let upstream = upstream.to_owned();
    let forwarding = tokio::spawn(async move {
        while let Ok((mut client, _)) = proxy.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    let mut ready = false;
    for _ in 0..100 {
        if status("/readyz").await == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ready, "ready once the database is reachable:\n{}", svc.logs().join("\n"));
    forwarding.abort();
    assert!(svc.stop().await);
    db.drop_now().await;
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    )
}

/// A binary serves its own routes and answers 404 to every route of the others.
pub async fn serves_only_its_own_routes(binary: &str, own: &[&str], others: &[&str]) {
    let db = crate::database(crate::Backend::Sqlite).await.unwrap();
    let svc = Service::start(binary, &db.url, &[]).await;
    for path in own {
        let status = svc.http.get(svc.url(path)).send().await.unwrap().status().as_u16();
        assert_ne!(status, 404, "{binary} serves {path} (without a credential: {status})");
    }
    for path in others {
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let status = svc.http.request(method.clone(), svc.url(path)).send().await.unwrap().status().as_u16();
            assert_eq!(status, 404, "{binary} must not serve {method} {path}");
        }
    }
    assert!(svc.stop().await);
    db.drop_now().await;
}

/// Routes of each binary, for the isolation checks.
pub const SSO_SCIM_ROUTES: &[&str] = &[
    "/scim/v2/Users",
    "/api/scim/v2/Users",
    "/api/scim/v2/Users/00000000-0000-4000-8000-000000000000",
    "/scim/v2/Users/00000000-0000-4000-8000-000000000000",
    "/scim/v2/ServiceProviderConfig",
    "/scim/v2/ResourceTypes",
    "/scim/v2/Schemas",
];
pub const API_ROUTES: &[&str] = &[
    "/api/v1/people",
    "/api/v1/people/00000000-0000-4000-8000-000000000000",
    "/api/v1/people/00000000-0000-4000-8000-000000000000/profiles",
    "/api/v1/people/00000000-0000-4000-8000-000000000000/explain",
    "/api/v1/changes",
    "/api/v1/openapi.json",
];
pub const IMPORT_WORKER_ROUTES: &[&str] = &[
    "/imports",
    "/imports/00000000-0000-4000-8000-000000000000",
    "/imports/00000000-0000-4000-8000-000000000000/results",
    "/imports/openapi.json",
];

pub const ADMIN_ROUTES: &[&str] = &[
    "/admin/v1/merges",
    "/admin/v1/merges/00000000-0000-4000-8000-000000000000",
    "/admin/v1/merges/00000000-0000-4000-8000-000000000000/undo",
    "/admin/v1/people/00000000-0000-4000-8000-000000000000/history",
    "/admin/v1/people/00000000-0000-4000-8000-000000000000/export",
    "/admin/v1/people/00000000-0000-4000-8000-000000000000/erase",
    "/admin/v1/reviews",
    "/admin/v1/reviews/00000000-0000-4000-8000-000000000000",
    "/admin/v1/reviews/00000000-0000-4000-8000-000000000000/decision",
    "/admin/v1/tokens",
    "/admin/v1/tokens/viewer",
];

pub const SSO_PROFILE_ROUTES: &[&str] = &["/api/sso/ann.lee@id.example.gov.uk"];

pub const PEOPLEFINDER_ROUTES: &[&str] = &[
    "/api/peoplefinder/people",
    "/api/peoplefinder/people/00000000-0000-4000-8000-000000000000",
    "/api/peoplefinder/reference/grades",
    "/api/peoplefinder/teams",
    "/api/peoplefinder/teams/root-team",
];

/// The network profile is enforced inside the binary: a client outside the allowed networks gets
/// 403 before any handler; `X-Forwarded-For` counts only from a trusted proxy.
pub async fn network_profile_is_enforced(binary: &str, route: &str) {
    let db = crate::database(crate::Backend::Sqlite).await.unwrap();
    let dir = std::env::temp_dir().join(format!("identity-net-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };

    // Loopback is not an allowed network: every route is refused, but the health routes stay
    // open to loopback (the container's own health check).
    let closed = config("closed.toml", "[network]\nallowed_networks = [\"10.0.0.0/8\"]\n");
    let svc = Service::start(binary, &db.url, &[("IDENTITY_CONFIG", &closed)]).await;
    for path in [route, "/no/such/route"] {
        let r = svc.http.get(svc.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{binary} {path} from outside the profile");
    }
    assert_eq!(svc.http.get(svc.url("/healthz")).send().await.unwrap().status(), 200);
    // A forged X-Forwarded-For from a peer that is not a trusted proxy changes nothing.
    let r = svc.http.get(svc.url(route)).header("x-forwarded-for", "10.1.2.3").send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(svc.stop().await);

    // Behind a trusted proxy (here: loopback), the forwarded client address decides.
    let proxied = config(
        "proxied.toml",
        "[network]\nallowed_networks = [\"10.1.0.0/16\"]\ntrusted_proxies = [\"127.0.0.1/32\"]\nhealth_networks = [\"127.0.0.1/32\"]\n",
    );
    let svc = Service::start(binary, &db.url, &[("IDENTITY_CONFIG", &proxied)]).await;
    let status = |xff: Option<&'static str>, path: &str| {
        let mut req = svc.http.get(svc.url(path));
        if let Some(v) = xff {
            req = req.header("x-forwarded-for", v);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_ne!(status(Some("10.1.2.3"), route).await, 403, "an allowed client through the proxy");
    assert_eq!(status(Some("192.168.7.7"), route).await, 403, "a client outside the profile through the proxy");
    assert_eq!(status(Some("10.1.2.3, 192.168.7.7"), route).await, 403, "a forged entry to the left is not believed");
    assert_eq!(status(None, route).await, 403, "the proxy itself is not a client");
    assert_eq!(status(None, "/healthz").await, 200, "health checks from the load balancer's network");
    assert_eq!(status(Some("192.168.7.7"), "/healthz").await, 403, "a client outside the profile, through the proxy");
    assert!(svc.stop().await);
    let _ = std::fs::remove_dir_all(dir);
    db.drop_now().await;
}

/// `deploy/<binary>/config.toml` loads with the binary's configuration type, and its ECS task
/// definition runs that binary with that file, on the configured port, with a health check on
/// it and secrets only by reference.
pub fn deploy_files_agree<C>(binary: &str, port_of: impl Fn(&C) -> u16)
where
    C: serde::de::DeserializeOwned + serde::Serialize + Default,
{
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy").join(binary);
    let config_path = dir.join("config.toml");
    let config: C = identity_server::config::load_from(Some(&config_path), std::iter::empty())
        .unwrap_or_else(|e| panic!("{}: {e}", config_path.display()));
    let port = port_of(&config);
    let task: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("task-definition.json")).unwrap()).unwrap();
    assert_eq!(task["family"], format!("identity-{binary}"));
    let containers = task["containerDefinitions"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let command: Vec<&str> = c["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(command, [binary, "serve", "--config", &format!("/etc/identity/{binary}/config.toml")]);
    assert_eq!(c["portMappings"][0]["containerPort"], port, "the task exposes the configured port");
    let health = c["healthCheck"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(health.contains(&format!("127.0.0.1:{port}/healthz")), "{health}");
    assert_eq!(c["logConfiguration"]["logDriver"], "awslogs");
    // Secrets come from Secrets Manager by reference, never as values.
    for s in c["secrets"].as_array().unwrap() {
        assert!(s["valueFrom"].as_str().unwrap().starts_with("arn:aws:secretsmanager:"), "{s}");
    }
    assert!(c["secrets"].as_array().unwrap().iter().any(|s| s["name"] == "DATABASE_URL"));
    for e in c["environment"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        assert!(!["DATABASE_URL", "IDENTITY_REGISTRY__API_KEY"].contains(&name), "{name} must be a secret");
        assert!(!e["value"].as_str().unwrap().contains("://"), "no URLs with credentials in the environment");
    }
    let text = std::fs::read_to_string(&config_path).unwrap();
    assert!(!text.contains("postgres://"), "no database URL in {}", config_path.display());
}
