use std::time::Duration;

use identity_core::{Email, ProfileFields, Source, UserId};
use identity_store::testing::TestDatabase;
use identity_store::{Actor, PoolConfig, SsoUserWrite, Store};
use identity_testkit::hawk::{host_and_port, payload_hash, Signing};
use identity_testkit::Service;
use serde_json::{json, Value};

const KEY: &str = "a-hawk-key-for-tests-only";

pub struct PeopleFinder {
    pub svc: Service,
    store: Store,
    token: String,
}

impl PeopleFinder {
    pub async fn start(db: &TestDatabase) -> Self {
        let store = Store::connect(&db.url, &PoolConfig::default()).unwrap();
        store.migrate().await.unwrap();
        let env = [("IDENTITY_HAWK__ID", "people-finder"), ("IDENTITY_HAWK__KEY", KEY)];
        let svc = Service::start(env!("CARGO_BIN_EXE_peoplefinder"), &db.url, &env).await;
        let token = svc.cli(&["tokens", "create", "--name", "people-finder"]).await.trim().to_owned();
        for _ in 0..200 {
            if svc.http.get(svc.url("/readyz")).send().await.unwrap().status() == 200 {
                return Self { svc, store, token };
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("peoplefinder never became ready:\n{}", svc.logs().join("\n"));
    }

    /// Staff SSO provisions `user_name` (through the store, as sso-scim writes).
    async fn sso_user(&self, user_name: &str, given: &str, active: bool) -> UserId {
        let write = SsoUserWrite {
            user_name: user_name.to_owned(),
            fields: ProfileFields {
                first_name: Some(given.to_owned()),
                last_name: Some("Lee".to_owned()),
                preferred_name: Some(format!("{given}-sso")),
                email: Some(Email::parse(&format!("{user_name}@dept.example.gov.uk")).unwrap()),
                ..ProfileFields::default()
            },
            attributes: json!({ "userName": user_name }),
            active,
        };
        self.store.sso_create(&write, &Actor::new("scim:test")).await.unwrap().id
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let url = self.svc.url(path);
        let req = match method {
            "POST" => self.svc.http.post(url),
            "PUT" => self.svc.http.put(url),
            _ => self.svc.http.get(url),
        };
        let req = req.bearer_auth(&self.token);
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(b.to_owned()),
            None => req,
        };
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}")))
    }

    async fn post(&self, body: Value) -> (u16, Value) {
        self.send("POST", "/api/peoplefinder/people", Some(&body.to_string())).await
    }

    async fn put(&self, slug: &str, body: Value) -> (u16, Value) {
        self.send("PUT", &format!("/api/peoplefinder/people/{slug}"), Some(&body.to_string())).await
    }

    async fn get(&self, slug: &str) -> (u16, Value) {
        self.send("GET", &format!("/api/peoplefinder/people/{slug}"), None).await
    }
}

fn slug() -> String {
    uuid_v4()
}

fn uuid_v4() -> String {
    UserId::random().to_string()
}

fn msg(text: &str) -> Value {
    json!({ "message": text })
}

