//! Nothing personal in logs (DESIGN.md §7.9): every binary runs at `debug` (more than production
//! logs) while its routes are driven with known names, addresses and service ids, in requests that
//! succeed and requests that fail; no log line of any of them holds one of those values.

use std::time::Duration;

use identity_store::testing::TestDatabase;
use identity_testkit::Service;
use serde_json::{json, Value};

use crate::support::{binary, Identity};

const USER_NAME: &str = "marguerite.logscan";
const EMAIL: &str = "marguerite.logscanova@example.gov.uk";
const HOME_EMAIL: &str = "m.logscan@home.example.org";
const OTHER_EMAIL: &str = "b.logsworth@example.org";
/// Every value that must never be logged, by any binary.
const VALUES: &[&str] = &[
    USER_NAME,
    "Marguerite",
    "Logscanova",
    "Quillon",
    "Daisylog",
    EMAIL,
    HOME_EMAIL,
    "Bartholomew",
    "Logsworth",
    OTHER_EMAIL,
    "lg-4242",
    "lg-4343",
];
const SCIM: &str = "application/scim+json";
const HAWK_ID: &str = "staff-sso";
const HAWK_KEY: &str = "a-hawk-key-for-the-log-scan";

/// A GET of `resource` signed with Hawk for `base`.
fn signed(base: &str, resource: &str, nonce: &str) -> String {
    let (host, port) = identity_testkit::hawk::host_and_port(base);
    let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    identity_testkit::hawk::Signing {
        key: HAWK_KEY,
        id: HAWK_ID,
        ts,
        nonce,
        method: "GET",
        resource,
        host: &host,
        port,
        hash: None,
    }
    .header()
}

