use std::time::Duration;

use identity_core::profile::{ContactKind, Details, EmailEntry};
use identity_core::{Email, ProfileFields, UserId};
use identity_store::testing::TestDatabase;
use identity_store::{Actor, NewMerge, PoolConfig, SsoUserWrite, Store};
use identity_testkit::hawk::{host_and_port, Signing};
use identity_testkit::Service;
use serde_json::{json, Value};

const KEY: &str = "a-hawk-key-for-tests-only";

struct Profiles {
    svc: Service,
    store: Store,
    token: String,
}

fn write(user_name: &str, given: &str, email: &str, active: bool) -> SsoUserWrite {
    SsoUserWrite {
        user_name: user_name.to_owned(),
        fields: ProfileFields {
            first_name: Some(given.to_owned()),
            last_name: Some("Lee".to_owned()),
            email: Some(Email::parse(email).unwrap()),
            ..ProfileFields::default()
        },
        attributes: json!({"userName": user_name}),
        active,
    }
}

impl Profiles {
    async fn start(db: &TestDatabase, store: Store) -> Self {
        let env =
            [("IDENTITY_HAWK__ID", "staff-sso"), ("IDENTITY_HAWK__KEY", KEY), ("IDENTITY_PROFILES__POLL_MS", "20")];
        let svc = Service::start(env!("CARGO_BIN_EXE_sso-profile"), &db.url, &env).await;
        let token = svc.cli(&["tokens", "create", "--name", "load-test"]).await.trim().to_owned();
        for _ in 0..200 {
            if svc.http.get(svc.url("/readyz")).send().await.unwrap().status() == 200 {
                return Self { svc, store, token };
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("sso-profile never became ready:\n{}", svc.logs().join("\n"));
    }

    async fn get(&self, id: &str) -> (u16, Value) {
        let r =
            self.svc.http.get(self.svc.url(&format!("/api/sso/{id}"))).bearer_auth(&self.token).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// Numbers the store's writes (a writer's sequencer would) and waits until `id` answers
    /// `status`; returns the body.
    async fn eventually(&self, id: &str, status: u16) -> Value {
        for _ in 0..200 {
            self.store.sequence_changes().await.unwrap();
            let (got, body) = self.get(id).await;
            if got == status {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{id} never answered {status}");
    }
}

/// Loaded at start and kept fresh: a new user, a changed name, a deactivation, an archive and a
/// merge each show; ids compare case-insensitively; a person SSO does not know is not found.
pub async fn sign_in_profiles_follow_the_store(db: &TestDatabase) {
    let store = Store::connect(&db.url, &PoolConfig::default()).unwrap();
    store.migrate().await.unwrap();
    let actor = Actor::new("scim:test");
    let ann = store.sso_create(&write("Ann.Lee", "Ann", "ann.lee@example.gov.uk", true), &actor).await.unwrap().id;
    let mut bob = write("bob.lee", "Bob", "bob.lee@example.gov.uk", true);
    let entry = |address: &str, kind, primary| EmailEntry { address: Email::parse(address).unwrap(), kind, primary };
    bob.fields.details = Details {
        emails: vec![
            // The primary as the list spells it, another case: not repeated.
            entry("Bob.Lee@Example.gov.uk", ContactKind::Work, true),
            entry("robert.lee@other.example", ContactKind::Other, false),
        ],
        contact_email: Some(Email::parse("bob@home.example").unwrap()),
        ..Details::default()
    };
    let bob = store.sso_create(&bob, &actor).await.unwrap().id;
    let dormant = store.sso_create(&write("dot.lee", "Dot", "dot.lee@example.gov.uk", false), &actor).await.unwrap();
    store.sequence_changes().await.unwrap();
    let p = Profiles::start(db, store).await;

    let (status, body) = p.get("ann.lee").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"id": "Ann.Lee", "first_name": "Ann", "last_name": "Lee", "primary_email": "ann.lee@example.gov.uk",
               "contact_email": null, "emails": ["ann.lee@example.gov.uk"]})
    );
    assert_eq!(p.get("ANN.LEE").await.0, 200, "SSO ids compare case-insensitively");
    let (_, body) = p.get("bob.lee").await;
    assert_eq!(
        (&body["contact_email"], &body["emails"]),
        (&json!("bob@home.example"), &json!(["bob.lee@example.gov.uk", "robert.lee@other.example"])),
        "the combined contact address and every address, the primary first: {body}"
    );
    assert_eq!(p.get("dot.lee").await, (404, json!({"message": "Unable to find user"})), "an inactive user");
    assert_eq!(p.get("nobody").await, (404, json!({"message": "Unable to find user"})));
    let _ = dormant;

    let actor = Actor::new("scim:test");
    let cat = p.store.sso_create(&write("cat.lee", "Cat", "cat.lee@example.gov.uk", true), &actor).await.unwrap().id;
    assert_eq!(p.eventually("cat.lee", 200).await["first_name"], "Cat");
    p.store.sso_replace(ann, &write("Ann.Lee", "Annie", "ann.lee@example.gov.uk", true), None, &actor).await.unwrap();
    for _ in 0..200 {
        if p.eventually("ann.lee", 200).await["first_name"] == "Annie" {
            break;
        }
    }
    assert_eq!(p.get("ann.lee").await.1["first_name"], "Annie", "a changed name shows");
    p.store.sso_replace(bob, &write("bob.lee", "Bob", "bob.lee@example.gov.uk", false), None, &actor).await.unwrap();
    p.eventually("bob.lee", 404).await;
    // A new userName and nothing else: the old id stops answering, the new one answers.
    p.store
        .sso_replace(ann, &write("Ann.Renamed", "Annie", "ann.lee@example.gov.uk", true), None, &actor)
        .await
        .unwrap();
    assert_eq!(p.eventually("ann.renamed", 200).await["id"], "Ann.Renamed");
    assert_eq!(p.get("ann.lee").await.0, 404);
    p.store.sso_archive(ann, None, &actor).await.unwrap();
    p.eventually("ann.renamed", 404).await;
    let merge = NewMerge { survivor: cat, merged: UserId::random(), reason: "test".into() };
    assert!(p.store.merge(&merge, &Actor::new("test")).await.is_err(), "no such person");
    let eve = p.store.sso_create(&write("eve.lee", "Eve", "eve.lee@example.gov.uk", true), &actor).await.unwrap().id;
    p.eventually("eve.lee", 200).await;
    p.store
        .merge(&NewMerge { survivor: cat, merged: eve, reason: "one person".into() }, &Actor::new("test"))
        .await
        .unwrap();
    p.eventually("eve.lee", 404).await;
    assert_eq!(p.get("cat.lee").await.0, 200, "the survivor still signs in");
    p.store.erase(cat, "request 9", &Actor::new("test")).await.unwrap();
    p.eventually("cat.lee", 404).await;

    let metrics = p.svc.http.get(p.svc.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let users =
        metrics.lines().find(|l| l.starts_with("identity_sso_profile_users{")).unwrap_or_else(|| panic!("{metrics}"));
    assert!(users.ends_with(" 0"), "no active SSO user is left: {users}");
    assert!(metrics.contains("identity_sso_profile_staleness_seconds{"), "{metrics}");
    assert!(metrics.contains("identity_sso_profile_change_delay_seconds_count{"), "{metrics}");
    assert!(p.svc.stop().await);
}

/// A bearer token or a Hawk signature; anything else, or a replayed signature, is refused with
/// the seed system's body.
pub async fn callers_must_authenticate(db: &TestDatabase) {
    let store = Store::connect(&db.url, &PoolConfig::default()).unwrap();
    store.migrate().await.unwrap();
    store.sso_create(&write("ann.lee", "Ann", "ann.lee@example.gov.uk", true), &Actor::new("scim:test")).await.unwrap();
    store.sequence_changes().await.unwrap();
    let p = Profiles::start(db, store).await;
    let url = p.svc.url("/api/sso/ann.lee");
    let (host, port) = host_and_port(&p.svc.base);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let sign = |nonce: &str, key: &str| {
        Signing {
            key,
            id: "staff-sso",
            ts: now,
            nonce,
            method: "GET",
            resource: "/api/sso/ann.lee",
            host: &host,
            port,
            hash: None,
        }
        .header()
    };
    let send = |auth: Option<String>| {
        let mut req = p.svc.http.get(&url);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let unauthorized = (401, r#"{"detail":"Unauthorized"}"#.to_owned());
    assert_eq!(send(None).await, unauthorized);
    assert_eq!(send(Some("Bearer idt_ssoprofile_nope".into())).await, unauthorized);
    let token = p.token.clone();
    let scim_token = p.svc.cli(&["tokens", "list"]).await;
    assert!(scim_token.contains("load-test"), "{scim_token}");
    assert_eq!(send(Some(format!("Bearer {token}"))).await.0, 200);
    let signed = sign("n1", KEY);
    assert_eq!(send(Some(signed.clone())).await.0, 200, "signed as Staff SSO signs");
    assert_eq!(send(Some(signed)).await, unauthorized, "a replayed nonce");
    assert_eq!(send(Some(sign("n2", "another-key-entirely"))).await, unauthorized, "a wrong key");
    assert!(p.svc.stop().await);
}
