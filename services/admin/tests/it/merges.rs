use identity_core::UserStatus;
use identity_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;

use crate::support::Admin;

pub async fn a_reviewer_merges_and_an_admin_undoes(db: &TestDatabase) {
    let admin = Admin::start(db).await;
    let (reviewer, boss) = (admin.token("reviewer").await, admin.token("admin").await);
    let survivor = admin.sso_user("ann", "Ann", "ann@example.com").await;
    let merged = admin.imported_user("hr-1", "Annie", "annie@hr.example.com").await;

    let r = admin.merge(&reviewer, survivor, merged).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.headers["location"].to_str().unwrap(), format!("/admin/v1/merges/{id}"));
    assert_eq!(r.body["survivor"], survivor.to_string());
    assert_eq!(r.body["merged"], merged.to_string());
    assert_eq!(r.body["by"], "admin:reviewer");
    assert_eq!(r.body["reason"], "the same person");
    assert!(r.body["undone"].is_null());
    assert_eq!(admin.get(&format!("/admin/v1/merges/{id}"), &reviewer).await.body, r.body);

    let m = admin.store.person(merged).await.unwrap();
    assert_eq!((m.user.status, m.user.merged_into), (UserStatus::Archived, Some(survivor)));
    assert!(admin.store.person(survivor).await.unwrap().combined.date_of_birth.is_some());
    let history = admin.history(&reviewer, merged, 2).await;
    assert_eq!(history["changes"][0]["kind"], "merged", "{history}");
    assert_eq!(history["changes"][0]["survivor"], survivor.to_string());
    assert_eq!(history["changes"][0]["source"], "review");
    assert_eq!(history["changes"][0]["actor"], "admin:reviewer");
    assert_eq!(history["merges"][0]["id"], id.as_str());
    let history = admin.history(&reviewer, survivor, 2).await;
    assert_eq!(history["changes"][0]["kind"], "profile_updated", "{history}");
    assert_eq!(history["changes"][0]["fields"], json!(["date_of_birth"]));

    // Undoing is the admin's alone.
    let undo = format!("/admin/v1/merges/{id}/undo");
    admin.send(Method::POST, &undo, Some(&reviewer), None).await.assert_error(403, "forbidden");
    let r = admin.send(Method::POST, &undo, Some(&boss), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["undone"]["by"], "admin:admin");
    let m = admin.store.person(merged).await.unwrap();
    assert_eq!((m.user.status, m.user.merged_into), (UserStatus::Active, None));
    assert!(admin.store.person(survivor).await.unwrap().combined.date_of_birth.is_none());
    let again = admin.send(Method::POST, &undo, Some(&boss), None).await;
    again.assert_error(409, "conflict");
    assert_eq!(again.body["message"], "this merge was undone already");

    let r = admin.merge(&reviewer, survivor, survivor).await;
    r.assert_error(409, "conflict");
    assert_eq!(r.body["message"], "a person cannot be merged with itself");
    // Merging into the person just merged (and now back) works again; into a merged one does not.
    assert_eq!(admin.merge(&reviewer, merged, survivor).await.status, 201);
    let r = admin.merge(&reviewer, survivor, merged).await;
    r.assert_error(409, "conflict");
    assert!(r.body["message"].as_str().unwrap().contains("was merged into"), "{}", r.body);
}

