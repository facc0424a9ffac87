use identity_core::change::{ChangeKind, Origin};
use identity_core::merge::Refusal;
use identity_core::profile::Field;
use identity_core::{DateOfBirth, Email, ProfileFields, ServiceName, Source, UserId, UserStatus};
use identity_store::{Actor, ImportWrites, ImportedUser, NewMerge, Person, Store, StoreError};

use super::{actor, sso_user};

fn reviewer() -> Actor {
    Actor::new("reviewer@example.com")
}

fn merge_of(survivor: UserId, merged: UserId) -> NewMerge {
    NewMerge { survivor, merged, reason: "the same person".into() }
}

/// A person imported by `hr` with its ID, names, a date of birth and an email address.
async fn imported(store: &Store, id: &str, first: &str, email: &str) -> UserId {
    let born = DateOfBirth::new(chrono::NaiveDate::from_ymd_opt(1980, 1, 2).unwrap());
    imported_by(store, "hr", id, first, email, Some(born)).await
}

/// What an import chunk writes to add a person with the last name Lee: `service`'s `id`.
pub(super) fn new_person(service: &str, id: &str, first: &str, email: &str, born: Option<DateOfBirth>) -> ImportWrites {
    let user = ImportedUser {
        id: UserId::random(),
        external_id: id.to_owned(),
        import: ProfileFields {
            first_name: Some(first.to_owned()),
            last_name: Some("Lee".to_owned()),
            email: Some(Email::parse(email).unwrap()),
            date_of_birth: born,
            ..ProfileFields::default()
        },
        registry: None,
    };
    ImportWrites {
        service: ServiceName::new(service).unwrap(),
        actor: "import:test".into(),
        new_users: vec![user],
        trn_updates: vec![],
        links: vec![],
        reviews: Vec::new(),
    }
}

/// A person with the last name Lee imported by `service`.
pub(super) async fn imported_by(
    store: &Store,
    service: &str,
    id: &str,
    first: &str,
    email: &str,
    date_of_birth: Option<DateOfBirth>,
) -> UserId {
    let writes = new_person(service, id, first, email, date_of_birth);
    let mut session = store.import_session().await.unwrap();
    session.apply(&writes).await.unwrap();
    session.commit().await.unwrap();
    writes.new_users[0].id
}

/// What an undo must restore: everything but the version counters and times.
fn state(p: &Person) -> impl PartialEq + std::fmt::Debug {
    (p.user.status, p.user.merged_into, p.combined.clone(), p.links.clone())
}

