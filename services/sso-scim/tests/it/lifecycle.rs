use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use identity_core::change::ChangeKind;
use identity_core::{Source, UserId, UserStatus};
use identity_store::testing::TestDatabase;
use identity_store::{PoolConfig, Store};
use reqwest::Method;
use serde_json::json;

use crate::support::{user, Scim, ENTERPRISE, USER};

pub async fn create_read_replace_delete(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let created = scim.post("/Users", &user("bjensen", "Barbara", "Jensen", "bjensen@example.com")).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.headers["content-type"], "application/scim+json");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = created.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(location, scim.svc.url(&format!("/scim/v2/Users/{id}")));
    assert_eq!(created.body["meta"]["location"], location);
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert_eq!(created.body["schemas"], json!([USER, ENTERPRISE]));
    assert_eq!(created.body[ENTERPRISE]["department"], "Engineering");
    assert_eq!(created.etag(), created.body["meta"]["version"].as_str().unwrap());

    // Read back, conditionally too.
    let got = scim.get(&format!("/Users/{id}")).await;
    assert_eq!((got.status, got.body.clone()), (200, created.body.clone()));
    let cached = scim.send(Method::GET, &format!("/Users/{id}"), None, &[("if-none-match", &got.etag())]).await;
    assert_eq!(cached.status, 304);

    // PUT replaces: what is not sent is gone; the version moves on.
    let mut replacement = user("bjensen", "Babs", "Jensen", "bjensen@example.com");
    replacement.as_object_mut().unwrap().remove(ENTERPRISE);
    replacement["title"] = json!("Tour Guide");
    let put = scim.send(Method::PUT, &format!("/Users/{id}"), Some(&replacement), &[]).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["name"]["givenName"], "Babs");
    assert_eq!(put.body["title"], "Tour Guide");
    assert!(put.body.get(ENTERPRISE).is_none());
    assert_eq!(put.body["schemas"], json!([USER]));
    assert_ne!(put.etag(), created.etag());
    assert_eq!(put.body["meta"]["created"], created.body["meta"]["created"]);

    // DELETE archives: gone from SCIM, a second DELETE is 404.
    assert_eq!(scim.send(Method::DELETE, &format!("/Users/{id}"), None, &[]).await.status, 204);
    scim.get(&format!("/Users/{id}")).await.assert_error(404, None);
    scim.send(Method::DELETE, &format!("/Users/{id}"), None, &[]).await.assert_error(404, None);
    assert!(scim.find("userName eq \"bjensen\"").await.is_empty());
    scim.get("/Users/not-a-uuid").await.assert_error(404, None);

    // History is kept: the store still has the archived user, its profile and its changes.
    let store = Store::connect(&db.url, &PoolConfig::default()).unwrap();
    let uid: UserId = id.parse().unwrap();
    // The service numbers its changes in the background; do it now rather than wait.
    store.sequence_changes().await.unwrap();
    let person = store.person(uid).await.unwrap();
    assert_eq!(person.user.status, UserStatus::Archived);
    assert_eq!(person.combined.first_name.unwrap().value, "Babs");
    let kinds: Vec<_> =
        store.changes_after(0, 100).await.unwrap().into_iter().filter(|c| c.user_id == uid).map(|c| c.kind).collect();
    assert_eq!(kinds, [ChangeKind::Created, ChangeKind::ProfileUpdated, ChangeKind::Archived]);
    assert!(store
        .changes_after(0, 100)
        .await
        .unwrap()
        .iter()
        .all(|c| c.source == identity_core::change::Origin::Source(Source::Sso) && c.actor == "scim:test-idp"));
    // The same person can be provisioned again.
    scim.create(&user("bjensen", "Barbara", "Jensen", "bjensen@example.com")).await;
    store.close().await;
    assert!(scim.svc.stop().await);
}

pub async fn deactivation_and_the_combined_profile(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let u = scim.create(&user("ann", "Ann", "Lee", "ann@example.com")).await;
    let id = u["id"].as_str().unwrap();
    let off = scim.patch(id, json!([{"op": "replace", "path": "active", "value": false}])).await;
    assert_eq!((off.status, off.body["active"].as_bool()), (200, Some(false)));
    let store = Store::connect(&db.url, &PoolConfig::default()).unwrap();
    let person = store.person(id.parse().unwrap()).await.unwrap();
    assert_eq!(person.user.status, UserStatus::Inactive);
    assert_eq!(person.combined.email.unwrap().value.as_str(), "ann@example.com");
    assert_eq!(scim.find("active eq false").await, ["ann"]);
    store.close().await;
}

