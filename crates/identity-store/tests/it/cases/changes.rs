use std::collections::BTreeSet;

use identity_core::change::ChangeKind;
use identity_core::profile::Field;
use identity_core::{ProfileFields, ServiceName, Source, UserId, UserStatus};
use identity_store::{ImportWrites, ImportedUser, Store};

use super::{actor, sso_user};

/// An import by `service` of new people, one per (id, external id), each with `first_name`.
fn new_people(service: &str, first_name: &str, people: impl IntoIterator<Item = (UserId, String)>) -> ImportWrites {
    ImportWrites {
        service: ServiceName::new(service).unwrap(),
        actor: "import:test".into(),
        new_users: people
            .into_iter()
            .map(|(id, external_id)| ImportedUser {
                id,
                external_id,
                import: ProfileFields { first_name: Some(first_name.into()), ..ProfileFields::default() },
                registry: None,
            })
            .collect(),
        trn_updates: vec![],
        links: vec![],
        reviews: Vec::new(),
    }
}

pub async fn change_log_records_every_write(store: Store) {
    let u = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    store.sso_replace(u.id, &sso_user("ann", "Anne", "Lee", "ann@example.com"), None, &actor()).await.unwrap();
    // A write that changes nothing appends nothing.
    store.sso_replace(u.id, &sso_user("ann", "Anne", "Lee", "ann@example.com"), None, &actor()).await.unwrap();
    let mut off = sso_user("ann", "Anne", "Lee", "ann@example.com");
    off.active = false;
    store.sso_replace(u.id, &off, None, &actor()).await.unwrap();
    store.sso_archive(u.id, None, &actor()).await.unwrap();

    // Nothing is in the feed until the sequencer has numbered it.
    assert!(store.changes_after(0, 100).await.unwrap().is_empty());
    assert_eq!(store.sequence_changes().await.unwrap(), 4);
    assert_eq!(store.sequence_changes().await.unwrap(), 0, "numbered once");
    let log = store.changes_after(0, 100).await.unwrap();
    let kinds: Vec<_> = log.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ChangeKind::Created, ChangeKind::ProfileUpdated, ChangeKind::StatusChanged, ChangeKind::Archived]
    );
    assert!(log.iter().all(|c| c.user_id == u.id
        && c.source == identity_core::change::Origin::Source(Source::Sso)
        && c.actor == "test"));
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
    const IMPORTS: usize = 4;
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
    // An import commits chunks meanwhile, numbering its own changes on PostgreSQL.
    let importer = {
        let store = store.clone();
        tokio::spawn(async move {
            for chunk in 0..IMPORTS {
                let writes = new_people("feed", "Imp", (0..EACH).map(|i| (UserId::random(), format!("c{chunk}-{i}"))));
                let mut session = store.import_session().await.unwrap();
                session.apply(&writes).await.unwrap();
                session.commit().await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    // Two sequencers race each other, as replicas of a writing service do.
    let sequencers: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    store.sequence_changes().await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    // A consumer follows the feed while the writers run, resuming after the last seq it saw.
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let done = writers.iter().all(|w| w.is_finished())
            && sequencers.iter().all(|s| s.is_finished())
            && importer.is_finished();
        if done {
            store.sequence_changes().await.unwrap();
        }
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
    for s in sequencers {
        s.await.unwrap();
    }
    importer.await.unwrap();
    let users: BTreeSet<_> = seen.iter().map(|c| c.user_id).collect();
    let total = (WRITERS + IMPORTS) * EACH;
    assert_eq!(seen.len(), total, "every change seen exactly once");
    assert_eq!(users.len(), total, "no change repeated");
    assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq), "in order");
}

/// An import row matched to an existing person links the service's id: no field changes, but
/// the person's version moves and the feed says so, so consumers learn the new link.
pub async fn a_new_link_is_a_change(store: Store) {
    let u = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    let before = store.person(u.id).await.unwrap().version;
    let writes = ImportWrites {
        service: ServiceName::new("npq").unwrap(),
        actor: "import:test".into(),
        new_users: vec![],
        trn_updates: vec![],
        links: vec![("npq-7".to_owned(), u.id)],
        reviews: Vec::new(),
    };
    let mut session = store.import_session().await.unwrap();
    session.apply(&writes).await.unwrap();
    session.commit().await.unwrap();
    store.sequence_changes().await.unwrap();
    let person = store.person(u.id).await.unwrap();
    assert!(person.version > before);
    assert!(person.links.iter().any(|l| l.external_id == "npq-7" && l.source.to_string() == "import:npq"));
    let last = store.changes_after(0, 100).await.unwrap().pop().unwrap();
    assert_eq!((last.user_id, last.kind, last.actor.as_str()), (u.id, ChangeKind::Linked, "import:test"));
    assert_eq!(last.source.to_string(), "import:npq");
    assert!(last.fields.is_empty());
    assert_eq!(last.status, UserStatus::Active);
}

/// More pending changes than the sequencer numbers in one transaction are all numbered, in
/// order, by one call (a bulk import leaves tens of thousands).
pub async fn sequencing_numbers_more_than_one_batch(store: Store) {
    const USERS: usize = 10_050;
    let mut session = store.import_session().await.unwrap();
    for start in (0..USERS).step_by(1000) {
        let people = (start..(start + 1000).min(USERS)).map(|i| (UserId::random(), format!("bulk-{i}")));
        let writes = new_people("bulk", "Bulk", people);
        session.apply(&writes).await.unwrap();
    }
    session.commit().await.unwrap();
    // PostgreSQL: an import numbers its own changes as it commits (`append_numbered_changes`),
    // so the sequencer finds none; SQLite leaves them to the sequencer, whose id is the number.
    let sequenced = if store.backend() == identity_store::Backend::Postgres { 0 } else { USERS as u64 };
    assert_eq!(store.sequence_changes().await.unwrap(), sequenced);
    assert_eq!(store.sequence_changes().await.unwrap(), 0);
    let mut seen = 0;
    let mut after = 0;
    loop {
        let page = store.changes_after(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.windows(2).all(|w| w[0].seq < w[1].seq));
        after = last.seq;
        seen += page.len();
    }
    assert_eq!(seen, USERS, "every change is in the feed");
}

/// A transaction that writes a change and commits after the sequencer has run past younger
/// transactions still gets its change numbered, after those. The sequencer starts its scans at
/// a horizon (the oldest transaction that may still hold unnumbered rows): a horizon moved past
/// the open transaction would lose its change. Only PostgreSQL lets a writer stay open while
/// others commit; on SQLite the import session holds the one writer, so it commits first and
/// the feed is in the order of the writes.
pub async fn a_change_committed_late_is_numbered(store: Store) {
    use identity_store::Backend;
    let early = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    assert_eq!(store.sequence_changes().await.unwrap(), 1);

    let imported = UserId::random();
    let writes = new_people("late", "Late", [(imported, "late-1".to_owned())]);
    let mut session = store.import_session().await.unwrap();
    session.apply(&writes).await.unwrap();
    let later = if store.backend() == Backend::Postgres {
        let later = store.sso_create(&sso_user("bob", "Bob", "Ray", "bob@example.com"), &actor()).await.unwrap();
        // Several runs while the import is open: each may move the horizon, never past it.
        assert_eq!(store.sequence_changes().await.unwrap(), 1);
        assert_eq!(store.sequence_changes().await.unwrap(), 0);
        session.commit().await.unwrap();
        later
    } else {
        session.commit().await.unwrap();
        store.sso_create(&sso_user("bob", "Bob", "Ray", "bob@example.com"), &actor()).await.unwrap()
    };
    // On PostgreSQL the import numbered its change as it committed, after `later`'s.
    let expected = if store.backend() == Backend::Postgres { 0 } else { 2 };
    assert_eq!(store.sequence_changes().await.unwrap(), expected, "the late change is numbered");
    assert_eq!(store.sequence_changes().await.unwrap(), 0, "numbered once");

    let feed: Vec<_> = store.changes_after(0, 10).await.unwrap().iter().map(|c| c.user_id).collect();
    let order = if store.backend() == Backend::Postgres {
        [early.id, later.id, imported]
    } else {
        [early.id, imported, later.id]
    };
    assert_eq!(feed, order);
}

/// Facts read ahead of an import session (SQLite) hold while nothing is committed; every kind of
/// write that bears on them (SCIM create, replace and archive, an import's link, a merge) moves
/// the change log's mark, so a session begun after it knows they may be stale. Numbering changes
/// moves nothing. PostgreSQL's sessions read and claim their own facts, and have no marks.
pub async fn facts_read_ahead_hold_until_a_write(store: Store) {
    use identity_store::{Backend, FactQuery, NewMerge};
    let npq = ServiceName::new("npq").unwrap();
    let ann = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    let query = FactQuery { emails: vec!["ann@example.com".into()], ..FactQuery::default() };
    let mark = || async {
        let session = store.import_session().await.unwrap();
        let began = session.began_at();
        session.rollback().await.unwrap();
        began
    };
    let ahead = store.facts_ahead(&npq, query.clone()).await.unwrap();
    assert_eq!(ahead.facts.by_email["ann@example.com"].id, ann.id, "read like a session's facts");
    if store.backend() == Backend::Postgres {
        assert_eq!(mark().await, None);
        assert!(ahead.still_true(None, None).is_none());
        return;
    }
    store.sequence_changes().await.unwrap();
    let session = store.import_session().await.unwrap();
    let began = session.began_at();
    assert!(began.is_some());
    assert_eq!(session.commit_marked().await.unwrap(), began, "a session that wrote nothing moves nothing");
    assert!(ahead.clone().still_true(began, None).is_some(), "nothing was committed since the read");

    let mut marks = vec![began];
    let bob = store.sso_create(&sso_user("bob", "Bob", "Ray", "bob@example.com"), &actor()).await.unwrap();
    marks.push(mark().await);
    store.sso_replace(bob.id, &sso_user("bob", "Rob", "Ray", "bob@example.com"), None, &actor()).await.unwrap();
    marks.push(mark().await);
    let writes = ImportWrites {
        service: npq.clone(),
        actor: "import:test".into(),
        new_users: vec![],
        trn_updates: vec![],
        links: vec![("npq-1".to_owned(), bob.id)],
        reviews: Vec::new(),
    };
    let mut session = store.import_session().await.unwrap();
    session.apply(&writes).await.unwrap();
    let ended = session.commit_marked().await.unwrap();
    marks.push(mark().await);
    assert_eq!(ended, *marks.last().unwrap(), "a commit's mark is the next session's");
    let carl = store.sso_create(&sso_user("carl", "Carl", "Ray", "carl@example.com"), &actor()).await.unwrap();
    let merge = NewMerge { survivor: bob.id, merged: carl.id, reason: "test".into() };
    let before_merge = mark().await;
    store.merge(&merge, &actor()).await.unwrap();
    marks.push(before_merge);
    marks.push(mark().await);
    store.sso_archive(ann.id, None, &actor()).await.unwrap();
    marks.push(mark().await);
    for pair in marks.windows(2) {
        assert_ne!(pair[0], pair[1], "every write moves the mark: {marks:?}");
    }
    assert!(ahead.still_true(*marks.last().unwrap(), None).is_none());
}
