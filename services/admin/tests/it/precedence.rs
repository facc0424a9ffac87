//! `admin precedence show|set|rederive`, and `admin serve` deriving everyone again after a new
//! version, also when killed mid-way.

use identity_core::change::Origin;
use identity_core::UserId;
use identity_store::testing::TestDatabase;
use identity_store::Store;

use crate::support::Admin;

/// The shipped precedence with SSO's names no longer counted.
fn without_sso_names() -> String {
    identity_core::precedence::Precedence::standard().to_toml().replace(
        "names = [\"registry\", \"sso\", \"peoplefinder\", \"import:*\"]",
        "names = [\"registry\", \"import:*\"]",
    )
}

fn file(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("identity-precedence-{}-{name}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// How many changes the re-derivation appended for each of `people`.
async fn rederived(store: &Store, people: &[UserId]) -> Vec<usize> {
    store.sequence_changes().await.unwrap();
    let mut out = Vec::with_capacity(people.len());
    for p in people {
        let changes = store.changes_of(*p, None, 50).await.unwrap();
        out.push(changes.iter().filter(|c| c.source == Origin::Precedence).count());
    }
    out
}

/// Waits until every one of `people` has lost SSO's first name.
async fn until_derived(admin: &Admin, people: &[UserId]) {
    for _ in 0..300 {
        let mut left = 0;
        for p in people {
            if admin.store.person(*p).await.unwrap().combined.first_name.is_some() {
                left += 1;
            }
        }
        if left == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the re-derivation never finished");
}

pub async fn a_precedence_is_checked_stored_and_derived_in_the_background(db: &TestDatabase) {
    let admin = Admin::start_with(
        db,
        &[
            ("IDENTITY_MATCHER__FOLLOW", "false"),
            ("IDENTITY_PRECEDENCE__CHECK_EVERY_MS", "100"),
            ("IDENTITY_PRECEDENCE__CHUNK_PEOPLE", "3"),
        ],
    )
    .await;
    let mut people = Vec::new();
    for i in 0..10 {
        people.push(admin.sso_user(&format!("p{i}"), "Pat", &format!("p{i}@example.com")).await);
    }
    let shown = admin.svc.cli(&["precedence", "show"]).await;
    assert!(shown.starts_with("# version 0: the precedence identity ships"), "{shown}");
    assert!(shown.contains("names = [\"registry\", \"sso\", \"peoplefinder\", \"import:*\"]\n"), "{shown}");
    assert_eq!(shown.lines().filter(|l| !l.starts_with('#')).count(), 15, "{shown}");

    // Refused whole, with the reason; nothing stored.
    for (name, text, reason) in [
        ("unknown", format!("{}nickname = [\"sso\"]\n", without_sso_names()), "unknown field \"nickname\""),
        (
            "pattern",
            without_sso_names().replace("\"registry\", \"import:*\"]", "\"registry\", \"import:\"]"),
            "bad source pattern \"import:\"",
        ),
        ("missing", without_sso_names().replace("trn = [\"registry\", \"import:*\"]\n", ""), "trn is missing"),
        ("toml", "names = [\"sso\"".to_owned(), "not a precedence document"),
    ] {
        let out = admin.svc.cli_output(&["precedence", "set", &file(name, &text)], &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}");
        assert!(stderr.contains(reason) && stderr.contains("nothing was stored"), "{name}: {stderr}");
    }
    assert_eq!(admin.store.precedence().await.unwrap().version, 0);

    let stored = admin.svc.cli(&["precedence", "set", &file("good", &without_sso_names())]).await;
    assert!(stored.contains("stored precedence version 1"), "{stored}");
    let shown = admin.svc.cli(&["precedence", "show"]).await;
    assert!(shown.starts_with("# version 1, set by admin-cli:"), "{shown}");
    assert!(shown.contains("names = [\"registry\", \"import:*\"]\n"), "{shown}");

    until_derived(&admin, &people).await;
    assert_eq!(rederived(&admin.store, &people).await, vec![1; people.len()], "one change each");
    let person = admin.store.person(people[0]).await.unwrap();
    assert_eq!(person.combined.last_name, None);
    assert!(person.combined.email.is_some(), "the address is still SSO's");
    // The binary's metrics say which version everyone is derived with.
    for _ in 0..100 {
        let metrics = reqwest::get(admin.svc.url("/metrics")).await.unwrap().text().await.unwrap();
        if metrics.contains("identity_precedence_derived_version{service=\"admin\"} 1\n") {
            assert!(
                metrics.contains("identity_precedence_rederive_changed_total{service=\"admin\"} 10\n"),
                "{metrics}"
            );
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the metrics never showed version 1");
}

/// `admin serve` killed in the middle of a re-derivation: the next one finishes it, and nobody
/// is derived twice.
pub async fn a_rederivation_killed_midway_finishes_once(db: &TestDatabase) {
    let env = [
        ("IDENTITY_MATCHER__FOLLOW", "false"),
        ("IDENTITY_PRECEDENCE__CHECK_EVERY_MS", "100"),
        ("IDENTITY_PRECEDENCE__CHUNK_PEOPLE", "1"),
        ("IDENTITY_PRECEDENCE__LEASE_MS", "1000"),
    ];
    let admin = Admin::start_with(db, &env).await;
    let mut people = Vec::new();
    for i in 0..300 {
        people.push(admin.sso_user(&format!("k{i}"), "Kim", &format!("k{i}@example.com")).await);
    }
    let precedence = identity_core::precedence::Precedence::from_toml(&without_sso_names()).unwrap();
    admin.store.precedence_set(&precedence, "tester").await.unwrap();
    let mut done = 0;
    for _ in 0..2000 {
        done = rederived(&admin.store, &people[..50]).await.iter().sum::<usize>();
        if done > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(done > 0, "the re-derivation never began");
    let store = admin.store.clone();
    admin.svc.kill().await;
    // Counted through the store: a second admin would take the lease up and go on.
    let total: usize = rederived(&store, &people).await.iter().sum();
    assert!(total < people.len(), "killed mid-way ({total} of {} done)", people.len());

    let again = Admin::start_with(db, &env).await;
    until_derived(&again, &people).await;
    assert_eq!(rederived(&again.store, &people).await, vec![1; people.len()], "everyone once, nobody twice");
}