fn person(nickname: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": USER_NAME,
        "name": {"givenName": "Marguerite", "familyName": "Logscanova", "middleName": "Quillon"},
        "nickName": nickname,
        "emails": [{"value": EMAIL, "type": "work", "primary": true}, {"value": HOME_EMAIL, "type": "home"}],
    })
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn nothing_personal_reaches_the_logs(db: &TestDatabase) {
    let id = Identity::start_with(db, &[("RUST_LOG", "debug")]).await;
    // Signed callers reach api and sso-profile with Hawk.
    let debug = [("RUST_LOG", "debug"), ("IDENTITY_HAWK__ID", HAWK_ID), ("IDENTITY_HAWK__KEY", HAWK_KEY)];
    let signed_api = Service::start(&binary("api"), &db.url, &debug).await;
    let profile = Service::start(&binary("sso-profile"), &db.url, &debug).await;
    let profile_token = profile.cli(&["tokens", "create", "--name", "staff-sso"]).await.trim().to_owned();
    let http = id.http();
    let scim = |method: reqwest::Method, path: &str| {
        http.request(method, id.scim.url(path)).bearer_auth(&id.scim_token).header("content-type", SCIM)
    };

    // sso-scim: writes, reads and searches naming her, and requests it refuses.
    let person_id = id.scim_create_json(&person("Daisylog")).await;
    let user = format!("/scim/v2/Users/{person_id}");
    assert_eq!(send(scim(reqwest::Method::GET, &user)).await.0, 200);
    assert_eq!(send(scim(reqwest::Method::GET, &format!("/api/scim/v2/Users/{person_id}"))).await.0, 200);
    for filter in [format!("userName eq \"{USER_NAME}\""), format!("emails.value eq \"{EMAIL}\"")] {
        let (status, found) = send(scim(reqwest::Method::GET, "/scim/v2/Users").query(&[("filter", &filter)])).await;
        assert_eq!((status, found["totalResults"].as_i64()), (200, Some(1)), "{found}");
    }
    let bad_filter = format!("userName eq \"{USER_NAME}");
    assert_eq!(send(scim(reqwest::Method::GET, "/scim/v2/Users").query(&[("filter", &bad_filter)])).await.0, 400);
    assert_eq!(send(scim(reqwest::Method::POST, "/scim/v2/Users").body(person("Daisylog").to_string())).await.0, 409);
    let mut bad = person("Daisylog");
    bad["active"] = json!("Marguerite Logscanova");
    bad["userName"] = json!("marguerite.logscan.2");
    assert_eq!(send(scim(reqwest::Method::POST, "/scim/v2/Users").body(bad.to_string())).await.0, 400);
    assert_eq!(id.scim_put(&person_id, &person("Daisylog2")).await, 200);
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "nickName", "value": "Daisylog3"}],
    });
    assert_eq!(send(scim(reqwest::Method::PATCH, &user).body(patch.to_string())).await.0, 200);

    // sso-profile: her sign-in, by her user name, once its memory has her.
    let sign_in = profile.url(&format!("/api/sso/{USER_NAME}"));
    let mut answered = 0;
    for _ in 0..200 {
        answered = send(http.get(&sign_in).bearer_auth(&profile_token)).await.0;
        if answered == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(answered, 200);
    let unknown = profile.url(&format!("/api/sso/{OTHER_EMAIL}"));
    assert_eq!(send(http.get(&unknown).bearer_auth(&profile_token)).await.0, 404);

    // import-worker: a service's file naming her and a new person, with a row it refuses, as a dry
    // run and for real; and a file whose header it refuses.
    let csv = format!(
        "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH\n\
         lg-4242,{EMAIL},,Marguerite,Quillon,Logscanova,Daisylog,09111983\n\
         lg-4343,{OTHER_EMAIL},,Bartholomew,,Logsworth,,02031979\n\
         lg-4444,Marguerite Logscanova,,Marguerite,,Logscanova,,31021983\n"
    );
    let dry = id.http().post(id.import.url("/imports?service=hr&dry_run=true")).bearer_auth(&id.import_token);
    assert_eq!(send(dry.header("content-type", "text/csv").body(csv.clone())).await.0, 202);
    let results = id.import(&csv).await;
    assert!(results.contains("lg-4343"), "{results}");
    let refused = id.http().post(id.import.url("/imports?service=hr")).bearer_auth(&id.import_token);
    let refused = refused.header("content-type", "text/csv").body(format!("ID,Marguerite,{EMAIL}\nlg-1,a,b\n"));
    assert_eq!(send(refused).await.0, 400);

    // api: reads and searches naming her, and a search it refuses.
    assert_eq!(id.api_get(&format!("/api/v1/people/{person_id}")).await.status, 200);
    assert_eq!(id.api_get(&format!("/api/v1/people/{person_id}/profiles")).await.status, 200);
    let found = id.api_get(&format!("/api/v1/people?email={OTHER_EMAIL}")).await;
    let other = found.body["people"][0]["id"].as_str().unwrap_or_else(|| panic!("{}", found.body)).to_owned();
    assert_eq!(id.api_get("/api/v1/people?email=Marguerite%20Logscanova").await.status, 200);
    assert_eq!(id.api_get("/api/v1/people?nickname=Marguerite").await.status, 400);
    assert_eq!(id.api_get("/api/v1/changes?after=0").await.status, 200);
    assert_eq!(id.api_get(&format!("/api/v1/people/{person_id}/explain")).await.status, 200);
    let by_email = format!("/api/v1/people?email={EMAIL}");
    assert_eq!(send(http.get(id.api.url(&by_email)).bearer_auth("idt_api_not-a-key")).await.0, 401);
    let hawk = signed(&signed_api.base, &by_email, "log-scan-1");
    assert_eq!(send(http.get(signed_api.url(&by_email)).header("authorization", &hawk)).await.0, 200);
    assert_eq!(send(http.get(signed_api.url(&by_email)).header("authorization", &hawk)).await.0, 401, "a replay");
    let sign_in_path = format!("/api/sso/{USER_NAME}");
    let hawk = signed(&profile.base, &sign_in_path, "log-scan-2");
    assert_eq!(send(http.get(profile.url(&sign_in_path)).header("authorization", hawk)).await.0, 200);

    // admin: a merge with a reason naming them, its undo, her history and export, then erasure.
    let merge = id
        .admin_post(
            "/admin/v1/merges",
            Some(json!({"survivor": person_id, "merged": other, "reason": "Marguerite Logscanova is Bartholomew"})),
        )
        .await;
    assert_eq!(merge.status, 201, "{}", merge.body);
    let undo = format!("/admin/v1/merges/{}/undo", merge.body["id"].as_str().unwrap());
    assert_eq!(id.admin_post(&undo, None).await.status, 200);
    assert_eq!(id.admin_get(&format!("/admin/v1/people/{person_id}/history")).await.status, 200);
    assert_eq!(id.admin_get("/admin/v1/reviews?kind=people").await.status, 200);
    let export = id.admin_get(&format!("/admin/v1/people/{person_id}/export")).await;
    assert!(export.body.to_string().contains(HOME_EMAIL), "the export holds her values");
    let erase = format!("/admin/v1/people/{person_id}/erase");
    let erased = id.admin_post(&erase, Some(json!({"reason": "Marguerite Logscanova asked (ref 12)"}))).await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(send(scim(reqwest::Method::GET, &user)).await.0, 404);
    assert_eq!(id.api_get(&format!("/api/v1/people/{person_id}")).await.status, 410);
    // The background work that follows the feed (the matcher, sso-profile's memory) sees it all.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let services = [&id.scim, &id.import, &id.admin, &id.api, &signed_api, &profile];
    let mut lines = 0;
    let mut found = Vec::new();
    for service in services {
        let logs = service.logs();
        assert!(
            logs.iter().any(|l| l.contains("\"level\":\"DEBUG\"")),
            "{} logged at debug: the scan would otherwise see little",
            service.binary
        );
        lines += logs.len();
        for line in logs {
            let lower = line.to_lowercase();
            if let Some(value) = VALUES.iter().find(|v| lower.contains(&v.to_lowercase())) {
                found.push(format!("{} logged {value:?}: {line}", service.binary));
            }
        }
    }
    assert!(lines > 200, "only {lines} lines were logged");
    assert!(found.is_empty(), "personal data in the logs:\n{}", found.join("\n"));
}
