use identity_store::testing::TestDatabase;
use serde_json::{json, Value};

use crate::support::{user, Scim, ENTERPRISE, PATCH};

async fn patched(scim: &Scim, id: &str, ops: Value) -> Value {
    let r = scim.patch(id, ops.clone()).await;
    assert_eq!(r.status, 200, "{ops}: {}", r.body);
    assert_eq!(r.body, scim.get(&format!("/Users/{id}")).await.body, "the answer is the stored resource");
    r.body
}

pub async fn every_patch_form(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let u = scim.create(&user("ann", "Ann", "Lee", "ann@example.com")).await;
    let id = u["id"].as_str().unwrap();

    // add with a path, and to a multi-valued attribute.
    let r = patched(&scim, id, json!([{"op": "add", "path": "title", "value": "Engineer"}])).await;
    assert_eq!(r["title"], "Engineer");
    let r = patched(
        &scim,
        id,
        json!([{"op": "add", "path": "emails", "value": [{"value": "ann@home.example", "type": "home"}]}]),
    )
    .await;
    assert_eq!(r["emails"].as_array().unwrap().len(), 2);
    // add without a path.
    let r = patched(
        &scim,
        id,
        json!([{"op": "add", "value": {"nickName": "Annie", "phoneNumbers": [{"value": "+44 1", "type": "work"}]}}]),
    )
    .await;
    assert_eq!((r["nickName"].as_str(), r["phoneNumbers"][0]["value"].as_str()), (Some("Annie"), Some("+44 1")));
    // replace with a path and a value filter, and its sub-attribute.
    let r = patched(
        &scim,
        id,
        json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "ann@elsewhere.example"}]),
    )
    .await;
    assert!(r["emails"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["value"] == "ann@elsewhere.example" && e["type"] == "home"));
    // replace without a path.
    let r = patched(&scim, id, json!([{"op": "replace", "value": {"displayName": "Ann L.", "title": "Lead"}}])).await;
    assert_eq!((r["displayName"].as_str(), r["title"].as_str()), (Some("Ann L."), Some("Lead")));
    // remove by path, by value filter, and a filter's sub-attribute.
    let r = patched(&scim, id, json!([{"op": "remove", "path": "title"}])).await;
    assert!(r.get("title").is_none());
    let r = patched(&scim, id, json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).await;
    assert_eq!(r["emails"].as_array().unwrap().len(), 1);
    let r = patched(&scim, id, json!([{"op": "remove", "path": "phoneNumbers[type eq \"work\"].type"}])).await;
    assert!(r["phoneNumbers"][0].get("type").is_none());
    // The enterprise extension, by URN path and as a whole.
    let r =
        patched(&scim, id, json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Finance"}]))
            .await;
    assert_eq!(r[ENTERPRISE]["department"], "Finance");
    let r = patched(
        &scim,
        id,
        json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": "boss-id"}}]),
    )
    .await;
    assert_eq!(r[ENTERPRISE]["manager"]["value"], "boss-id");
    let r = patched(&scim, id, json!([{"op": "replace", "path": ENTERPRISE, "value": {"costCenter": "CC1"}}])).await;
    assert_eq!(
        (r[ENTERPRISE]["costCenter"].as_str(), r[ENTERPRISE]["department"].as_str()),
        (Some("CC1"), Some("Finance"))
    );
    let r = patched(&scim, id, json!([{"op": "remove", "path": format!("{ENTERPRISE}:manager")}])).await;
    assert!(r[ENTERPRISE].get("manager").is_none());
    // Several operations in one request, applied in order.
    let r = patched(
        &scim,
        id,
        json!([
            {"op": "add", "path": "title", "value": "A"},
            {"op": "replace", "path": "title", "value": "B"}
        ]),
    )
    .await;
    assert_eq!(r["title"], "B");
}

