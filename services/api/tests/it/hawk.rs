//! Hawk on the real binary, with requests signed here from Hawk's specification (not with the
//! server's code): a valid one answers 200, each kind of forgery or replay the same 401.

use identity_store::testing::TestDatabase;
use identity_testkit::hawk::{payload_hash, Signing};

use crate::support::Api;

const ID: &str = "staff-sso";
const KEY: &str = "a-hawk-key-for-tests-only";

pub async fn hawk_signatures_are_checked(db: &TestDatabase) {
    let api = Api::start(db, &[("IDENTITY_HAWK__ID", ID), ("IDENTITY_HAWK__KEY", KEY)]).await;
    let base = api.svc.url("");
    let authority = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let (host, port) = authority.rsplit_once(':').unwrap();
    let port: u16 = port.parse().unwrap();
    let http = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    let mut n = 0;
    let mut nonce = || {
        n += 1;
        format!("n{n}")
    };
    let send = |header: String, path: &'static str, body: Option<(&'static str, &'static str)>| {
        let mut req = http.get(api.svc.url(path)).header("authorization", header);
        if let Some((content_type, body)) = body {
            req = req.header("content-type", content_type).body(body);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let sign = |nonce: &str, ts: i64, resource: &str| {
        Signing { key: KEY, id: ID, ts, nonce, method: "GET", resource, host, port, hash: None }.header()
    };

    let first = nonce();
    let good = sign(&first, now, "/api/v1/people?limit=5");
    let (status, body) = send(good.clone(), "/api/v1/people?limit=5", None).await;
    assert_eq!(status, 200, "{body}");
    // Every scope, so profiles and the feed too.
    let (status, _) = send(sign(&nonce(), now, "/api/v1/changes?after=0"), "/api/v1/changes?after=0", None).await;
    assert_eq!(status, 200);
    // A GET signed with the hash of no content, as mohawk's Sender makes it by default.
    let empty = Signing {
        hash: Some(payload_hash("", "")),
        ..Signing {
            key: KEY,
            id: ID,
            ts: now,
            nonce: "e1",
            method: "GET",
            resource: "/api/v1/people",
            host,
            port,
            hash: None,
        }
    };
    assert_eq!(send(empty.header(), "/api/v1/people", None).await.0, 200);

    let unauthorized = |(status, body): (u16, String)| {
        assert_eq!(status, 401, "{body}");
        assert_eq!(body, r#"{"detail":"Unauthorized"}"#);
    };
    // Replayed.
    unauthorized(send(good, "/api/v1/people?limit=5", None).await);
    // A changed query string.
    unauthorized(send(sign(&nonce(), now, "/api/v1/people?limit=5"), "/api/v1/people?limit=6", None).await);
    // Stale and future timestamps.
    unauthorized(send(sign(&nonce(), now - 120, "/api/v1/people"), "/api/v1/people", None).await);
    unauthorized(send(sign(&nonce(), now + 120, "/api/v1/people"), "/api/v1/people", None).await);
    // A wrong key, a wrong key id.
    let nonce_wrong = nonce();
    let wrong = Signing {
        key: "another-key-altogether",
        id: ID,
        ts: now,
        nonce: &nonce_wrong,
        method: "GET",
        resource: "/api/v1/people",
        host,
        port,
        hash: None,
    };
    unauthorized(send(wrong.header(), "/api/v1/people", None).await);
    unauthorized(send(Signing { id: "someone", key: KEY, ..wrong }.header(), "/api/v1/people", None).await);
    // A body without a hash; a body other than the one hashed; another content type.
    unauthorized(send(sign(&nonce(), now, "/api/v1/people"), "/api/v1/people", Some(("application/json", "{}"))).await);
    let hashed = |nonce: &str| {
        Signing {
            key: KEY,
            id: ID,
            ts: now,
            nonce,
            method: "GET",
            resource: "/api/v1/people",
            host,
            port,
            hash: Some(payload_hash("application/json", "{}")),
        }
        .header()
    };
    unauthorized(send(hashed(&nonce()), "/api/v1/people", Some(("application/json", "{\"a\":1}"))).await);
    unauthorized(send(hashed(&nonce()), "/api/v1/people", Some(("text/plain", "{}"))).await);
    // The body that was hashed, with a content type's parameters, passes.
    assert_eq!(send(hashed(&nonce()), "/api/v1/people", Some(("Application/JSON; charset=utf-8", "{}"))).await.0, 200);
    // A header over 4 KiB.
    let long = format!("{}, ext=\"{}\"", sign(&nonce(), now, "/api/v1/people"), "x".repeat(4100));
    unauthorized(send(long, "/api/v1/people", None).await);
}

/// Without a key configured, Hawk is not accepted at all.
pub async fn hawk_is_refused_unless_configured(db: &TestDatabase) {
    let api = Api::start(db, &[]).await;
    let authority = api.svc.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let (host, port) = authority.rsplit_once(':').unwrap();
    let signed = Signing {
        key: KEY,
        id: ID,
        ts: chrono::Utc::now().timestamp(),
        nonce: "x",
        method: "GET",
        resource: "/api/v1/people",
        host,
        port: port.parse().unwrap(),
        hash: None,
    };
    let r = reqwest::Client::new()
        .get(api.svc.url("/api/v1/people"))
        .header("authorization", signed.header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.text().await.unwrap(), r#"{"detail":"Unauthorized"}"#);
}

/// A signed read runs while its nonce is checked, but only a request whose nonce proved new
/// takes a token: replays of a captured request cannot spend its caller's rate.
pub async fn a_replay_spends_none_of_the_callers_rate(db: &TestDatabase) {
    let env = [
        ("IDENTITY_HAWK__ID", ID),
        ("IDENTITY_HAWK__KEY", KEY),
        ("IDENTITY_API__RATE_LIMIT_PER_SECOND", "1"),
        ("IDENTITY_API__RATE_LIMIT_BURST", "2"),
    ];
    let api = Api::start(db, &env).await;
    let (host, port) = identity_testkit::hawk::host_and_port(&api.svc.url(""));
    let now = chrono::Utc::now().timestamp();
    let header = |nonce: &str| {
        Signing {
            key: KEY,
            id: ID,
            ts: now,
            nonce,
            method: "GET",
            resource: "/api/v1/people",
            host: &host,
            port,
            hash: None,
        }
        .header()
    };
    let http = reqwest::Client::new();
    let send = |header: String| {
        let req = http.get(api.svc.url("/api/v1/people")).header("authorization", header);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let captured = header("captured");
    assert_eq!(send(captured.clone()).await, 200, "the first of a burst of two");
    for _ in 0..5 {
        assert_eq!(send(captured.clone()).await, 401, "a replay");
    }
    assert_eq!(send(header("second")).await, 200, "the replays took no token");
    assert_eq!(send(header("third")).await, 429, "the burst is spent");
}
