//! The seed system's callers sign with Hawk: a signed SCIM create (its body hashed) and read
//! work, and the body the server reads is the one that was signed.

use identity_store::testing::TestDatabase;
use identity_testkit::hawk::{host_and_port, payload_hash, Signing};

use crate::support::Scim;

const KEY: &str = "a-hawk-key-for-tests-only";

pub async fn hawk_signed_scim_writes(db: &TestDatabase) {
    let scim = Scim::start(db, &[("IDENTITY_HAWK__ID", "staff-sso"), ("IDENTITY_HAWK__KEY", KEY)]).await;
    let (host, port) = host_and_port(&scim.svc.url(""));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let sign = |nonce: &str, method: &str, resource: &str, hash: Option<String>| {
        Signing { key: KEY, id: "staff-sso", ts: now, nonce, method, resource, host: &host, port, hash }.header()
    };
    let body = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"hawk.user","name":{"givenName":"Hawk","familyName":"User"},"emails":[{"value":"hawk.user@example.gov.uk","primary":true}],"active":true}"#;
    let http = reqwest::Client::new();
    let post = |header: String, body: &'static str| {
        http.post(scim.svc.url("/scim/v2/Users"))
            .header("authorization", header)
            .header("content-type", "application/scim+json")
            .body(body)
            .send()
    };
    let hash = payload_hash("application/scim+json", body);
    // A body other than the one hashed is refused, and nothing is written.
    let other = body.replace("hawk.user@", "someone.else@").leak();
    let r = post(sign("n1", "POST", "/scim/v2/Users", Some(hash.clone())), other).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.text().await.unwrap(), r#"{"detail":"Unauthorized"}"#);

    let r = post(sign("n2", "POST", "/scim/v2/Users", Some(hash)), body).await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let created: serde_json::Value = r.json().await.unwrap();
    assert_eq!(created["userName"], "hawk.user", "the handler read the signed body: {created}");
    let path = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
    let r = http.get(scim.svc.url(&path)).header("authorization", sign("n3", "GET", &path, None)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A signed body without a hash is refused; the bearer token still works beside Hawk.
    let r = post(sign("n4", "POST", "/scim/v2/Users", None), body).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = http.get(scim.svc.url(&path)).bearer_auth(&scim.token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The seed system's path answers the same, signed or with the token.
    let alias = format!("/api{path}");
    let r =
        http.get(scim.svc.url(&alias)).header("authorization", sign("n5", "GET", &alias, None)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = http.get(scim.svc.url(&alias)).bearer_auth(&scim.token).send().await.unwrap();
    let read: serde_json::Value = r.json().await.unwrap();
    assert_eq!(read["userName"], "hawk.user", "{read}");
    let r = http.get(scim.svc.url(&alias)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "the seed system's path is authenticated too");
}
