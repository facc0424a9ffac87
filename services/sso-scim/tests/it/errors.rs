use identity_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;

use crate::support::{user, Scim, USER};

pub async fn bad_requests_get_clear_errors(db: &TestDatabase) {
    let scim = Scim::start(db, &[("IDENTITY_HTTP__MAX_BODY_BYTES", "4096")]).await;
    let raw = |body: &'static str, content_type: &'static str| {
        let (http, url, token) = (scim.svc.http.clone(), scim.svc.url("/scim/v2/Users"), scim.token.clone());
        async move {
            let r =
                http.post(url).bearer_auth(token).header("content-type", content_type).body(body).send().await.unwrap();
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let body = r.json().await.unwrap_or(serde_json::Value::Null);
            crate::support::Reply { status, headers, body }
        }
    };
    raw("{not json", "application/scim+json").await.assert_error(400, Some("invalidSyntax"));
    raw("[]", "application/json").await.assert_error(400, Some("invalidSyntax"));
    raw("", "application/scim+json").await.assert_error(400, Some("invalidSyntax"));
    raw(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"}"#, "text/plain")
        .await
        .assert_error(415, None);
    let cases = [
        json!({"userName": "x"}),
        json!({"schemas": ["urn:example:unknown"], "userName": "x"}),
        json!({"schemas": [USER]}),
        json!({"schemas": [USER], "userName": {"first": "x"}}),
        json!({"schemas": [USER], "userName": "x", "active": 3}),
        json!({"schemas": [USER], "userName": "x", "emails": [{"value": 5}]}),
        json!({"schemas": [USER], "userName": "x", "name": "not an object"}),
        json!({"schemas": [USER], "userName": "x", "unknownAttribute": 1}),
    ];
    for body in cases {
        let r = scim.post("/Users", &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body["scimType"] == "invalidSyntax" || r.body["scimType"] == "invalidValue", "{body}: {}", r.body);
    }
    let mut huge = user("big", "B", "G", "big@example.com");
    huge["title"] = json!("x".repeat(5000));
    scim.post("/Users", &huge).await.assert_error(413, None);
    // Discovery endpoints are read-only.
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas", "/ResourceTypes/User"] {
        let r = scim.send(Method::POST, path, Some(&json!({})), &[]).await;
        r.assert_error(405, None);
        assert_eq!(r.headers["allow"], "GET");
    }
    scim.send(Method::PUT, "/Users", Some(&json!({})), &[]).await.assert_error(405, None);
    scim.get("/Groups").await.assert_error(404, None);
    scim.get("/ResourceTypes/Group").await.assert_error(404, None);
    scim.get("/Schemas/urn:nope").await.assert_error(404, None);
    // NUL characters: PostgreSQL cannot store them, so neither backend takes them.
    scim.post("/Users", &user("nul", "N\u{0}", "L", "nul@example.com")).await.assert_error(400, Some("invalidValue"));
    let mut nul_key = user("nul", "N", "L", "nul@example.com");
    nul_key["name"]["given\u{0}Name"] = json!("N");
    scim.post("/Users", &nul_key).await.assert_error(400, Some("invalidValue"));
    // Nothing was half-written by any of it.
    assert_eq!(scim.get("/Users").await.body["totalResults"], 0);
    let created = scim.create(&user("ok", "O", "K", "ok@example.com")).await;
    let id = created["id"].as_str().unwrap();
    let ops = json!([{"op": "replace", "path": "displayName", "value": "a\u{0}b"}]);
    scim.patch(id, ops).await.assert_error(400, Some("invalidValue"));
    // A backslash before `u0000` is text, not a NUL.
    let ops = json!([{"op": "replace", "path": "displayName", "value": "a\\u0000b"}]);
    assert_eq!(scim.patch(id, ops).await.body["displayName"], "a\\u0000b");
}

pub async fn discovery_documents(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let spc = scim.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, 200);
    assert_eq!(
        (spc.body["patch"]["supported"].as_bool(), spc.body["bulk"]["supported"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(spc.body["pagination"]["cursor"], true);
    let types = scim.get("/ResourceTypes").await;
    assert_eq!(types.body["Resources"][0]["endpoint"], "/Users");
    assert_eq!(scim.get("/ResourceTypes/User").await.body["schema"], USER);
    let schemas = scim.get("/Schemas").await;
    assert_eq!(schemas.body["totalResults"], 3, "core, enterprise, identity's combined profile");
    let user_schema = scim.get(&format!("/Schemas/{USER}")).await;
    assert!(user_schema.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "userName" && a["uniqueness"] == "server"));
}

pub async fn authentication(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let url = scim.svc.url("/scim/v2/Users");
    for auth in
        [None, Some("Bearer nope"), Some("Basic dXNlcjpwYXNz"), Some(format!("Bearer {}x", scim.token).leak() as &str)]
    {
        let mut req = scim.svc.http.get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"sso-scim\"");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], "401");
    }
    // Discovery needs a token too; health does not.
    assert_eq!(scim.svc.http.get(scim.svc.url("/scim/v2/ServiceProviderConfig")).send().await.unwrap().status(), 401);
    assert_eq!(scim.svc.http.get(scim.svc.url("/healthz")).send().await.unwrap().status(), 200);
    // A revoked token stops working (within the verification cache's lifetime).
    assert_eq!(scim.get("/Users").await.status, 200);
    scim.svc.cli(&["tokens", "revoke", "test-idp"]).await;
    let mut refused = false;
    for _ in 0..80 {
        if scim.get("/Users").await.status == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(refused, "revoked token refused within the cache lifetime");
    let listed = scim.svc.cli(&["tokens", "list"]).await;
    assert!(listed.contains("test-idp") && !listed.contains(&scim.token));
}