pub async fn roles_decide_who_may_do_what(db: &TestDatabase) {
    let admin = Admin::start(db).await;
    let viewer = admin.token("viewer").await;
    let (a, b) = (admin.sso_user("a", "A", "a@example.com").await, admin.sso_user("b", "B", "b@example.com").await);
    let history = format!("/admin/v1/people/{a}/history");
    let r = admin.send(Method::GET, &history, None, None).await;
    r.assert_error(401, "unauthorized");
    assert!(r.headers.contains_key("www-authenticate"));
    admin.send(Method::GET, &history, Some("idt_admin_not_a_token"), None).await.assert_error(401, "unauthorized");
    assert_eq!(admin.get(&history, &viewer).await.status, 200);
    admin.merge(&viewer, a, b).await.assert_error(403, "forbidden");
    assert_eq!(admin.store.person(b).await.unwrap().user.merged_into, None, "nothing merged");
    let listed = admin.svc.cli(&["tokens", "list"]).await;
    assert!(listed.lines().any(|l| l.starts_with("viewer") && l.ends_with("viewer")), "the role shows: {listed}");
    // A revoked token stops working once the verified-credential cache forgets it.
    admin.svc.cli(&["tokens", "revoke", "viewer"]).await;
    tokio::time::sleep(identity_server::auth::CACHE_TTL + std::time::Duration::from_secs(1)).await;
    admin.get(&history, &viewer).await.assert_error(401, "unauthorized");
}

pub async fn bad_requests_get_clear_errors(db: &TestDatabase) {
    // The body limit of deploy/admin/config.toml.
    let admin = Admin::start_with(db, &[("IDENTITY_HTTP__MAX_BODY_BYTES", "16384")]).await;
    let reviewer = admin.token("reviewer").await;
    let (a, b) = (admin.sso_user("a", "A", "a@example.com").await, admin.sso_user("b", "B", "b@example.com").await);
    let post = |body: String, content_type: &'static str| {
        let admin = &admin;
        let reviewer = reviewer.clone();
        async move { admin.send(Method::POST, "/admin/v1/merges", Some(&reviewer), Some((content_type, body))).await }
    };
    let json = "application/json";
    for (body, says) in [
        ("{\"survivor\":".to_owned(), "EOF"),
        (json!({"survivor": a, "merged": b}).to_string(), "reason"),
        (json!({"survivor": a, "merged": b, "reason": "x", "force": true}).to_string(), "force"),
        (json!({"survivor": "not-a-uuid", "merged": b, "reason": "x"}).to_string(), "UUID"),
        (json!({"survivor": a, "merged": b, "reason": "   "}).to_string(), "reason must be"),
        (format!("{{\"survivor\":{}{}}}", "[".repeat(5_000), "]".repeat(5_000)), "expected"),
    ] {
        let r = post(body, json).await;
        r.assert_error(400, "invalid_request");
        assert!(r.body["message"].as_str().unwrap().contains(says), "{says}: {}", r.body);
    }
    post(json!({"survivor": a, "merged": b, "reason": "x"}).to_string(), "text/plain")
        .await
        .assert_error(415, "unsupported_media_type");
    let huge = json!({"survivor": a, "merged": b, "reason": "x".repeat(20_000)}).to_string();
    assert_eq!(post(huge, json).await.status, 413);
    let r = admin.merge(&reviewer, a, identity_core::UserId::random()).await;
    r.assert_error(404, "not_found");
    assert_eq!(r.body["message"], "no such person");
    let unknown = "/admin/v1/merges/00000000-0000-4000-8000-000000000000";
    let r = admin.get(unknown, &reviewer).await;
    r.assert_error(404, "not_found");
    assert_eq!(r.body["message"], "no such merge");
    admin.get("/admin/v1/merges/not-a-uuid", &reviewer).await.assert_error(400, "invalid_request");
    let missing = format!("/admin/v1/people/{}/history", identity_core::UserId::random());
    admin.get(&missing, &reviewer).await.assert_error(404, "not_found");
    for query in ["limit=0", "limit=ten", "before=x", "sort=asc"] {
        admin
            .get(&format!("/admin/v1/people/{a}/history?{query}"), &reviewer)
            .await
            .assert_error(400, "invalid_request");
    }
    admin.get("/admin/v1/nothing", &reviewer).await.assert_error(404, "not_found");
    // Nothing was merged by any of it.
    assert_eq!(admin.store.person(b).await.unwrap().user.merged_into, None);
}