/// Every people route with the seed system's status codes and bodies, and where its behaviour
/// was a bug, the fix (DECISIONS.md "People Finder").
pub async fn people_are_created_read_and_replaced_as_people_finder_expects(db: &TestDatabase) {
    let pf = PeopleFinder::start(db).await;
    let ann = pf.sso_user("ann", "Ann", true).await;
    pf.sso_user("ian", "Ian", false).await;
    pf.sso_user("bob", "Bob", true).await;

    // The seed system's own example of a validation error, word for word.
    assert_eq!(
        pf.post(json!({"sso_email_id": "Bad Request"})).await,
        (
            422,
            json!({"detail": [{"type": "missing", "loc": ["body", "profile_request", "slug"], "msg": "Field required"}]})
        )
    );
    let (status, body) = pf.send("POST", "/api/peoplefinder/people", Some("{not json")).await;
    assert_eq!((status, body), (400, json!({"detail": "Cannot parse request body"})));
    let (status, body) = pf.post(json!({"sso_email_id": "ann", "slug": slug(), "workdays": ["mon", "funday"]})).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "profile_request", "workdays", 1]), "{body}");
    assert_eq!(body["detail"][0]["type"], "enum");

    // Only an active person Staff SSO knows.
    assert_eq!(pf.post(json!({"sso_email_id": "nobody", "slug": slug()})).await, (404, msg("Profile does not exist")));
    assert_eq!(pf.post(json!({"sso_email_id": "ian", "slug": slug()})).await, (404, msg("Profile does not exist")));

    let ann_slug = slug();
    let (status, created) = pf
        .post(json!({
            "sso_email_id": "ann", "slug": ann_slug, "first_name": "Ann", "last_name": "Lee",
            "preferred_first_name": "Annie", "pronouns": "she/her", "email_address": "ann@dept.example.gov.uk",
            "grade": "grade_7", "workdays": ["mon", "tue"], "not_employee": true
        }))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["slug"].as_str(), created["sso_email_id"].as_str()), (Some(ann_slug.as_str()), Some("ann")));
    assert_eq!(created["workdays"], json!(["mon", "tue"]));
    assert_eq!((created["login_count"].clone(), created["country_id"].clone()), (json!(0), json!("CTHMTC00260")));
    assert_eq!((created["not_employee"].clone(), created["photo"].clone()), (json!(true), Value::Null));

    // A second profile for Ann (the seed system answered 500), and Ann's slug for Bob: 409.
    let again = msg("A people finder profile for this user has already been created");
    assert_eq!(pf.post(json!({"sso_email_id": "ann", "slug": slug()})).await, (409, again.clone()));
    assert_eq!(pf.post(json!({"sso_email_id": "bob", "slug": ann_slug})).await, (409, again));

    // The read answers the minimal profile.
    let (status, read) = pf.get(&ann_slug).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!((read["pronouns"].as_str(), read["grade"].as_str()), (Some("she/her"), Some("grade_7")));
    assert!(read.get("workdays").is_none(), "the minimal answer: {read}");
    let unknown = msg("Unable to find people finder profile");
    assert_eq!(pf.get(&slug()).await, (404, unknown.clone()));
    assert_eq!(pf.get("not-a-slug").await, (404, unknown.clone()), "the seed system answered 500");

    // A full replace: what it leaves out is cleared, and a false sticks (the seed system ignored it).
    let (status, replaced) =
        pf.put(&ann_slug, json!({"sso_email_id": "ann", "first_name": "Ann", "not_employee": false})).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!((replaced["not_employee"].clone(), replaced["pronouns"].clone()), (json!(false), Value::Null));
    assert_eq!(replaced["workdays"], Value::Null);
    assert_eq!(pf.get(&ann_slug).await.1["pronouns"], Value::Null);

    let missing = msg("People finder profile does not exist");
    assert_eq!(pf.put(&slug(), json!({"sso_email_id": "ann"})).await, (404, missing.clone()));
    assert_eq!(pf.put("not-a-slug", json!({"sso_email_id": "ann"})).await, (404, missing));
    assert_eq!(pf.put(&ann_slug, json!({"sso_email_id": "nobody"})).await, (404, msg("Profile does not exist")));
    // Someone else's profile (the seed system wrote it whoever the body named).
    let (status, body) = pf.put(&ann_slug, json!({"sso_email_id": "bob"})).await;
    assert_eq!((status, body["detail"][0]["loc"].clone()), (422, json!(["body", "profile_request", "sso_email_id"])));
    // A manager nobody is (the seed system answered 404 or 500).
    let (status, body) = pf.put(&ann_slug, json!({"sso_email_id": "ann", "manager_slug": slug()})).await;
    assert_eq!((status, body["detail"][0]["loc"].clone()), (422, json!(["body", "profile_request", "manager_slug"])));

    // Reference lists: keys and the words people read.
    let (status, grades) = pf.send("GET", "/api/peoplefinder/reference/grades", None).await;
    assert_eq!(status, 200);
    assert_eq!(grades.as_array().unwrap().len(), 21);
    assert_eq!(grades[8], json!({"key": "grade_7", "value": "Grade 7 (G7/D6)"}));
    let (status, workdays) = pf.send("GET", "/api/peoplefinder/reference/workdays", None).await;
    assert_eq!((status, workdays[0].clone()), (200, json!({"key": "mon", "value": "Monday"})));
    assert_eq!(pf.send("GET", "/api/peoplefinder/reference/nonsense", None).await.0, 404);

    // Deactivated by Staff SSO: no longer found.
    let sso = pf.store.sso_get(ann).await.unwrap();
    let mut off = SsoUserWrite {
        user_name: "ann".into(),
        fields: pf.store.profiles(ann).await.unwrap().iter().find(|p| p.source == Source::Sso).unwrap().fields.clone(),
        attributes: json!({"userName": "ann"}),
        active: false,
    };
    off.fields.details = Default::default();
    pf.store.sso_replace(ann, &off, Some(sso.version), &Actor::new("scim:test")).await.unwrap();
    assert_eq!(pf.get(&ann_slug).await, (404, unknown));
    assert!(pf.svc.stop().await);
}

