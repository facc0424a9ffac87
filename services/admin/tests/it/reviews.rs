use identity_core::matcher::{MatchField, Reason, Rule};
use identity_core::review::ReviewCandidate;
use identity_core::{DateOfBirth, Email, ProfileFields, ServiceName, Source, UserId};
use identity_store::testing::TestDatabase;
use identity_store::{ImportWrites, NewImportReview};
use serde_json::json;

use crate::support::Admin;

/// What the import writes for a row the seed sends to manual review.
async fn queued_row(admin: &Admin, id: &str, candidate: UserId) {
    let fields = ProfileFields {
        first_name: Some("Bill".into()),
        last_name: Some("Lee".into()),
        email: Some(Email::parse("bill@hr.example.com").unwrap()),
        date_of_birth: Some(DateOfBirth::parse_ddmmyyyy("01021980").unwrap()),
        ..ProfileFields::default()
    };
    let reasons = vec![Reason {
        rule: Rule::Nickname,
        field: MatchField::FirstName,
        detail: "'bill' and 'william' are nicknames of one name".into(),
    }];
    let writes = ImportWrites {
        service: ServiceName::new("hr").unwrap(),
        actor: "import:test".into(),
        new_users: vec![],
        trn_updates: vec![],
        links: vec![],
        reviews: vec![NewImportReview {
            external_id: id.to_owned(),
            row: 3,
            job: None,
            fields,
            candidates: vec![ReviewCandidate { person: candidate, score: 0.95, reasons }],
        }],
    };
    let mut session = admin.store.import_session().await.unwrap();
    session.apply(&writes).await.unwrap();
    session.commit().await.unwrap();
}

pub async fn a_reviewer_links_an_import_row(db: &TestDatabase) {
    let admin = Admin::start(db).await;
    let (viewer, reviewer) = (admin.token("viewer").await, admin.token("reviewer").await);
    let william = admin.sso_user("william", "William", "william@example.com").await;
    queued_row(&admin, "hr-9", william).await;

    let page = admin.get("/admin/v1/reviews", &viewer).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let item = &page.body["items"][0];
    assert_eq!(item["status"], "open");
    assert_eq!(item["kind"], "import_row");
    assert_eq!(item["subject"]["import"]["service"], "hr");
    assert_eq!(item["subject"]["import"]["id"], "hr-9");
    assert_eq!(item["subject"]["import"]["row"], 3);
    assert_eq!(item["subject"]["import"]["fields"]["first_name"], "Bill");
    assert_eq!(item["candidates"][0]["person"], william.to_string());
    assert_eq!(
        item["candidates"][0]["reasons"][0],
        json!({"rule": "nickname", "field": "first_name", "detail": "'bill' and 'william' are nicknames of one name"})
    );
    assert!(item["decision"].is_null());
    assert!(page.body.get("next_cursor").is_none());
    let id = item["id"].as_str().unwrap().to_owned();
    assert_eq!(admin.get(&format!("/admin/v1/reviews/{id}"), &viewer).await.body, *item);

    let decide = format!("/admin/v1/reviews/{id}/decision");
    let same = json!({"decision": "same", "person": william});
    admin.post(&decide, &viewer, &same).await.assert_error(403, "forbidden");
    for (body, says) in [
        (json!({"decision": "maybe"}), "decision must be"),
        (json!({"decision": "same"}), "takes a survivor"),
        (json!({"decision": "different", "person": william}), "takes no survivor"),
        (json!({"decision": "same", "survivor": william}), "not a survivor"),
        (json!({"decision": "same", "person": UserId::random()}), "is not one of this item's people"),
    ] {
        let r = admin.post(&decide, &reviewer, &body).await;
        r.assert_error(400, "invalid_request");
        assert!(r.body["message"].as_str().unwrap().contains(says), "{says}: {}", r.body);
    }
    let r = admin.post(&decide, &reviewer, &same).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "decided");
    assert_eq!(r.body["decision"]["decision"], "same");
    assert_eq!(r.body["decision"]["person"], william.to_string());
    assert_eq!(r.body["decision"]["by"], "admin:reviewer");
    let linked = admin.store.person_by_link(&Source::Import(ServiceName::new("hr").unwrap()), "hr-9").await.unwrap();
    assert_eq!(linked.unwrap().user.id, william);
    let again = admin.post(&decide, &reviewer, &json!({"decision": "different"})).await;
    again.assert_error(409, "conflict");
    assert_eq!(again.body["message"], "this item is decided already");

    assert!(admin.get("/admin/v1/reviews", &viewer).await.body["items"].as_array().unwrap().is_empty());
    let decided = admin.get("/admin/v1/reviews?status=decided&kind=import_row&service=hr", &viewer).await;
    assert_eq!(decided.body["items"][0]["id"], id.as_str());
    for query in ["status=closed", "kind=person", "service=Not%20A%20Service", "cursor=x", "limit=0", "sort=new"] {
        admin.get(&format!("/admin/v1/reviews?{query}"), &viewer).await.assert_error(400, "invalid_request");
    }
    admin.get("/admin/v1/reviews/00000000-0000-4000-8000-000000000000", &viewer).await.assert_error(404, "not_found");
}