fn refused(result: Result<impl std::fmt::Debug, StoreError>) -> Refusal {
    match result {
        Err(StoreError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub async fn a_merge_moves_links_derives_the_survivor_from_both_and_undoes_exactly(store: Store) {
    let survivor = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let merged = imported(&store, "hr-1", "Annie", "annie@hr.example.com").await;
    let (s0, m0) = (store.person(survivor).await.unwrap(), store.person(merged).await.unwrap());
    assert!(s0.combined.date_of_birth.is_none());

    let done = store.merge(&merge_of(survivor, merged), &reviewer()).await.unwrap();
    assert_eq!((done.survivor, done.merged, done.by.as_str()), (survivor, merged, "reviewer@example.com"));
    assert_eq!(store.merge_get(done.id).await.unwrap(), done);

    let m = store.person(merged).await.unwrap();
    assert_eq!((m.user.status, m.user.merged_into), (UserStatus::Archived, Some(survivor)));
    assert!(m.links.is_empty(), "its links moved");
    let s = store.person(survivor).await.unwrap();
    let hr = Source::Import(ServiceName::new("hr").unwrap());
    assert!(s.links.iter().any(|l| l.source == hr && l.external_id == "hr-1"));
    assert_eq!(store.person_by_link(&hr, "hr-1").await.unwrap().unwrap().user.id, survivor);
    // The survivor's combined profile comes from both people's profiles: SSO keeps the names and
    // the address; the date of birth only the merged person's import had.
    assert_eq!(s.combined.first_name.as_ref().unwrap().value, "Ann");
    assert_eq!(s.combined.email.as_ref().unwrap().value.as_str(), "ann@example.com");
    assert_eq!(s.combined.date_of_birth.as_ref().map(|d| &d.source), Some(&hr));
    assert!(store.person_by_email("annie@hr.example.com").await.unwrap().is_none(), "released");
    // Its profiles stay with the merged person.
    assert_eq!(store.profiles(merged).await.unwrap().len(), 1);
    assert_eq!(store.profiles(survivor).await.unwrap().len(), 1);

    store.sequence_changes().await.unwrap();
    let feed = store.changes_after(0, 1000).await.unwrap();
    let mine: Vec<_> = feed.iter().filter(|c| c.source == Origin::Review).collect();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().any(|c| c.user_id == survivor
        && c.kind == ChangeKind::ProfileUpdated
        && c.fields == [Field::DateOfBirth]
        && c.actor == "reviewer@example.com"));
    assert!(mine.iter().any(|c| c.user_id == merged
        && c.kind == ChangeKind::Merged
        && c.survivor == Some(survivor)
        && c.status == UserStatus::Archived));

    let undone = store.undo_merge(done.id, &Actor::new("admin@example.com")).await.unwrap();
    assert_eq!(undone.undone.as_ref().map(|u| u.by.as_str()), Some("admin@example.com"));
    let (s1, m1) = (store.person(survivor).await.unwrap(), store.person(merged).await.unwrap());
    assert_eq!(state(&s1), state(&s0));
    assert_eq!(state(&m1), state(&m0));
    assert_eq!(store.person_by_link(&hr, "hr-1").await.unwrap().unwrap().user.id, merged);
    assert_eq!(store.person_by_email("annie@hr.example.com").await.unwrap().unwrap().user.id, merged);
    store.sequence_changes().await.unwrap();
    let last = store.changes_after(0, 1000).await.unwrap();
    assert!(last.iter().any(|c| c.user_id == merged && c.kind == ChangeKind::Unmerged && c.survivor == Some(survivor)));
    assert_eq!(refused(store.undo_merge(done.id, &reviewer()).await), Refusal::AlreadyUndone);
    assert_eq!(store.merges_of(merged).await.unwrap().len(), 1);
}

/// A later write to the survivor keeps what the merged person brought, and makes an exact undo
/// impossible: refused, and nothing changes.
pub async fn an_undo_after_a_later_write_is_refused(store: Store) {
    let survivor = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let merged = imported(&store, "hr-1", "Annie", "annie@hr.example.com").await;
    let done = store.merge(&merge_of(survivor, merged), &reviewer()).await.unwrap();
    store.sso_replace(survivor, &sso_user("ann", "Anne", "Lee", "ann@example.com"), None, &actor()).await.unwrap();
    let s = store.person(survivor).await.unwrap();
    assert_eq!(s.combined.first_name.as_ref().unwrap().value, "Anne");
    assert!(s.combined.date_of_birth.is_some(), "the merged person's date of birth still counts");
    assert_eq!(refused(store.undo_merge(done.id, &reviewer()).await), Refusal::ChangedSince(survivor));
    assert_eq!(store.person(merged).await.unwrap().user.merged_into, Some(survivor));
    assert!(store.merge_get(done.id).await.unwrap().undone.is_none());
}

/// The merged person's address taken by someone new since: the undo is refused, whole.
pub async fn an_undo_is_refused_when_the_address_was_taken(store: Store) {
    let survivor = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let merged = imported(&store, "hr-1", "Annie", "annie@hr.example.com").await;
    let done = store.merge(&merge_of(survivor, merged), &reviewer()).await.unwrap();
    store.sso_create(&sso_user("newcomer", "New", "Comer", "annie@hr.example.com"), &actor()).await.unwrap();
    assert_eq!(refused(store.undo_merge(done.id, &reviewer()).await), Refusal::EmailTaken(merged));
    let m = store.person(merged).await.unwrap();
    assert_eq!((m.user.status, m.user.merged_into), (UserStatus::Archived, Some(survivor)));
    assert_eq!(
        store.person_by_link(&Source::Import(ServiceName::new("hr").unwrap()), "hr-1").await.unwrap().unwrap().user.id,
        survivor
    );
    assert!(store.merge_get(done.id).await.unwrap().undone.is_none());
}

pub async fn merges_the_rules_refuse(store: Store) {
    let a = store.sso_create(&sso_user("a", "A", "Lee", "a@example.com"), &actor()).await.unwrap().id;
    let b = store.sso_create(&sso_user("b", "B", "Lee", "b@example.com"), &actor()).await.unwrap().id;
    let c = store.sso_create(&sso_user("c", "C", "Lee", "c@example.com"), &actor()).await.unwrap().id;
    assert_eq!(refused(store.merge(&merge_of(a, a), &reviewer()).await), Refusal::SamePerson);
    assert!(matches!(store.merge(&merge_of(a, UserId::random()), &reviewer()).await, Err(StoreError::NotFound)));
    store.merge(&merge_of(b, a), &reviewer()).await.unwrap();
    // A loop (b into a, after a into b), a second merge of a, a merge into a merged person.
    assert_eq!(refused(store.merge(&merge_of(a, b), &reviewer()).await), Refusal::SurvivorMerged(a, b));
    assert_eq!(refused(store.merge(&merge_of(c, a), &reviewer()).await), Refusal::AlreadyMerged(a, b));
    store.sso_archive(c, None, &actor()).await.unwrap();
    assert_eq!(refused(store.merge(&merge_of(c, b), &reviewer()).await), Refusal::SurvivorArchived(c));
    assert_eq!(refused(store.merge(&merge_of(b, c), &reviewer()).await), Refusal::MergedArchived(c));
    assert!(matches!(store.undo_merge(uuid::Uuid::now_v7(), &reviewer()).await, Err(StoreError::NotFound)));
}

/// a into b, then b into c: a now points at c, and c's profile counts a's; undoing the second
/// puts a back under b.
pub async fn a_chain_of_merges_points_at_the_last_survivor(store: Store) {
    let a = imported(&store, "hr-a", "Annie", "annie@hr.example.com").await;
    let b = store.sso_create(&sso_user("b", "Ann", "Lee", "b@example.com"), &actor()).await.unwrap().id;
    let c = store.sso_create(&sso_user("c", "Ann", "Lee", "c@example.com"), &actor()).await.unwrap().id;
    store.merge(&merge_of(b, a), &reviewer()).await.unwrap();
    let second = store.merge(&merge_of(c, b), &reviewer()).await.unwrap();
    assert_eq!(store.person(a).await.unwrap().user.merged_into, Some(c));
    assert!(store.person(c).await.unwrap().combined.date_of_birth.is_some(), "a's import counts for c");
    store.undo_merge(second.id, &reviewer()).await.unwrap();
    assert_eq!(store.person(a).await.unwrap().user.merged_into, Some(b));
    assert!(store.person(c).await.unwrap().combined.date_of_birth.is_none());
    assert!(store.person(b).await.unwrap().combined.date_of_birth.is_some());
}

/// Two reviewers merging the same person into different survivors at once: one wins, the other
/// is refused; two undoing one merge at once: one undoes it.
pub async fn concurrent_merges_of_one_person_one_wins(store: Store) {
    let merged = imported(&store, "hr-1", "Annie", "annie@hr.example.com").await;
    let s1 = store.sso_create(&sso_user("s1", "Ann", "Lee", "s1@example.com"), &actor()).await.unwrap().id;
    let s2 = store.sso_create(&sso_user("s2", "Ann", "Lee", "s2@example.com"), &actor()).await.unwrap().id;
    let (x, y) = tokio::join!(
        {
            let store = store.clone();
            tokio::spawn(async move { store.merge(&merge_of(s1, merged), &reviewer()).await })
        },
        {
            let store = store.clone();
            tokio::spawn(async move { store.merge(&merge_of(s2, merged), &reviewer()).await })
        }
    );
    let results = [x.unwrap(), y.unwrap()];
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(StoreError::Refused(Refusal::AlreadyMerged(..))))));
    let id = won[0].id;
    let (x, y) = tokio::join!(
        {
            let store = store.clone();
            tokio::spawn(async move { store.undo_merge(id, &reviewer()).await })
        },
        {
            let store = store.clone();
            tokio::spawn(async move { store.undo_merge(id, &reviewer()).await })
        }
    );
    let results = [x.unwrap(), y.unwrap()];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(StoreError::Refused(Refusal::AlreadyUndone)))));
    assert_eq!(store.person(merged).await.unwrap().user.merged_into, None);
}

