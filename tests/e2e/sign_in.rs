//! Staff SSO signs someone in: SCIM writes reach sso-profile's memory through the change feed,
//! and sso-profile goes on answering while PostgreSQL is stopped.

use std::time::Duration;

use identity_store::testing::TestDatabase;
use identity_testkit::Service;
use serde_json::{json, Value};

use crate::support::binary;

const SCIM: &str = "application/scim+json";
const HAWK_KEY: &str = "a-hawk-key-for-tests-only";

struct SignIn {
    scim: Service,
    profile: Service,
    scim_token: String,
    profile_token: String,
}

fn user(user_name: &str, given: &str, active: bool) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": "Lee"},
        "emails": [{"value": format!("{user_name}@example.gov.uk"), "primary": true}],
        "active": active,
    })
}

impl SignIn {
    async fn start(url: &str) -> Self {
        let env = [("IDENTITY_DATABASE__ACQUIRE_TIMEOUT_MS", "1000")];
        let scim = Service::start(&binary("sso-scim"), url, &env).await;
        // The production default: a request that waited for the database would wait this long.
        let patient = ("IDENTITY_DATABASE__ACQUIRE_TIMEOUT_MS", "3000");
        let hawk = [patient, ("IDENTITY_HAWK__ID", "staff-sso"), ("IDENTITY_HAWK__KEY", HAWK_KEY)];
        let profile = Service::start(&binary("sso-profile"), url, &hawk).await;
        let scim_token = scim.cli(&["tokens", "create", "--name", "staff-sso"]).await.trim().to_owned();
        let profile_token = profile.cli(&["tokens", "create", "--name", "staff-sso"]).await.trim().to_owned();
        Self { scim, profile, scim_token, profile_token }
    }

