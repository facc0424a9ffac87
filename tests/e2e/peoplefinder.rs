use identity_store::testing::TestDatabase;
use identity_testkit::Service;
use serde_json::json;

use crate::support::{binary, Identity};

/// People Finder writes a profile: Staff SSO provisions Ann (with a job title and a work
/// number), she writes her People Finder profile, and api answers each combined field with the
/// source that won it: People Finder's pronouns, preferred name and number, SSO's title and
/// addresses; explain names the list that decided.
pub async fn a_people_finder_write_shows_in_api_with_its_source(db: &TestDatabase) {
    let id = Identity::start(db).await;
    let pf = Service::start(&binary("peoplefinder"), &db.url, &[]).await;
    let pf_token = pf.cli(&["tokens", "create", "--name", "people-finder"]).await.trim().to_owned();
    let ann = id
        .scim_create_json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ann.lee",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "title": "Policy adviser",
            "emails": [{"value": "ann.lee@example.gov.uk", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "020 7946 0001", "type": "work"}]
        }))
        .await;
    let slug = "0b6c1c43-2a8e-4d7b-9b36-6f1f5a7c9e11";
    let written = id
        .send(id.http().post(pf.url("/api/peoplefinder/people")).bearer_auth(&pf_token).json(&json!({
            "sso_email_id": "ann.lee", "slug": slug, "first_name": "Ann", "last_name": "Lee",
            "preferred_first_name": "Annie", "pronouns": "she/her", "primary_phone_number": "07700 900123",
            "email_address": "ann.lee@example.gov.uk"
        })))
        .await;
    assert_eq!(written.status, 201, "{}", written.body);

    let person = id.api_get(&format!("/api/v1/people/{ann}")).await.body;
    let profile = &person["profile"];
    assert_eq!(profile["pronouns"], json!({"value": "she/her", "source": "peoplefinder"}), "{person}");
    assert_eq!(profile["preferred_name"], json!({"value": "Annie", "source": "peoplefinder"}));
    assert_eq!(profile["phones"]["source"], "peoplefinder");
    assert_eq!(profile["phones"]["value"][0]["number"], "07700 900123");
    assert_eq!(profile["job_title"], json!({"value": "Policy adviser", "source": "sso"}));
    assert_eq!(profile["emails"]["source"], "sso");
    assert_eq!(profile["first_name"]["source"], "sso", "SSO's names before People Finder's");
    let links = person["links"].to_string();
    assert!(links.contains("peoplefinder") && links.contains(slug), "{links}");

    let explain = id.api_get(&format!("/api/v1/people/{ann}/explain")).await.body;
    let pronouns = explain["fields"].as_array().unwrap().iter().find(|f| f["field"] == "pronouns").unwrap();
    assert_eq!(pronouns["precedence"], json!(["peoplefinder", "sso"]), "{pronouns}");
    assert_eq!(pronouns["source"], "peoplefinder");
    assert!(pf.stop().await);
}