/// A survivor holds the merged person's SSO link beside its own: SCIM renaming or archiving the
/// survivor touches only its own.
pub async fn scim_writes_to_a_survivor_leave_the_merged_persons_link(store: Store) {
    let survivor = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let merged = store.sso_create(&sso_user("a.lee", "Annie", "Lee", "annie@example.com"), &actor()).await.unwrap().id;
    store.merge(&merge_of(survivor, merged), &reviewer()).await.unwrap();
    let holder = |name: &'static str| {
        let store = store.clone();
        async move { store.person_by_link(&Source::Sso, name).await.unwrap().map(|p| p.user.id) }
    };
    assert_eq!(holder("a.lee").await, Some(survivor));
    // A change of case only respells the survivor's own link.
    store.sso_replace(survivor, &sso_user("Ann", "Ann", "Lee", "ann@example.com"), None, &actor()).await.unwrap();
    let links = store.person(survivor).await.unwrap().links;
    let names: Vec<&str> = links.iter().map(|l| l.external_id.as_str()).collect();
    assert!(names.contains(&"Ann") && names.contains(&"a.lee"), "{names:?}");
    store.sso_replace(survivor, &sso_user("ann.lee", "Ann", "Lee", "ann@example.com"), None, &actor()).await.unwrap();
    assert_eq!(holder("a.lee").await, Some(survivor), "a rename keeps the merged person's link");
    assert_eq!(holder("ann").await, None);
    store.sso_archive(survivor, None, &actor()).await.unwrap();
    assert_eq!(holder("ann.lee").await, None);
    assert_eq!(holder("a.lee").await, Some(survivor));
}