/// Two reviewers merging the same person into different survivors at once: one wins, the other
/// gets 409 with the reason.
pub async fn concurrent_merges_of_one_person_one_wins(db: &TestDatabase) {
    let admin = Admin::start(db).await;
    let reviewer = admin.token("reviewer").await;
    let merged = admin.imported_user("hr-1", "Annie", "annie@hr.example.com").await;
    let s1 = admin.sso_user("s1", "Ann", "s1@example.com").await;
    let s2 = admin.sso_user("s2", "Ann", "s2@example.com").await;
    let (x, y) = tokio::join!(admin.merge(&reviewer, s1, merged), admin.merge(&reviewer, s2, merged));
    let mut statuses = [x.status, y.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} {}", x.body, y.body);
    let lost = if x.status == 409 { &x } else { &y };
    assert!(lost.body["message"].as_str().unwrap().contains("was already merged into"), "{}", lost.body);
    let winner = if x.status == 201 { s1 } else { s2 };
    assert_eq!(admin.store.person(merged).await.unwrap().user.merged_into, Some(winner));
}

/// admin killed (SIGKILL) while merges are in flight: after a restart each person is merged
/// fully (archived, pointing at the survivor, its links moved, the merge recorded) or not at
/// all.
pub async fn a_merge_killed_midway_is_whole_or_absent(db: &TestDatabase) {
    let admin = Admin::start(db).await;
    let reviewer = admin.token("reviewer").await;
    let mut pairs = Vec::new();
    for i in 0..40 {
        let survivor = admin.sso_user(&format!("s{i}"), "Ann", &format!("s{i}@example.com")).await;
        let merged = admin.imported_user(&format!("hr-{i}"), "Annie", &format!("m{i}@hr.example.com")).await;
        pairs.push((survivor, merged));
    }
    let url = admin.svc.url("/admin/v1/merges");
    let http = reqwest::Client::new();
    let sent: Vec<_> = pairs
        .iter()
        .map(|(survivor, merged)| {
            let req = http
                .post(&url)
                .bearer_auth(&reviewer)
                .header("content-type", "application/json")
                .body(json!({"survivor": survivor, "merged": merged, "reason": "same"}).to_string());
            tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()).ok() })
        })
        .collect();
    // Killed once the first merges have committed, with the rest in flight.
    let store = admin.store.clone();
    for _ in 0..1000 {
        if !store.merges_of(pairs[0].1).await.unwrap().is_empty()
            || !store.merges_of(pairs[1].1).await.unwrap().is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    admin.svc.kill().await;
    let mut answered = 0;
    for s in sent {
        if s.await.unwrap() == Some(201) {
            answered += 1;
        }
    }
    let again = Admin::start(db).await;
    let hr = identity_core::Source::Import(identity_core::ServiceName::new("hr").unwrap());
    let (mut whole, mut left) = (0, Vec::new());
    for (i, (survivor, merged)) in pairs.iter().enumerate() {
        let m = store.person(*merged).await.unwrap();
        let recorded = store.merges_of(*merged).await.unwrap();
        let linked = store.person_by_link(&hr, &format!("hr-{i}")).await.unwrap().map(|p| p.user.id);
        if m.user.merged_into == Some(*survivor) {
            assert_eq!(m.user.status, UserStatus::Archived);
            assert!(m.links.is_empty(), "a merged person's links moved");
            assert_eq!(linked, Some(*survivor));
            assert_eq!(recorded.len(), 1);
            whole += 1;
        } else {
            assert_eq!((m.user.status, m.user.merged_into), (UserStatus::Active, None));
            assert!(recorded.is_empty(), "no merge recorded for a person not merged");
            assert_eq!(linked, Some(*merged), "its links stay");
            left.push((*survivor, *merged));
        }
    }
    assert!(whole >= answered, "every merge answered 201 is there: {whole} of {answered}");
    // What did not happen can be done now.
    if let Some((survivor, merged)) = left.first() {
        assert_eq!(again.merge(&reviewer, *survivor, *merged).await.status, 201);
    }
}
