use std::collections::BTreeSet;

use identity_core::change::ChangeKind;
use identity_core::profile::Field;
use identity_core::{Source, UserStatus};
use identity_store::Store;

use super::{actor, sso_user};

pub async fn change_log_records_every_write(store: Store) {
    let u = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    store.sso_replace(u.id, &sso_user("ann", "Anne", "Lee", "ann@example.com"), None, &actor()).await.unwrap();
    // A write that changes nothing appends nothing.
    store.sso_replace(u.id, &sso_user("ann", "Anne", "Lee", "ann@example.com"), None, &actor()).await.unwrap();
    let mut off = sso_user("ann", "Anne", "Lee", "ann@example.com");
    off.active = false;
    store.sso_replace(u.id, &off, None, &actor()).await.unwrap();
    store.sso_archive(u.id, None, &actor()).await.unwrap();

    let log = store.changes_after(0, 100).await.unwrap();
    let kinds: Vec<_> = log.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ChangeKind::Created, ChangeKind::ProfileUpdated, ChangeKind::StatusChanged, ChangeKind::Archived]
    );
    assert!(log.iter().all(|c| c.user_id == u.id && c.source == Source::Sso && c.actor == "test"));
    assert_eq!(log[1].fields, [Field::FirstName, Field::DisplayName]);
    assert_eq!(log[2].status, UserStatus::Inactive);
    assert_eq!(log[3].status, UserStatus::Archived);
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(store.changes_after(log[1].seq, 100).await.unwrap().len(), 2);
    assert_eq!(store.changes_after(0, 1).await.unwrap().len(), 1);
}

pub async fn change_feed_has_no_gap_or_repeat_under_concurrent_writers(store: Store) {
    const WRITERS: usize = 4;
    const EACH: usize = 25;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    let name = format!("w{w}-{i}");
                    store
                        .sso_create(&sso_user(&name, "G", "F", &format!("{name}@example.com")), &actor())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    // A consumer follows the feed while the writers run, resuming after the last seq it saw.
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let page = store.changes_after(after, 7).await.unwrap();
        if let Some(last) = page.last() {
            after = last.seq;
        }
        let empty = page.is_empty();
        seen.extend(page);
        if done && empty {
            break;
        }
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let users: BTreeSet<_> = seen.iter().map(|c| c.user_id).collect();
    assert_eq!(seen.len(), WRITERS * EACH, "every change seen exactly once");
    assert_eq!(users.len(), WRITERS * EACH, "no change repeated");
    assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq), "in order");
}