/// The survivor's own address, released when the merged person's SSO address won its combined
/// profile and taken by someone new since: the undo is refused, whole, without a constraint
/// failing.
pub async fn an_undo_is_refused_when_the_survivors_address_was_taken(store: Store) {
    let survivor = imported(&store, "hr-1", "Ann", "ann@hr.example.com").await;
    let merged = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let done = store.merge(&merge_of(survivor, merged), &reviewer()).await.unwrap();
    let s = store.person(survivor).await.unwrap();
    assert_eq!(s.combined.email.unwrap().value.as_str(), "ann@example.com", "SSO's address wins");
    store.sso_create(&sso_user("newcomer", "New", "Comer", "ann@hr.example.com"), &actor()).await.unwrap();
    assert_eq!(refused(store.undo_merge(done.id, &reviewer()).await), Refusal::EmailTaken(survivor));
    assert_eq!(store.person(merged).await.unwrap().user.merged_into, Some(survivor));
    assert!(store.merge_get(done.id).await.unwrap().undone.is_none());
}

/// A chain (a into m, then m into s): s takes a value s lacks from m before a, though a's is
/// newer, as m's own combined profile did.
pub async fn a_chain_ranks_the_merged_persons_values_before_earlier_ones(store: Store) {
    let born = |y, m, d| Some(DateOfBirth::new(chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()));
    let s = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let m = imported_by(&store, "hr", "hr-1", "Ann", "ann@hr.example.com", born(1980, 1, 2)).await;
    let a = imported_by(&store, "crm", "crm-1", "Ann", "ann@crm.example.com", born(1990, 5, 5)).await;
    store.merge(&merge_of(m, a), &reviewer()).await.unwrap();
    let dob = |p: identity_store::Person| p.combined.date_of_birth.map(|d| d.value);
    assert_eq!(dob(store.person(m).await.unwrap()), born(1980, 1, 2), "m keeps its own");
    store.merge(&merge_of(s, m), &reviewer()).await.unwrap();
    assert_eq!(dob(store.person(s).await.unwrap()), born(1980, 1, 2), "m's, not a's newer one");
}

/// The merges of `merged` not undone, once its status agrees with them (within a second): a
/// merged person has one, a person not merged none.
async fn settled(store: &Store, merged: UserId) -> Vec<identity_core::merge::Merge> {
    let mut seen = String::new();
    for _ in 0..100 {
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            let m = store.person(merged).await.unwrap();
            let live: Vec<_> =
                store.merges_of(merged).await.unwrap().into_iter().filter(|x| x.undone.is_none()).collect();
            (m, live)
        });
        let (m, live) = read.await.expect("the store answers");
        if m.user.merged_into.is_some() == (live.len() == 1) && live.len() <= 1 {
            return live;
        }
        seen = format!("{:?} {live:?}", m.user);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("half-done: {seen}");
}

/// A merge or an undo whose caller goes away mid-transaction (admin's request cancelled) either
/// happens whole or not at all, and leaves the store able to write: on SQLite its one write
/// connection must not stay inside the dropped transaction.
pub async fn merges_and_undos_abandoned_mid_way_leave_nothing_half_done(store: Store) {
    let survivor = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let merged = imported(&store, "hr-1", "Annie", "annie@hr.example.com").await;
    let patience = std::time::Duration::from_secs(10);
    let (by, merge) = (reviewer(), merge_of(survivor, merged));
    for i in 0..120u64 {
        let abandoned = store.merge(&merge, &by);
        let _ = tokio::time::timeout(std::time::Duration::from_micros(i * 13), abandoned).await;
        // Whatever happened, it happened whole: merged with a merge to undo, or not at all. (A
        // commit already sent when its caller went away still lands, moments later.)
        let live = settled(&store, merged).await;
        if let Some(made) = live.first() {
            let abandoned = store.undo_merge(made.id, &by);
            let _ = tokio::time::timeout(std::time::Duration::from_micros(i * 11), abandoned).await;
            if !settled(&store, merged).await.is_empty() {
                store.undo_merge(made.id, &by).await.unwrap();
            }
        }
    }
    settled(&store, merged).await;
    // The store still writes (an abandoned merge's commit may land after the last look, so the
    // pair itself may be merged or not).
    let cy = sso_user("cy", "Cy", "Lee", "cy@example.com");
    let next = tokio::time::timeout(patience, store.sso_create(&cy, &by)).await;
    assert!(matches!(next, Ok(Ok(_))), "a write after them");
}