pub async fn every_write_changes_the_etag_and_if_match_guards_writes(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    let u = scim.post("/Users", &user("ann", "Ann", "Lee", "ann@example.com")).await;
    let id = u.body["id"].as_str().unwrap().to_owned();
    let v1 = u.etag();
    let p = scim.send(Method::PATCH, &format!("/Users/{id}"), Some(&json!({"schemas": [crate::support::PATCH], "Operations": [{"op": "add", "path": "title", "value": "x"}]})), &[("if-match", &v1)]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let v2 = p.etag();
    assert_ne!(v1, v2);
    // A write with the stale version is refused, whatever the method.
    let stale = [("if-match", v1.as_str())];
    let body = user("ann", "Ann", "Lee", "ann@example.com");
    scim.send(Method::PUT, &format!("/Users/{id}"), Some(&body), &stale).await.assert_error(412, None);
    let patch =
        json!({"schemas": [crate::support::PATCH], "Operations": [{"op": "add", "path": "title", "value": "y"}]});
    scim.send(Method::PATCH, &format!("/Users/{id}"), Some(&patch), &stale).await.assert_error(412, None);
    scim.send(Method::DELETE, &format!("/Users/{id}"), None, &stale).await.assert_error(412, None);
    scim.send(Method::PUT, &format!("/Users/{id}"), Some(&body), &[("if-match", "\"not-ours\"")])
        .await
        .assert_error(412, None);
    // The current version, a list holding it, or * are fine.
    let put =
        scim.send(Method::PUT, &format!("/Users/{id}"), Some(&body), &[("if-match", &format!("W/\"0\", {v2}"))]).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(scim.send(Method::DELETE, &format!("/Users/{id}"), None, &[("if-match", "*")]).await.status, 204);
    let spc = scim.get("/ServiceProviderConfig").await;
    assert_eq!(spc.body["etag"]["supported"], true);
}

pub async fn duplicate_user_names_conflict_even_when_racing(db: &TestDatabase) {
    let scim = Scim::start(db, &[]).await;
    scim.create(&user("BJensen", "Barbara", "Jensen", "b1@example.com")).await;
    scim.post("/Users", &user("bjensen", "Other", "Person", "b2@example.com"))
        .await
        .assert_error(409, Some("uniqueness"));
    // An address held by another live user conflicts too.
    scim.post("/Users", &user("other", "Other", "Person", "B1@example.com"))
        .await
        .assert_error(409, Some("uniqueness"));
    // Eight identity-provider threads create the same user at once: exactly one wins.
    let scim = std::sync::Arc::new(scim);
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let scim = scim.clone();
            tokio::spawn(async move {
                scim.post("/Users", &user("racer", "R", "Acer", &format!("racer{i}@example.com"))).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for r in racers {
        let reply = r.await.unwrap();
        if reply.status == 409 {
            reply.assert_error(409, Some("uniqueness"));
        }
        statuses.push(reply.status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(scim.find("userName eq \"racer\"").await.len(), 1);
}

pub async fn logs_hold_no_personal_data(db: &TestDatabase) {
    let scim = Scim::start(db, &[("RUST_LOG", "debug")]).await;
    let u = scim.create(&user("zz.personal.name", "Xanthippe", "Quigglesworth", "xanthippe.q@private.example")).await;
    let id = u["id"].as_str().unwrap();
    scim.patch(id, json!([{"op": "replace", "path": "name.familyName", "value": "Quiggles"}])).await;
    scim.find("emails.value eq \"xanthippe.q@private.example\"").await;
    let logs = scim.svc.logs().join("\n");
    assert!(logs.contains(id), "the user id is logged");
    for secret in ["Xanthippe", "Quigglesworth", "xanthippe.q", "zz.personal.name", scim.token.as_str()] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs");
    }
}

/// Creates still in flight when SIGTERM arrives finish, and their changes are numbered before the
/// process exits: the last numbering waits for the server's last request, not just the signal.
pub async fn shutdown_numbers_the_last_writes(db: &TestDatabase) {
    let scim = Arc::new(Scim::start(db, &[]).await);
    scim.create(&user("first", "First", "One", "first@example.com")).await;
    let answered = Arc::new(AtomicUsize::new(0));
    let posts: Vec<_> = (0..256)
        .map(|i| {
            let (scim, answered) = (scim.clone(), answered.clone());
            tokio::spawn(async move {
                let body = user(&format!("late{i}"), "Late", "Comer", &format!("late{i}@example.com"));
                // Not `send`: a request refused once the listener has closed is an answer here.
                let sent = scim.request(Method::POST, "/Users", Some(&body), &[]).send().await;
                answered.fetch_add(1, Ordering::SeqCst);
                sent.ok().map(|r| r.status().as_u16())
            })
        })
        .collect();
    // SIGTERM once a few are answered, while the rest are in flight.
    while answered.load(Ordering::SeqCst) < 4 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    scim.svc.terminate().await;
    let mut created = 1;
    for post in posts {
        // Requests after the listener closed fail to connect; those it took are answered.
        if post.await.unwrap() == Some(201) {
            created += 1;
        }
    }
    let scim = Arc::into_inner(scim).unwrap();
    assert!(scim.svc.stop().await, "the process exits cleanly");

    let store = Store::connect(&db.url, &PoolConfig::default()).unwrap();
    assert_eq!(store.sequence_changes().await.unwrap(), 0, "every change was numbered before exit");
    let feed = store.changes_after(0, 1000).await.unwrap();
    // At least: a create whose answer was lost to the shutdown may have committed too.
    assert!(feed.iter().filter(|c| c.kind == ChangeKind::Created).count() >= created);
    store.close().await;
}
