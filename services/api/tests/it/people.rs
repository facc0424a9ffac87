use identity_core::UserStatus;
use identity_store::testing::TestDatabase;
use identity_store::Actor;
use serde_json::json;

use crate::support::Api;

pub async fn a_person_with_the_source_of_every_field(db: &TestDatabase) {
    let api = Api::start(db, &[]).await;
    let id = api.imported_user("npq", "N-1", "bob@home.example", "1234567", ("Robert", "Smith")).await;
    let r = api.get(&format!("/api/v1/people/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["cache-control"], "private, no-cache");
    let p = &r.body;
    assert_eq!((p["id"].as_str(), p["status"].as_str()), (Some(id.to_string().as_str()), Some("active")));
    assert_eq!(p["profile"]["first_name"], json!({"value": "Robert", "source": "registry"}));
    assert_eq!(p["profile"]["email"], json!({"value": "bob@home.example", "source": "import:npq"}));
    assert_eq!(p["profile"]["preferred_name"], json!({"value": "Bobby", "source": "import:npq"}));
    assert_eq!(p["profile"]["date_of_birth"], json!({"value": "1980-02-01", "source": "registry"}));
    assert_eq!(p["profile"]["trn"], json!({"value": "1234567", "source": "registry"}));
    assert!(p["profile"].get("display_name").is_none(), "absent fields are left out");
    assert_eq!(
        p["links"],
        json!([{"source": "import:npq", "external_id": "N-1"}, {"source": "registry", "external_id": "1234567"}])
    );

    // Conditional reads.
    let tag = r.headers["etag"].to_str().unwrap().to_owned();
    let again = api.get_with(&format!("/api/v1/people/{id}"), Some(&api.key), &[("if-none-match", &tag)]).await;
    assert_eq!((again.status, again.headers["etag"].to_str().unwrap()), (304, tag.as_str()));

    // The "why this value" view needs its own scope.
    let profiles = api.get(&format!("/api/v1/people/{id}/profiles")).await;
    assert_eq!(profiles.status, 200, "{}", profiles.body);
    let sources: Vec<&str> =
        profiles.body["profiles"].as_array().unwrap().iter().map(|p| p["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["import:npq", "registry"]);
    assert_eq!(profiles.body["profiles"][0]["fields"]["email"], "bob@home.example");
    let reader = api.key("reader", "people:read").await;
    api.get_with(&format!("/api/v1/people/{id}/profiles"), Some(&reader), &[]).await.assert_error(
        403,
        "forbidden",
        None,
    );
    assert_eq!(api.get_with(&format!("/api/v1/people/{id}"), Some(&reader), &[]).await.status, 200);

    // SSO writes win the email and change the ETag.
    let sso = api.sso_user("bob.smith", "Bob", "Smith", "bob.smith@dept.example").await;
    assert_ne!(sso, id);
    let other = api.get(&format!("/api/v1/people/{sso}")).await;
    assert_eq!(other.body["profile"]["email"]["source"], "sso");
}

pub async fn archived_merged_and_missing_people(db: &TestDatabase) {
    let api = Api::start(db, &[]).await;
    let gone = api.sso_user("gone", "Gone", "Away", "gone@example.com").await;
    api.store.sso_archive(gone, None, &Actor::new("scim:test")).await.unwrap();
    let r = api.get(&format!("/api/v1/people/{gone}")).await;
    r.assert_error(410, "gone", None);
    let text = r.body.to_string();
    assert!(!text.contains("Gone") && !text.contains("gone@example.com"), "no personal data: {text}");
    api.get(&format!("/api/v1/people/{gone}/profiles")).await.assert_error(410, "gone", None);

    let loser = api.sso_user("dup", "Ann", "Lee", "dup@example.com").await;
    let survivor = api.sso_user("ann", "Ann", "Lee", "ann@example.com").await;
    let merge = identity_store::NewMerge { survivor, merged: loser, reason: "the same person".into() };
    api.store.merge(&merge, &Actor::new("reviewer")).await.unwrap();
    // The survivor's profiles include the merged person's, marked with their person.
    let profiles = api.get(&format!("/api/v1/people/{survivor}/profiles")).await;
    assert_eq!(profiles.body["profiles"].as_array().unwrap().len(), 1, "{}", profiles.body);
    let merged = &profiles.body["merged_profiles"][0];
    assert_eq!(merged["person"], loser.to_string(), "{}", profiles.body);
    assert_eq!((merged["source"].as_str(), merged["external_id"].as_str()), (Some("sso"), Some("dup")));
    let r = api.get(&format!("/api/v1/people/{loser}")).await;
    assert_eq!(r.status, 308);
    assert_eq!(r.headers["location"].to_str().unwrap(), format!("/api/v1/people/{survivor}"));
    assert_eq!(r.body["merged_into"], survivor.to_string());

    api.get("/api/v1/people/00000000-0000-4000-8000-000000000000").await.assert_error(404, "not_found", None);
    api.get("/api/v1/people/not-a-uuid").await.assert_error(400, "invalid_parameter", Some("id"));
    api.get(&format!("/api/v1/people/{survivor}?expand=all")).await.assert_error(
        400,
        "invalid_parameter",
        Some("expand"),
    );
}

pub async fn lookups_and_listing(db: &TestDatabase) {
    let api = Api::start(db, &[]).await;
    let ann = api.sso_user("Ann.Lee", "Ann", "Lee", "Ann.Lee@Example.com").await;
    let bob = api.imported_user("npq", "N-7", "bob@home.example", "7654321", ("Robert", "Smith")).await;
    let found = |body: &serde_json::Value| -> Vec<String> {
        body["people"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(found(&api.get("/api/v1/people?email=ann.lee%40example.COM").await.body), [ann.to_string()]);
    assert_eq!(found(&api.get("/api/v1/people?trn=7654321").await.body), [bob.to_string()]);
    assert_eq!(found(&api.get("/api/v1/people?source=import:npq&external_id=N-7").await.body), [bob.to_string()]);
    assert_eq!(found(&api.get("/api/v1/people?source=sso&external_id=ANN.LEE").await.body), [ann.to_string()]);
    assert!(found(&api.get("/api/v1/people?email=nobody%40example.com").await.body).is_empty());
    for (query, parameter) in [
        ("trn=12", "trn"),
        ("source=hr&external_id=1", "source"),
        ("source=sso", "external_id"),
        ("external_id=1", "source"),
        ("email=a%40b.co&limit=5", "limit"),
        ("email=a%40b.co&trn=1234567", "trn"),
        ("email=", "email"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("cursor=abc", "cursor"),
        ("status=deleted", "status"),
        ("updated_since=yesterday", "updated_since"),
        ("colour=blue", "colour"),
    ] {
        api.get(&format!("/api/v1/people?{query}")).await.assert_error(400, "invalid_parameter", Some(parameter));
    }

    // Listing in pages with an opaque cursor, stable while people are added.
    for i in 0..5 {
        api.sso_user(&format!("p{i}"), "P", "Q", &format!("p{i}@example.com")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/people?limit=3&cursor={c}"),
            None => "/api/v1/people?limit=3".to_owned(),
        };
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(found(&page.body));
        if seen.len() == 3 {
            api.sso_user("late", "L", "A", "late@example.com").await;
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no person twice");
    assert!(seen.len() >= 7, "everyone present when the walk started is met: {}", seen.len());

    let mut off = identity_store::SsoUserWrite {
        user_name: "Ann.Lee".into(),
        fields: Default::default(),
        attributes: json!({"userName": "Ann.Lee"}),
        active: false,
    };
    off.fields.email = Some(identity_core::Email::parse("Ann.Lee@Example.com").unwrap());
    api.store.sso_replace(ann, &off, None, &Actor::new("scim:test")).await.unwrap();
    let inactive = api.get("/api/v1/people?status=inactive").await;
    assert_eq!(found(&inactive.body), [ann.to_string()]);
    assert_eq!(inactive.body["people"][0]["status"], UserStatus::Inactive.to_string());
    let future = api.get("/api/v1/people?updated_since=2999-01-01T00:00:00Z").await;
    assert!(found(&future.body).is_empty());
    let past = api.get("/api/v1/people?updated_since=2000-01-01T00:00:00Z&limit=1000").await;
    assert_eq!(found(&past.body).len(), 8);
}

/// `GET /api/v1/people/{id}/explain`: for each field the value the combined profile holds, the
/// source that won it (a merged person's profile among them), the list that decided it, and
/// every other source's value.
pub async fn explain_says_why_each_field_has_its_value(db: &TestDatabase) {
    let api = Api::start(db, &[]).await;
    let bob = api.imported_user("npq", "N-1", "bob@home.example", "1234567", ("Robert", "Smith")).await;
    let sso = api.sso_user("bob.smith", "Bob", "Smith", "bob.smith@dept.example").await;
    let merge = identity_store::NewMerge { survivor: bob, merged: sso, reason: "the same person".into() };
    api.store.merge(&merge, &Actor::new("reviewer")).await.unwrap();

    let r = api.get(&format!("/api/v1/people/{bob}/explain")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fields = r.body["fields"].as_array().unwrap();
    let field = |name: &str| fields.iter().find(|f| f["field"] == name).unwrap_or_else(|| panic!("{name}: {}", r.body));
    let email = field("email");
    assert_eq!(email["value"], "bob.smith@dept.example");
    assert_eq!(email["source"], "sso");
    assert_eq!(email["merged_from"], sso.to_string(), "{email}");
    assert_eq!(email["precedence"], json!(["sso", "import:*"]));
    assert_eq!(email["others"].as_array().unwrap().len(), 1, "{email}");
    assert_eq!(
        (email["others"][0]["source"].as_str(), email["others"][0]["value"].as_str()),
        (Some("import:npq"), Some("bob@home.example"))
    );
    assert!(email["others"][0]["set_at"].is_string() && email["set_at"].is_string());
    let first = field("first_name");
    assert_eq!((first["value"].as_str(), first["source"].as_str()), (Some("Robert"), Some("registry")));
    assert_eq!(first["precedence"], json!(["registry", "sso", "peoplefinder", "import:*"]));
    assert_eq!(first["others"][0]["value"], "Bob");
    let middle = field("middle_name");
    assert!(middle["value"].is_null() && middle["source"].is_null(), "the registry's names, as a group: {middle}");

    // The same values, from the same sources, as the combined profile the store keeps.
    let person = api.get(&format!("/api/v1/people/{bob}")).await.body;
    for f in fields {
        let name = f["field"].as_str().unwrap();
        let kept = &person["profile"][name];
        assert_eq!(f["source"], kept.get("source").cloned().unwrap_or(json!(null)), "{name}");
        if name != "date_of_birth" {
            assert_eq!(f["value"], kept.get("value").cloned().unwrap_or(json!(null)), "{name}");
        }
    }

    let reader = api.key("reader", "people:read").await;
    let explain = format!("/api/v1/people/{bob}/explain");
    api.get_with(&explain, Some(&reader), &[]).await.assert_error(403, "forbidden", None);
    api.get(&format!("{explain}?field=email")).await.assert_error(400, "invalid_parameter", Some("field"));
    api.get("/api/v1/people/not-a-uuid/explain").await.assert_error(400, "invalid_parameter", Some("id"));
    api.get("/api/v1/people/00000000-0000-4000-8000-000000000000/explain").await.assert_error(404, "not_found", None);
    api.get(&format!("/api/v1/people/{sso}/explain")).await.assert_error(410, "gone", None);
}