pub async fn identity_provider_quirks(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let u = scim.create(&user("bob", "Bob", "Ray", "bob@example.com")).await;
    let id = u["id"].as_str().unwrap();
    // Entra ID: capitalised ops, string booleans, dotted names in a path-less replace, and an
    // add to a filtered path that matches nothing creates the element.
    let r = patched(&scim, id, json!([
        {"op": "Replace", "value": {"active": "False", "name.givenName": "Robert", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops"}},
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 7700 900000"}
    ]))
    .await;
    assert_eq!(r["active"], false);
    assert_eq!(r["name"]["givenName"], "Robert");
    assert_eq!(r[ENTERPRISE]["department"], "Ops");
    assert_eq!(r["phoneNumbers"], json!([{"type": "mobile", "value": "+44 7700 900000"}]));
    // Okta: replace active with a real boolean, ops in upper case.
    let r = patched(&scim, id, json!([{"op": "REPLACE", "value": {"active": true}}])).await;
    assert_eq!(r["active"], true);
    let r = patched(&scim, id, json!([{"op": "replace", "path": "active", "value": "True"}])).await;
    assert_eq!(r["active"], true);
}

pub async fn patch_errors(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let u = scim.create(&user("eve", "Eve", "Ng", "eve@example.com")).await;
    let id = u["id"].as_str().unwrap();
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (json!([{"op": "remove"}]), 400, Some("noTarget")),
        (json!([{"op": "replace", "path": "emails[type co \"fax\"].display", "value": "x"}]), 400, Some("noTarget")),
        (json!([{"op": "replace", "path": "nosuch", "value": "x"}]), 400, Some("invalidPath")),
        (json!([{"op": "replace", "path": "emails[type eq]", "value": "x"}]), 400, Some("invalidPath")),
        (json!([{"op": "replace", "path": "id", "value": "x"}]), 400, Some("mutability")),
        (json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]), 400, Some("mutability")),
        (json!([{"op": "replace", "path": "active", "value": "perhaps"}]), 400, Some("invalidValue")),
        (json!([{"op": "replace", "path": "userName", "value": 7}]), 400, Some("invalidValue")),
        (json!([{"op": "remove", "path": "userName"}]), 400, Some("invalidValue")),
        (json!([{"op": "jump", "path": "title", "value": "x"}]), 400, Some("invalidSyntax")),
        (json!([]), 400, Some("invalidSyntax")),
    ];
    for (ops, status, scim_type) in cases {
        let r = scim.patch(id, ops.clone()).await;
        assert_eq!(r.status, status, "{ops}: {}", r.body);
        r.assert_error(status, scim_type);
    }
    // A failed PATCH changes nothing.
    assert_eq!(scim.get(&format!("/Users/{id}")).await.body, u);
    let no_schema = scim
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(&json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]})),
            &[],
        )
        .await;
    no_schema.assert_error(400, Some("invalidSyntax"));
    scim.patch("00000000-0000-4000-8000-000000000000", json!([{"op": "add", "path": "title", "value": "x"}]))
        .await
        .assert_error(404, None);
    // Renaming onto another user's userName is a conflict.
    scim.create(&user("taken", "T", "K", "taken@example.com")).await;
    scim.patch(id, json!([{"op": "replace", "path": "userName", "value": "TAKEN"}]))
        .await
        .assert_error(409, Some("uniqueness"));
}

