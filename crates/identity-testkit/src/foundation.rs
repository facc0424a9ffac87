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
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let metrics = get("/metrics").await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("identity_http_requests_total"), "{text}");
    assert!(dir.join("identity.db").exists(), "the default database is a SQLite file in the working directory");
    assert!(svc.stop().await, "SIGTERM ends the process with status 0");
    let _ = std::fs::remove_dir_all(dir);
}

/// A PostgreSQL that is down makes `/readyz` 503 while the process keeps serving; when the
/// database comes back the binary migrates and becomes ready. The "database" is a TCP proxy to
/// the test PostgreSQL that the test opens and closes.
pub async fn readiness_follows_postgres(binary: &str) {
    let Some(db) = crate::database(crate::Backend::Postgres).await else {
        return;
    };
    let rest = db.url.strip_prefix("postgres://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (user, upstream) = authority.split_once('@').unwrap();
    // A free port, released so that nothing listens there yet.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let url = format!("postgres://{user}@127.0.0.1:{port}/{path}");
    let svc = Service::start(binary, &url, &[("IDENTITY_DATABASE__ACQUIRE_TIMEOUT_MS", "500")]).await;
    let status = |path: &'static str| {
        let (http, url) = (svc.http.clone(), svc.url(path));
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status("/healthz").await, 200, "alive without a database");
    assert_eq!(status("/readyz").await, 503, "not ready without a database");

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
