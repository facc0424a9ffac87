use identity_core::profile::Details;
use identity_core::ProfileFields;
use identity_store::testing::TestDatabase;
use identity_store::{Actor, PeopleFinderWrite, PoolConfig, Store};
use serde_json::json;

use crate::support::{urlencode, user, Scim, ENTERPRISE, USER};

const COMBINED: &str = identity_scim::schema::COMBINED_USER_SCHEMA;

async fn seeded(db: &TestDatabase) -> Scim {
    let scim = Scim::start(db, &[]).await;
    let people = [
        ("bjensen", "Barbara", "Jensen", "bjensen@example.com", "Sales", "Tour Guide"),
        ("jsmith", "John", "Smith", "john@work.example.org", "Engineering", ""),
        ("ann.lee", "Ann", "Lee", "ann@example.com", "engineering", "Engineer"),
        ("zoe", "Zoë", "Ng", "zoe@example.net", "Support", ""),
    ];
    for (name, given, family, email, dept, title) in people {
        let mut u = user(name, given, family, email);
        u[ENTERPRISE]["department"] = json!(dept);
        if !title.is_empty() {
            u["title"] = json!(title);
        }
        if name == "jsmith" {
            u["emails"] = json!([
                {"value": "john@work.example.org", "type": "work", "primary": true},
                {"value": "johnny@home.example", "type": "home"}
            ]);
            u["active"] = json!(false);
        }
        scim.create(&u).await;
    }
    scim
}

