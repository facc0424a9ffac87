use identity_store::testing::TestDatabase;
use serde_json::{json, Value};

use crate::support::{user, Scim, ENTERPRISE};

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