/// A PATCH's work is bounded before it starts: at most 100 operations and 100 values per
/// multi-valued attribute, each refusal naming its bound; a large one is worked on the blocking
/// pool, so the health check answers at once meanwhile. `ServiceProviderConfig` stays as RFC
/// 7643 defines it (strict clients refuse anything more).
pub async fn patches_are_bounded(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let spc = scim.get("/ServiceProviderConfig").await.body;
    assert_eq!(spc["patch"], json!({"supported": true}));
    let (max_ops, max_values) = (100, 100);
    let u = scim.create(&user("bound", "B", "Ound", "bound@example.com")).await;
    let id = u["id"].as_str().unwrap();
    let phone = |i: usize| json!({"value": format!("+44 20 7946 {i:04}"), "type": "work"});
    let one = |i: usize| json!({"op": "add", "path": "phoneNumbers", "value": [phone(i)]});

    let too_many_ops: Vec<Value> = (0..=max_ops).map(one).collect();
    let r = scim.patch(id, Value::Array(too_many_ops)).await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains(&format!("at most {max_ops} operations")), "{}", r.body);
    let too_many_values: Vec<Value> = (0..=max_values).map(phone).collect();
    let r = scim.patch(id, json!([{"op": "add", "path": "phoneNumbers", "value": too_many_values}])).await;
    r.assert_error(400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains(&format!("at most {max_values}")), "{}", r.body);
    // Values added one operation at a time stop at the bound too.
    let fill: Vec<Value> = (0..max_values).map(one).collect();
    assert_eq!(scim.patch(id, Value::Array(fill)).await.status, 200);
    scim.patch(id, json!([one(max_values)])).await.assert_error(400, Some("invalidValue"));
    let mut big = user("big", "B", "Ig", "big@example.com");
    big["emails"] = Value::Array((0..=max_values).map(|i| json!({"value": format!("e{i}@example.com")})).collect());
    scim.post("/Users", &big).await.assert_error(400, Some("invalidValue"));
    assert_eq!(scim.get(&format!("/Users/{id}")).await.body["phoneNumbers"].as_array().unwrap().len(), max_values);

    // The largest PATCH there can be, sent several at once: the health check is not held up.
    let largest: Vec<Value> = (0..max_ops)
        .map(|i| json!({"op": "replace", "path": format!("phoneNumbers[value eq \"+44 20 7946 {i:04}\"].display"), "value": "x".repeat(8000)}))
        .collect();
    let sends: Vec<_> = (0..4)
        .map(|_| {
            let req = scim.request(
                reqwest::Method::PATCH,
                &format!("/Users/{id}"),
                Some(&json!({"schemas": [PATCH], "Operations": largest})),
                &[],
            );
            tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let health = scim.svc.http.get(scim.svc.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    for send in sends {
        assert_eq!(send.await.unwrap(), 200);
    }
}

/// Sends `n` PATCHes at once, each adding one phone number to user `id`, through the replicas
/// in turn; asserts every one answers 200 and that the user ends with all `n` numbers.
async fn add_phones_at_once(replicas: &[&Scim], id: &str, n: usize) {
    let sends: Vec<_> = (0..n)
        .map(|i| {
            let ops =
                json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": format!("+44 1632 96{i:04}")}]}]);
            let req = replicas[i % replicas.len()].request(
                reqwest::Method::PATCH,
                &format!("/Users/{id}"),
                Some(&json!({"schemas": [PATCH], "Operations": ops})),
                &[],
            );
            tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.unwrap(), 200, "every contending patch applies, whichever replica took it");
    }
    let phones = replicas[0].get(&format!("/Users/{id}")).await.body["phoneNumbers"].as_array().unwrap().len();
    assert_eq!(phones, n, "no update was lost");
}

/// Patches of one user sent at once, without `If-Match`, each apply: none is lost and none
/// gives up with 409.
pub async fn contending_patches_all_apply(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let u = scim.create(&user("busy", "B", "Usy", "busy@example.com")).await;
    add_phones_at_once(&[&scim], u["id"].as_str().unwrap(), 60).await;
}

/// Two replicas on one database patching one user at once, without `If-Match`: they do not take
/// turns with each other, so their writes meet; the retries with backoff apply every patch and
/// none answers 409.
pub async fn patches_through_two_replicas_all_apply() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let first = Scim::start(&db, &[]).await;
    let second = Scim {
        svc: identity_testkit::Service::start(env!("CARGO_BIN_EXE_sso-scim"), &db.url, &[]).await,
        token: first.token.clone(),
    };
    let u = first.create(&user("shared", "S", "Hared", "shared@example.com")).await;
    add_phones_at_once(&[&first, &second], u["id"].as_str().unwrap(), 40).await;
    drop((first, second));
    db.drop_now().await;
}