/// What People Finder says wins the fields precedence gives it, named as its source; a manager is
/// a person.
pub async fn a_profile_feeds_the_combined_profile_through_precedence(db: &TestDatabase) {
    let pf = PeopleFinder::start(db).await;
    let ann = pf.sso_user("ann", "Ann", true).await;
    let bob = pf.sso_user("bob", "Bob", true).await;
    let bob_slug = slug();
    assert_eq!(pf.post(json!({"sso_email_id": "bob", "slug": bob_slug})).await.0, 201);
    let ann_slug = slug();
    let body = json!({
        "sso_email_id": "ann", "slug": ann_slug, "first_name": "Anne", "preferred_first_name": "Annie",
        "pronouns": "she/her", "contact_email_address": "ann@home.example", "primary_phone_number": "020 7946 0000",
        "grade": "grade_7", "manager_slug": bob_slug
    });
    assert_eq!(pf.post(body).await.0, 201);
    let c = pf.store.person(ann).await.unwrap().combined;
    assert_eq!(
        c.preferred_name.as_ref().map(|n| (n.value.as_str(), &n.source)),
        Some(("Annie", &Source::PeopleFinder))
    );
    assert_eq!(
        c.first_name.as_ref().map(|n| (n.value.as_str(), &n.source)),
        Some(("Ann", &Source::Sso)),
        "SSO's names first"
    );
    let d = &c.details;
    assert_eq!(d.pronouns.as_ref().map(|p| &p.source), Some(&Source::PeopleFinder));
    assert_eq!(d.contact_email.as_ref().map(|e| e.value.as_str()), Some("ann@home.example"));
    assert_eq!(d.phones.as_ref().map(|p| p.value[0].number.as_str()), Some("020 7946 0000"));
    assert_eq!(d.grade.as_ref().map(|g| g.value.as_str()), Some("grade_7"));
    assert_eq!(d.manager.as_ref().map(|m| (m.value, &m.source)), Some((bob, &Source::PeopleFinder)));

    // The change log says so, as a People Finder write (newest first).
    pf.store.sequence_changes().await.unwrap();
    let changes = pf.store.changes_of(ann, None, 10).await.unwrap();
    let last = changes.first().unwrap();
    assert_eq!(last.source, identity_core::change::Origin::Source(Source::PeopleFinder), "{changes:?}");
    assert!(last.actor.starts_with("peoplefinder:"), "{}", last.actor);
    assert!(pf.svc.stop().await);
}