pub async fn every_operator_and_grouping(db: &TestDatabase) {
    let scim = seeded(db).await;
    let cases: &[(&str, &[&str])] = &[
        (r#"userName eq "BJENSEN""#, &["bjensen"]),
        (r#"USERNAME Eq "bjensen""#, &["bjensen"]),
        (r#"userName ne "bjensen""#, &["ann.lee", "jsmith", "zoe"]),
        (r#"userName co "SMI""#, &["jsmith"]),
        (r#"userName sw "ann.""#, &["ann.lee"]),
        (r#"userName ew "sen""#, &["bjensen"]),
        (r#"userName gt "jsmith""#, &["zoe"]),
        (r#"userName ge "jsmith""#, &["jsmith", "zoe"]),
        (r#"userName lt "bjensen""#, &["ann.lee"]),
        (r#"userName le "bjensen""#, &["ann.lee", "bjensen"]),
        ("title pr", &["ann.lee", "bjensen"]),
        ("not (title pr)", &["jsmith", "zoe"]),
        (r#"name.familyName eq "lee" or name.familyName eq "ng""#, &["ann.lee", "zoe"]),
        (r#"(name.familyName eq "lee" or name.familyName eq "ng") and title pr"#, &["ann.lee"]),
        (r#"name.familyName eq "lee" or name.familyName eq "ng" and title pr"#, &["ann.lee"]),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName sw "b""#, &["bjensen"]),
        (r#"emails[type eq "work" and value co ".org"]"#, &["jsmith"]),
        (r#"emails[type eq "home" and value co ".org"]"#, &[]),
        (r#"emails.value eq "JOHNNY@home.example""#, &["jsmith"]),
        (r#"emails co "@example.com""#, &["ann.lee", "bjensen"]),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "ENGINEERING""#,
            &["ann.lee", "jsmith"],
        ),
        ("active eq false", &["jsmith"]),
        (r#"externalId eq "ext-zoe""#, &["zoe"]),
        (r#"externalId eq "EXT-ZOE""#, &[]),
        (r#"meta.lastModified gt "2000-01-01T00:00:00Z""#, &["ann.lee", "bjensen", "jsmith", "zoe"]),
        (r#"meta.created lt "2000-01-01T00:00:00Z""#, &[]),
        (r#"meta.resourceType eq "User" and userName eq "zoe""#, &["zoe"]),
    ];
    for (filter, expected) in cases {
        assert_eq!(scim.find(filter).await, *expected, "{filter}");
    }
    // The id of a user filters like any attribute.
    let all = scim.get("/Users").await;
    let zoe = all.body["Resources"].as_array().unwrap().iter().find(|u| u["userName"] == "zoe").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(scim.find(&format!("id eq \"{zoe}\"")).await, ["zoe"]);
}

pub async fn bad_filters_are_invalid_filter(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let too_long = format!(r#"userName eq "{}""#, "x".repeat(2040));
    assert!(too_long.len() > 2048);
    let too_deep = format!("{}userName pr{}", "(".repeat(11), ")".repeat(11));
    let deep_ok = format!("{}userName pr{}", "(".repeat(10), ")".repeat(10));
    assert_eq!(scim.get(&format!("/Users?filter={}", urlencode(&deep_ok))).await.status, 200);
    for bad in [
        too_long.as_str(),
        too_deep.as_str(),
        "userName eq",
        r#"userName xx "a""#,
        r#"nosuchattr eq "a""#,
        r#"(userName eq "a""#,
        r#"userName eq "a" and"#,
        r#"userName eq "unterminated"#,
        r#"active eq "yes""#,
        r#"meta.lastModified gt "yesterday""#,
        r#"name eq "x""#,
        r#"active co "t""#,
        r#"emails[value eq "a"] and emails[type eq "work" and display[x eq "y"]]"#,
    ] {
        scim.get(&format!("/Users?filter={}", urlencode(bad))).await.assert_error(400, Some("invalidFilter"));
    }
}

pub async fn sorting_paging_and_projection(db: &TestDatabase) {
    let scim = Scim::start(db, &[("IDENTITY_SCIM__MAX_RESULTS", "3"), ("IDENTITY_SCIM__MAX_START_INDEX", "50")]).await;
    for (i, family) in ["Delta", "alpha", "Charlie", "bravo", "Echo"].iter().enumerate() {
        scim.create(&user(&format!("u{i}"), "G", family, &format!("u{i}@example.com"))).await;
    }
    let page = scim.get("/Users?sortBy=name.familyName&sortOrder=ascending&startIndex=1&count=2").await;
    assert_eq!(
        (page.body["totalResults"].as_u64(), page.body["itemsPerPage"].as_u64(), page.body["startIndex"].as_u64()),
        (Some(5), Some(2), Some(1))
    );
    let families = |r: &crate::support::Reply| -> Vec<String> {
        r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"]["familyName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(families(&page), ["alpha", "bravo"], "case-insensitive sort");
    assert_eq!(families(&scim.get("/Users?sortBy=name.familyName&startIndex=3&count=2").await), ["Charlie", "Delta"]);
    assert_eq!(families(&scim.get("/Users?sortBy=name.familyName&sortOrder=descending&count=1").await), ["Echo"]);
    let capped = scim.get("/Users?count=100").await;
    assert_eq!(capped.body["itemsPerPage"], 3, "count is capped by maxResults");
    let zero = scim.get("/Users?count=0").await;
    assert_eq!(
        (zero.body["totalResults"].as_u64(), zero.body["Resources"].as_array().map(Vec::len)),
        (Some(5), Some(0))
    );
    scim.get("/Users?startIndex=51").await.assert_error(400, Some("tooMany"));
    scim.get("/Users?sortBy=nosuch").await.assert_error(400, Some("invalidValue"));
    scim.get("/Users?sortOrder=sideways&sortBy=userName").await.assert_error(400, Some("invalidValue"));
    scim.get("/Users?count=many").await.assert_error(400, Some("invalidValue"));
    assert_eq!(scim.get("/ServiceProviderConfig").await.body["filter"]["maxResults"], 3);

    let only = scim.get("/Users?attributes=userName,name.familyName&count=1").await;
    let r = &only.body["Resources"][0];
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "name", "schemas", "userName"]);
    assert_eq!(r["name"].as_object().unwrap().len(), 1);
    let without = scim.get("/Users?excludedAttributes=emails,meta,id&count=1").await;
    let r = &without.body["Resources"][0];
    assert!(
        r.get("emails").is_none() && r.get("meta").is_none() && r.get("id").is_some() && r.get("schemas").is_some()
    );
    let id = r["id"].as_str().unwrap();
    let one = scim.get(&format!("/Users/{id}?attributes=displayName")).await;
    assert_eq!(one.body.as_object().unwrap().len(), 3, "{}", one.body);

    let search = scim
        .post("/Users/.search", &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "name.familyName sw \"d\"", "attributes": ["userName"]}))
        .await;
    assert_eq!((search.status, search.body["totalResults"].as_u64()), (200, Some(1)), "{}", search.body);
    assert_eq!(search.body["Resources"][0].as_object().unwrap().len(), 3);
}

pub async fn cursor_walks_are_stable_under_deletes(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let mut ids = Vec::new();
    for i in 0..9 {
        ids.push(
            scim.create(&user(&format!("c{i}"), "G", "F", &format!("c{i}@example.com"))).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let first = scim.get("/Users?cursor=&count=4").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.get("startIndex").is_none());
    let mut seen: Vec<String> =
        first.body["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
    // Delete one already seen and one not yet seen while walking.
    scim.send(reqwest::Method::DELETE, &format!("/Users/{}", seen[0]), None, &[]).await;
    let unseen = ids.iter().find(|id| !seen.contains(id)).unwrap().clone();
    scim.send(reqwest::Method::DELETE, &format!("/Users/{unseen}"), None, &[]).await;
    let mut cursor = first.body["nextCursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = scim.get(&format!("/Users?cursor={c}&count=4")).await;
        seen.extend(page.body["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        cursor = page.body["nextCursor"].as_str().map(str::to_owned);
    }
    let mut expected: Vec<String> = ids.into_iter().filter(|id| *id != unseen).collect();
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected, "every user not deleted ahead of the walk is met once");
    scim.get("/Users?cursor=garbage").await.assert_error(400, Some("invalidCursor"));
    scim.get("/Users?cursor=&startIndex=2").await.assert_error(400, Some("invalidValue"));
}

/// identity's combined profile, each value with its source, comes only when `attributes` names
/// its extension; a document sent back with it has it ignored; `/Schemas` describes it.
pub async fn the_combined_profile_is_returned_on_request(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let mut u = user("cara", "Cara", "Diaz", "cara@example.gov.uk");
    u["emails"] = json!([
        {"value": "cara@example.gov.uk", "type": "work", "primary": true},
        {"value": "cara@home.example", "type": "contact"}
    ]);
    u["title"] = json!("Engineer");
    let id = scim.create(&u).await["id"].as_str().unwrap().to_owned();

    let plain = scim.get(&format!("/Users/{id}")).await;
    assert!(plain.body.get(COMBINED).is_none(), "not returned by default: {}", plain.body);
    assert!(!plain.body["schemas"].as_array().unwrap().contains(&json!(COMBINED)));

    let asked = scim.get(&format!("/Users/{id}?attributes={COMBINED}")).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let mut keys: Vec<&str> = asked.body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "schemas", COMBINED]);
    assert!(asked.body["schemas"].as_array().unwrap().contains(&json!(COMBINED)));
    let c = &asked.body[COMBINED];
    assert_eq!(c["firstName"], json!({"value": "Cara", "source": "sso"}));
    assert_eq!(c["primaryEmail"], json!({"value": "cara@example.gov.uk", "source": "sso"}));
    assert_eq!(c["contactEmail"], json!({"value": "cara@home.example", "source": "sso"}));
    assert_eq!(c["title"], json!({"value": "Engineer", "source": "sso"}));
    assert_eq!(
        c["emails"][1],
        json!({"value": "cara@home.example", "type": "contact", "primary": false, "source": "sso"})
    );
    assert!(c.get("dateOfBirth").is_none() && c.get("trn").is_none());
    let path = format!("/Users/{id}?attributes={COMBINED}");
    let cached = scim.send(reqwest::Method::GET, &path, None, &[("if-none-match", "*")]).await;
    assert_eq!(cached.status, 200, "its ETag does not follow the combined profile: never 304");
    let one = scim.get(&format!("/Users/{id}?attributes={COMBINED}:title")).await;
    assert_eq!(one.body[COMBINED], json!({"title": {"value": "Engineer", "source": "sso"}}), "{}", one.body);

    // People Finder's profile wins what precedence gives it, and the extension says so.
    let store = Store::connect(&db.url, &PoolConfig::default()).unwrap();
    let pronouns = "she/her";
    let fields = ProfileFields {
        preferred_name: Some("Cee".into()),
        details: Details { pronouns: Some(pronouns.into()), ..Details::default() },
        ..ProfileFields::default()
    };
    let pf = PeopleFinderWrite { fields, document: json!({"pronouns": pronouns}) };
    let slug = "77777777-7777-4777-8777-777777777777";
    store.peoplefinder_put("cara", slug, &pf, true, &Actor::new("peoplefinder:test")).await.unwrap();
    let listed =
        scim.get(&format!("/Users?filter={}&attributes=userName,{COMBINED}", urlencode("userName eq \"cara\""))).await;
    let r = &listed.body["Resources"][0];
    assert_eq!(r["userName"], "cara", "{}", listed.body);
    assert_eq!(r[COMBINED]["pronouns"], json!({"value": "she/her", "source": "peoplefinder"}));
    assert_eq!(r[COMBINED]["preferredName"], json!({"value": "Cee", "source": "peoplefinder"}));
    assert_eq!(r[COMBINED]["firstName"]["source"], "sso");

    // Sent back whole with the extension: accepted, and never stored as Staff SSO's.
    let mut back = scim.get(&format!("/Users/{id}")).await.body;
    back[COMBINED] = asked.body[COMBINED].clone();
    back["schemas"] = json!([USER, ENTERPRISE, COMBINED]);
    let put = scim.send(reqwest::Method::PUT, &format!("/Users/{id}"), Some(&back), &[]).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert!(put.body.get(COMBINED).is_none(), "{}", put.body);
    assert!(scim.get(&format!("/Users/{id}")).await.body.get(COMBINED).is_none());

    let schema = scim.get(&format!("/Schemas/{COMBINED}")).await;
    assert_eq!(schema.status, 200, "{}", schema.body);
    let attrs = schema.body["attributes"].as_array().unwrap();
    assert!(attrs.iter().all(|a| a["mutability"] == "readOnly" && a["returned"] == "request"), "{attrs:?}");
}