    /// A SCIM write, sent again while sso-scim answers 503 (its database coming back).
    async fn scim(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        for _ in 0..100 {
            let mut req = self.scim.http.request(method.clone(), self.scim.url(path)).bearer_auth(&self.scim_token);
            if let Some(body) = body {
                req = req.header("content-type", SCIM).body(body.to_string());
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            if status != 503 {
                return (status, r.json().await.unwrap_or(Value::Null));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("sso-scim kept answering 503");
    }

    /// A Hawk-signed sign-in, as Staff SSO sends it.
    async fn signed_sign_in(&self, id: &str, nonce: &str) -> u16 {
        let (host, port) = identity_testkit::hawk::host_and_port(&self.profile.base);
        let resource = format!("/api/sso/{id}");
        let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let header = identity_testkit::hawk::Signing {
            key: HAWK_KEY,
            id: "staff-sso",
            ts,
            nonce,
            method: "GET",
            resource: &resource,
            host: &host,
            port,
            hash: None,
        }
        .header();
        let r =
            self.profile.http.get(self.profile.url(&resource)).header("authorization", header).send().await.unwrap();
        r.status().as_u16()
    }

    async fn sign_in(&self, id: &str) -> (u16, Value) {
        let url = self.profile.url(&format!("/api/sso/{id}"));
        let r = self.profile.http.get(url).bearer_auth(&self.profile_token).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// Waits until `id`'s sign-in profile answers `status` with `first_name` (when 200).
    async fn shows(&self, id: &str, status: u16, first_name: Option<&str>) {
        let mut last = (0, Value::Null);
        for _ in 0..300 {
            last = self.sign_in(id).await;
            if last.0 == status && (status != 200 || last.1["first_name"].as_str() == first_name) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{id} never answered {status} {first_name:?}; last {last:?}");
    }
}

/// A SCIM create, update, deactivation and delete each show in the sign-in profile.
pub async fn scim_writes_reach_the_sign_in_profile(db: &TestDatabase) {
    let s = SignIn::start(&db.url).await;
    let (status, created) = s.scim(reqwest::Method::POST, "/scim/v2/Users", Some(&user("ann.lee", "Ann", true))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    s.shows("ann.lee", 200, Some("Ann")).await;
    assert_eq!(
        s.sign_in("Ann.Lee").await.1,
        json!({"id": "ann.lee", "first_name": "Ann", "last_name": "Lee", "primary_email": "ann.lee@example.gov.uk",
               "contact_email": null, "emails": ["ann.lee@example.gov.uk"]})
    );
    let path = format!("/scim/v2/Users/{id}");
    assert_eq!(s.scim(reqwest::Method::PUT, &path, Some(&user("ann.lee", "Annie", true))).await.0, 200);
    s.shows("ann.lee", 200, Some("Annie")).await;
    assert_eq!(s.scim(reqwest::Method::PUT, &path, Some(&user("ann.lee", "Annie", false))).await.0, 200);
    s.shows("ann.lee", 404, None).await;
    assert_eq!(s.scim(reqwest::Method::PUT, &path, Some(&user("ann.lee", "Annie", true))).await.0, 200);
    s.shows("ann.lee", 200, Some("Annie")).await;
    assert_eq!(s.scim(reqwest::Method::DELETE, &path, None).await.0, 204);
    s.shows("ann.lee", 404, None).await;
    assert_eq!(s.sign_in("ann.lee").await.1, json!({"message": "Unable to find user"}));
    assert!(s.profile.stop().await && s.scim.stop().await);
}

/// PostgreSQL stopped: every sign-in still answers from memory, for longer than credentials are
/// cached; started again: the changes made since arrive.
pub async fn sign_ins_answer_while_postgres_is_stopped() {
    let cluster = identity_testkit::cluster::Cluster::start();
    let s = SignIn::start(&cluster.url).await;
    for name in ["ann.lee", "bob.lee"] {
        assert_eq!(s.scim(reqwest::Method::POST, "/scim/v2/Users", Some(&user(name, "Ann", true))).await.0, 201);
        s.shows(name, 200, Some("Ann")).await;
    }
    cluster.stop();
    let started = std::time::Instant::now();
    let mut n = 0;
    while started.elapsed() < identity_server_cache_ttl() + Duration::from_secs(2) {
        // None waits for the database's 3 s acquire timeout: a bound on behaviour, far from
        // the milliseconds an answer from memory takes.
        let asked = std::time::Instant::now();
        assert_eq!(s.sign_in("ann.lee").await.0, 200, "answered from memory");
        assert_eq!(s.sign_in("bob.lee").await.0, 200);
        assert_eq!(s.sign_in("nobody").await.0, 404);
        // Signed sign-ins too: nonces are checked in the process while the shared store is down.
        assert_eq!(s.signed_sign_in("ann.lee", &format!("outage-{n}")).await, 200);
        assert!(asked.elapsed() < Duration::from_secs(2), "a sign-in waited for the database");
        n += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(s.signed_sign_in("ann.lee", "outage-0").await, 401, "a replay to the same replica");
    let ready = s.profile.http.get(s.profile.url("/readyz")).send().await.unwrap().status().as_u16();
    assert_eq!(ready, 200, "ready: it answers without the database");
    let metrics = s.profile.http.get(s.profile.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let stale: f64 = metrics
        .lines()
        .find(|l| l.starts_with("identity_sso_profile_staleness_seconds{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(stale >= 1.0, "/metrics says how stale the profiles are: {stale}");

    cluster.resume();
    let mut signed = 0;
    for i in 0..100 {
        signed = s.signed_sign_in("bob.lee", &format!("after-{i}")).await;
        if signed == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(signed, 200);
    assert_eq!(s.signed_sign_in("ann.lee", "outage-1").await, 401, "still refused with the database back");
    assert_eq!(s.scim(reqwest::Method::POST, "/scim/v2/Users", Some(&user("cat.lee", "Cat", true))).await.0, 201);
    s.shows("cat.lee", 200, Some("Cat")).await;
    assert!(s.profile.stop().await && s.scim.stop().await);
}

/// How long a verified token is trusted without asking the database.
fn identity_server_cache_ttl() -> Duration {
    Duration::from_secs(5)
}