/// `admin reviews scan` queues the pairs the matcher finds, once; a pair decided different is
/// never queued again, and `reviews list --json` prints the items as the API does.
pub async fn a_scan_queues_alike_people_once(db: &TestDatabase) {
    let admin = Admin::start(db).await;
    let reviewer = admin.token("reviewer").await;
    let bill = admin.imported_user("hr-1", "Bill", "bill@hr.example.com").await;
    let william = admin.imported_user("hr-2", "William", "william@hr.example.com").await;
    admin.imported_user("hr-3", "Zoe", "zoe@hr.example.com").await;

    let out = admin.svc.cli(&["reviews", "scan"]).await;
    assert!(out.contains("3 people") && out.contains(" 1 new review items"), "{out}");
    assert!(admin.svc.cli(&["reviews", "scan"]).await.contains(" 0 new review items"), "a rescan queues nothing");
    let listed = admin.svc.cli(&["reviews", "list", "--json"]).await;
    let lines: Vec<serde_json::Value> = listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{listed}");
    let item = &lines[0];
    assert_eq!(item["kind"], "people");
    let pair = [item["subject"]["person"].as_str().unwrap(), item["candidates"][0]["person"].as_str().unwrap()];
    assert!(pair.contains(&bill.to_string().as_str()) && pair.contains(&william.to_string().as_str()), "{item}");
    let rules: Vec<&str> =
        item["candidates"][0]["reasons"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"nickname") && rules.contains(&"same_date_of_birth"), "{rules:?}");
    assert!(item["candidates"][0]["score"].as_f64().unwrap() >= 0.8);

    let id = item["id"].as_str().unwrap();
    let r = admin.post(&format!("/admin/v1/reviews/{id}/decision"), &reviewer, &json!({"decision": "different"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(admin.svc.cli(&["reviews", "scan"]).await.contains(" 0 new review items"));
    assert!(admin.svc.cli(&["reviews", "list", "--json"]).await.trim().is_empty());
    assert_eq!(admin.svc.cli(&["reviews", "list", "--status", "decided", "--json"]).await.lines().count(), 1);
}

/// Open `people` items, as the API lists them.
async fn people_items(admin: &Admin, token: &str) -> Vec<serde_json::Value> {
    admin.get("/admin/v1/reviews?kind=people", token).await.body["items"].as_array().unwrap().clone()
}

/// Waits for `n` open `people` items (the follower works in the background).
async fn wait_for_people_items(admin: &Admin, token: &str, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..200 {
        let items = people_items(admin, token).await;
        if items.len() >= n {
            return items;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the follower never queued {n} people items");
}

/// The matcher follows the change feed: a person created or renamed alike someone is queued,
/// once, whoever restarts; a stranger is not.
pub async fn the_matcher_follows_the_feed(db: &TestDatabase) {
    let fast = [("IDENTITY_MATCHER__IDLE_MS", "50")];
    let admin = Admin::start_with(db, &fast).await;
    let viewer = admin.token("viewer").await;
    let bill = admin.imported_user("hr-1", "Bill", "bill@hr.example.com").await;
    let william = admin.imported_user("hr-2", "William", "william@hr.example.com").await;
    let items = wait_for_people_items(&admin, &viewer, 1).await;
    let pair = [items[0]["subject"]["person"].as_str().unwrap(), items[0]["candidates"][0]["person"].as_str().unwrap()];
    assert!(pair.contains(&bill.to_string().as_str()) && pair.contains(&william.to_string().as_str()));

    // /metrics shows what the follower did.
    let metrics = reqwest::get(admin.svc.url("/metrics")).await.unwrap().text().await.unwrap();
    let value = |name: &str| {
        metrics.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok())
    };
    assert!(value("identity_matcher_pairs_queued_total").is_some_and(|v| v >= 1.0), "{metrics}");
    assert!(value("identity_matcher_changes_followed_total").is_some_and(|v| v >= 2.0), "{metrics}");
    assert!(value("identity_matcher_feed_position").is_some_and(|v| v >= 2.0), "{metrics}");

    // A stranger is not queued; someone renamed to be alike is.
    admin.imported_user("hr-3", "Zoe", "zoe@hr.example.com").await;
    let zed = admin.sso_user("zed", "Xavier", "zed@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(people_items(&admin, &viewer).await.len(), 1);
    let mut renamed = identity_store::SsoUserWrite {
        user_name: "zed".into(),
        fields: ProfileFields {
            first_name: Some("Zoe".into()),
            last_name: Some("Lee".into()),
            email: Some(Email::parse("zed@example.com").unwrap()),
            date_of_birth: Some(DateOfBirth::parse_ddmmyyyy("01021980").unwrap()),
            ..ProfileFields::default()
        },
        attributes: json!({"userName": "zed"}),
        active: true,
    };
    admin.store.sso_replace(zed, &renamed, None, &identity_store::Actor::new("scim:test")).await.unwrap();
    let items = wait_for_people_items(&admin, &viewer, 2).await;
    assert!(items.iter().any(|i| i.to_string().contains(&zed.to_string())), "{items:?}");

    // Killed and started again, with a second replica beside it: nothing is queued twice, and
    // what changes meanwhile is still found.
    admin.svc.kill().await;
    let first = Admin::start_with(db, &fast).await;
    let second = Admin::start_with(db, &fast).await;
    renamed.fields.first_name = Some("Zoey".into());
    first.store.sso_replace(zed, &renamed, None, &identity_store::Actor::new("scim:test")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let items = people_items(&first, &viewer).await;
    assert_eq!(items.len(), 2, "the open pairs stay queued once: {items:?}");
    let cli = second.svc.cli(&["reviews", "list", "--kind", "people", "--json"]).await;
    assert_eq!(cli.lines().count(), 2, "{cli}");
}
