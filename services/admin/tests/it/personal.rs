//! Erasure through admin, killed in the middle: each person is erased whole or not at all.

use identity_core::{Source, UserStatus};
use identity_store::testing::TestDatabase;
use serde_json::json;

use crate::support::Admin;

pub async fn an_erasure_killed_midway_is_whole_or_absent(db: &TestDatabase) {
    let admin = Admin::start(db).await;
    let token = admin.token("admin").await;
    let mut people = Vec::new();
    for i in 0..40 {
        let sso = admin.sso_user(&format!("e{i}"), "Erin", &format!("e{i}@example.com")).await;
        people.push(sso);
    }
    let http = reqwest::Client::new();
    let sent: Vec<_> = people
        .iter()
        .map(|p| {
            let req = http
                .post(admin.svc.url(&format!("/admin/v1/people/{p}/erase")))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(json!({"reason": "request 17"}).to_string());
            tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()).ok() })
        })
        .collect();
    // Killed once the first erasures have committed, with the rest in flight.
    let store = admin.store.clone();
    for _ in 0..1000 {
        if store.erasure_of(people[0]).await.unwrap().is_some() || store.erasure_of(people[1]).await.unwrap().is_some()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    admin.svc.kill().await;
    let mut answered = 0;
    for s in sent {
        if s.await.unwrap() == Some(200) {
            answered += 1;
        }
    }
    let again = Admin::start(db).await;
    let (mut whole, mut left) = (0, Vec::new());
    for (i, p) in people.iter().enumerate() {
        let person = store.person(*p).await.unwrap();
        let profiles = store.profiles(*p).await.unwrap();
        let linked = store.person_by_link(&Source::Sso, &format!("e{i}")).await.unwrap();
        match store.erasure_of(*p).await.unwrap() {
            Some(erasure) => {
                assert_eq!(person.user.status, UserStatus::Erased);
                assert!(profiles.is_empty() && person.links.is_empty() && linked.is_none(), "nothing of {p} is left");
                assert_eq!(person.combined, identity_core::CombinedProfile::default());
                assert_eq!(erasure.reason, "request 17");
                whole += 1;
            }
            None => {
                assert_eq!(person.user.status, UserStatus::Active, "not erased at all");
                assert_eq!(profiles.len(), 1);
                assert_eq!(linked.map(|l| l.user.id), Some(*p));
                left.push(*p);
            }
        }
    }
    assert!(whole >= answered, "every erasure answered 200 is there: {whole} of {answered}");
    // What did not happen can be done now; doing it twice is no error.
    if let Some(p) = left.first() {
        for _ in 0..2 {
            let r = again.post(&format!("/admin/v1/people/{p}/erase"), &token, &json!({"reason": "request 17"})).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }
}

/// An export pages through a long history (more changes than a page holds, 500) and holds each
/// change once, in the order they were written.
pub async fn a_long_history_is_exported_whole_and_in_order(db: &TestDatabase) {
    let admin = Admin::start(db).await;
    let token = admin.token("admin").await;
    let person = admin.sso_user("long", "Lorna", "lorna@example.com").await;
    let write = |n: usize| identity_store::SsoUserWrite {
        user_name: "long".into(),
        fields: identity_core::ProfileFields {
            first_name: Some(format!("Lorna{n}")),
            email: Some(identity_core::Email::parse("lorna@example.com").unwrap()),
            ..Default::default()
        },
        attributes: json!({"userName": "long"}),
        active: true,
    };
    for n in 0..1100 {
        admin.store.sso_replace(person, &write(n), None, &identity_store::Actor::new("scim:test")).await.unwrap();
    }
    admin.store.sequence_changes().await.unwrap();
    let export = admin.get(&format!("/admin/v1/people/{person}/export"), &token).await;
    assert_eq!(export.status, 200);
    let changes = export.body["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1101, "the create and every update");
    let seqs: Vec<i64> = changes.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first, none twice");
}