pub async fn only_scim_routes_are_served(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    for path in [
        "/api/v1/people/00000000-0000-4000-8000-000000000000",
        "/api/v1/changes",
        "/api/v1/openapi.json",
        "/imports",
        "/imports/x/results",
        "/",
    ] {
        let r = scim.svc.http.get(scim.svc.url(path)).bearer_auth(&scim.token).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = scim.svc.http.post(scim.svc.url("/imports?service=npq")).body("x").send().await.unwrap();
    assert_eq!(r.status(), 404);
}

/// PostgreSQL ending the binary's sessions (an administrator, a restart): reads and writes are
/// sent again on new connections, and nothing answers 500.
pub async fn sessions_ended_by_postgres_are_retried() {
    let Some(db) = identity_store::testing::TestDatabase::postgres().await else { return };
    let name = format!("scim-{}", uuid::Uuid::new_v4().simple());
    let url = identity_testkit::with_application_name(&db.url, &name);
    let svc = identity_testkit::Service::start(env!("CARGO_BIN_EXE_sso-scim"), &url, &[]).await;
    let token = svc.cli(&["tokens", "create", "--name", "test-idp"]).await.trim().to_owned();
    let scim = Scim { svc, token };
    let first = scim.create(&user("first", "F", "One", "first@example.com")).await;
    let id = first["id"].as_str().unwrap().to_owned();
    for round in 0..3 {
        assert!(identity_testkit::end_postgres_sessions(&name).await > 0, "the binary had sessions to end");
        let r = scim.post("/Users", &user(&format!("u{round}"), "U", "Ser", &format!("u{round}@example.com"))).await;
        assert_eq!(r.status, 201, "a create after the sessions ended: {}", r.body);
        identity_testkit::end_postgres_sessions(&name).await;
        assert_eq!(scim.get(&format!("/Users/{id}")).await.status, 200, "a read after the sessions ended");
        identity_testkit::end_postgres_sessions(&name).await;
        let r = scim.patch(&id, json!([{"op": "replace", "path": "displayName", "value": format!("F {round}")}])).await;
        assert_eq!(r.status, 200, "a patch after the sessions ended: {}", r.body);
        identity_testkit::end_postgres_sessions(&name).await;
        assert_eq!(scim.get("/Users?filter=userName%20sw%20%22u%22").await.body["totalResults"], round + 1);
    }
    let logs = scim.svc.logs().join("\n");
    assert!(!logs.contains("SCIM request failed"), "no request failed:\n{logs}");
    drop(scim);
    db.drop_now().await;
}

/// Conflicts (a taken `userName`, a taken email address, a taken credential name) are found
/// without a unique constraint failing: PostgreSQL would log the failure with the key, and the
/// keys are SSO ids and email addresses. The server's log, read from where Debian's cluster
/// writes it, holds none of them afterwards.
pub async fn conflicts_leave_no_personal_data_in_the_postgres_log() {
    let Some(db) = identity_store::testing::TestDatabase::postgres().await else { return };
    let Some(log) = identity_testkit::postgres_log().await else {
        eprintln!("SKIPPED: the PostgreSQL server's log file cannot be found to read");
        return;
    };
    let start = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let scim = Scim::start(&db, &[]).await;
    let mark = uuid::Uuid::new_v4().simple().to_string();
    let (ann, bob) = (format!("ann-{mark}@example.com"), format!("bob-{mark}@example.com"));
    let a = scim.create(&user(&ann, "Ann", "Lee", &ann)).await;
    scim.create(&user(&bob, "Bob", "Ray", &bob)).await;
    let id = a["id"].as_str().unwrap();
    // The same userName; another userName with a taken email.
    scim.post("/Users", &user(&ann, "Ann", "Lee", &format!("other-{mark}@example.com")))
        .await
        .assert_error(409, Some("uniqueness"));
    scim.post("/Users", &user(&format!("carl-{mark}"), "C", "D", &bob)).await.assert_error(409, Some("uniqueness"));
    // A replace and a patch onto the other user's userName and email.
    scim.send(reqwest::Method::PUT, &format!("/Users/{id}"), Some(&user(&bob, "Ann", "Lee", &ann)), &[])
        .await
        .assert_error(409, Some("uniqueness"));
    let ops = json!([{"op": "replace", "path": "emails", "value": [{"value": bob, "primary": true}]}]);
    scim.patch(id, ops).await.assert_error(409, Some("uniqueness"));
    let name = format!("token-{mark}");
    scim.svc.cli(&["tokens", "create", "--name", &name]).await;
    let again = scim.svc.cli_output(&["tokens", "create", "--name", &name], &[]).await;
    assert!(!again.status.success(), "a taken credential name is refused");
    drop(scim);
    // The server writes its log as it goes; give it a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let text = std::fs::read(&log).unwrap();
    let written = String::from_utf8_lossy(&text[usize::try_from(start).unwrap().min(text.len())..]);
    let leaked: Vec<&str> = written.lines().filter(|l| l.contains(&mark)).collect();
    assert!(leaked.is_empty(), "the PostgreSQL log holds personal data:\n{}", leaked.join("\n"));
    db.drop_now().await;
}