/// A bearer token or a Hawk signature (a write's with its payload hash); anything else, or a
/// replayed signature, is refused with the seed system's body.
pub async fn callers_must_authenticate(db: &TestDatabase) {
    let pf = PeopleFinder::start(db).await;
    pf.sso_user("ann", "Ann", true).await;
    let (host, port) = host_and_port(&pf.svc.base);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let body = json!({"sso_email_id": "ann", "slug": slug()}).to_string();
    let sign = |nonce: &str, key: &str, hash: Option<String>| {
        Signing {
            key,
            id: "people-finder",
            ts: now,
            nonce,
            method: "POST",
            resource: "/api/peoplefinder/people",
            host: &host,
            port,
            hash,
        }
        .header()
    };
    let send = |auth: Option<String>, body: String| {
        let mut req = pf
            .svc
            .http
            .post(pf.svc.url("/api/peoplefinder/people"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let unauthorized = (401, r#"{"detail":"Unauthorized"}"#.to_owned());
    assert_eq!(send(None, body.clone()).await, unauthorized);
    assert_eq!(send(Some("Bearer idt_peoplefinder_nope".into()), body.clone()).await, unauthorized);
    let hash = Some(payload_hash("application/json", &body));
    assert_eq!(send(Some(sign("n0", "another-key-entirely", hash.clone())), body.clone()).await, unauthorized);
    let signed = sign("n1", KEY, hash);
    let (status, answer) = send(Some(signed.clone()), body.clone()).await;
    assert_eq!(status, 201, "signed as People Finder signs: {answer}");
    assert_eq!(send(Some(signed), body).await, unauthorized, "a replayed nonce");
    let changed = json!({"sso_email_id": "ann", "slug": slug()}).to_string();
    let stale_hash = Some(payload_hash("application/json", "{}"));
    assert_eq!(send(Some(sign("n2", KEY, stale_hash)), changed).await, unauthorized, "a body it was not signed for");
    // The reference lists too.
    let r = pf.svc.http.get(pf.svc.url("/api/peoplefinder/reference/grades")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(pf.svc.stop().await);
}

/// Countries and UK staff locations are the department's data: empty until `reference load`
/// reads its dataset export, answered in People Finder's order, replaced whole, and a bad file
/// is refused with its first problem named and nothing changed.
pub async fn the_departments_lists_are_loaded_from_its_datasets(db: &TestDatabase) {
    let pf = PeopleFinder::start(db).await;
    let countries = "/api/peoplefinder/reference/countries";
    assert_eq!(pf.send("GET", countries, None).await, (200, json!([])), "empty until loaded");

    let dir = std::env::temp_dir().join(format!("pf-reference-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let rows = concat!(
        r#"{"object": {"reference_id": "CTHMTC00260", "name": "United Kingdom", "type": "Country", "iso_1_code": "826", "iso_2_code": "GB", "iso_3_code": "GBR"}}"#,
        "\n",
        r#"{"object": {"reference_id": "CTHMTC00002", "name": "Afghanistan", "type": "Country", "iso_2_code": "AF"}}"#,
        "\n"
    );
    let said = pf.svc.cli(&["reference", "load", "countries", &file("countries.jsonl", rows)]).await;
    assert!(said.contains("loaded 2 entries into countries"), "{said}");
    let (status, got) = pf.send("GET", countries, None).await;
    assert_eq!(status, 200);
    assert_eq!(got[0]["name"], "Afghanistan", "by reference id: {got}");
    assert_eq!(
        got[1],
        json!({"reference_id": "CTHMTC00260", "name": "United Kingdom", "type": "country", "iso_1_code": "826",
               "iso_2_code": "GB", "iso_3_code": "GBR", "overseas_region": null, "start_date": null, "end_date": null})
    );

    // One bad entry: refused, named, and the list stays as it was.
    let bad =
        format!("{rows}{}\n", r#"{"object": {"reference_id": "CTHMTC00274", "name": "Zimbabwe", "type": "moon"}}"#);
    let path = file("bad.jsonl", &bad);
    let out = identity_testkit::cli_output(
        env!("CARGO_BIN_EXE_peoplefinder"),
        &db.url,
        &["reference", "load", "countries", &path],
        &[],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("entry 3") && stderr.contains("nothing was loaded"), "{stderr}");
    assert_eq!(pf.send("GET", countries, None).await.1.as_array().map(Vec::len), Some(2));

    // Loaded again: replaced whole. The seed system's Django fixture loads too.
    let fixture =
        json!([{"model": "profiles.country", "pk": "CTHMTC00274", "fields": {"name": "Zimbabwe", "type": "country"}}]);
    pf.svc.cli(&["reference", "load", "countries", &file("fixture.json", &fixture.to_string())]).await;
    let (_, got) = pf.send("GET", countries, None).await;
    assert_eq!(got.as_array().map(|l| l.iter().map(|c| c["name"].clone()).collect()), Some(vec![json!("Zimbabwe")]));

    let places = json!([
        {"code": "L2", "name": "Windsor House", "organisation": "DBT", "building_name": "Windsor House", "city": "London"},
        {"code": "L1", "name": "Old Admiralty Building", "organisation": "DBT", "building_name": "OAB", "city": "London"}
    ]);
    pf.svc.cli(&["reference", "load", "uk_staff_locations", &file("places.json", &places.to_string())]).await;
    let (status, got) = pf.send("GET", "/api/peoplefinder/reference/uk_staff_locations", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        got,
        json!([{"code": "L1", "name": "Old Admiralty Building", "organisation": "DBT", "building_name": "OAB"},
               {"code": "L2", "name": "Windsor House", "organisation": "DBT", "building_name": "Windsor House"}])
    );
    let _ = std::fs::remove_dir_all(&dir);
}
