use identity_core::matcher::{MatchField, Reason, Rule};
use identity_core::review::{Decision, DecisionError, Kind, ReviewCandidate};
use identity_core::{DateOfBirth, Email, ProfileFields, ServiceName, Source, UserId, UserStatus};
use identity_store::{
    Actor, ImportWrites, NewImportReview, NewPeopleReview, ReviewQuery, ReviewSubject, Store, StoreError,
};

use super::{actor, sso_user};

fn reviewer() -> Actor {
    Actor::new("admin:reviewer")
}

fn hr() -> ServiceName {
    ServiceName::new("hr").unwrap()
}

fn open(kind: Kind) -> ReviewQuery {
    ReviewQuery { open: true, kind: Some(kind), service: None, after: None, limit: 50 }
}

/// What an import row sent to review writes: its item, naming `candidate`.
async fn review_row(store: &Store, id: &str, email: &str, candidate: UserId) {
    let fields = ProfileFields {
        first_name: Some("Bill".into()),
        last_name: Some("Lee".into()),
        email: Some(Email::parse(email).unwrap()),
        date_of_birth: Some(DateOfBirth::parse_ddmmyyyy("01021980").unwrap()),
        ..ProfileFields::default()
    };
    let reasons =
        vec![Reason { rule: Rule::Nickname, field: MatchField::FirstName, detail: "'bill' and 'william'".into() }];
    let writes = ImportWrites {
        service: hr(),
        actor: "import:test".into(),
        new_users: vec![],
        trn_updates: vec![],
        links: vec![],
        reviews: vec![NewImportReview {
            external_id: id.to_owned(),
            row: 7,
            job: None,
            fields,
            candidates: vec![ReviewCandidate { person: candidate, score: 0.95, reasons }],
        }],
    };
    let mut session = store.import_session().await.unwrap();
    session.apply(&writes).await.unwrap();
    session.commit().await.unwrap();
}

fn undecidable(result: Result<impl std::fmt::Debug, StoreError>) -> DecisionError {
    match result {
        Err(StoreError::Undecidable(e)) => e,
        other => panic!("expected an undecidable decision, got {other:?}"),
    }
}

pub async fn import_rows_are_queued_once_and_linked_by_a_decision(store: Store) {
    let william =
        store.sso_create(&sso_user("william", "William", "Lee", "william@example.com"), &actor()).await.unwrap();
    review_row(&store, "hr-9", "bill@hr.example.com", william.id).await;
    review_row(&store, "hr-9", "bill@hr.example.com", william.id).await;
    let page = store.review_list(&open(Kind::ImportRow)).await.unwrap();
    assert_eq!(page.items.len(), 1, "a re-run queues the row once");
    let item = &page.items[0];
    let ReviewSubject::Import { subject, fields } = &item.subject else { panic!("{item:?}") };
    assert_eq!((subject.service.as_str(), subject.id.as_str(), subject.row, subject.job), ("hr", "hr-9", 7, None));
    assert_eq!(fields.first_name.as_deref(), Some("Bill"));
    assert_eq!(item.candidates[0].person, william.id);
    assert_eq!(item.candidates[0].reasons[0].rule, Rule::Nickname);
    assert_eq!(store.review_get(item.id).await.unwrap(), *item);

    let stranger = UserId::random();
    assert_eq!(
        undecidable(store.review_decide(item.id, Decision::Link { person: stranger }, &reviewer()).await),
        DecisionError::NotInItem(stranger)
    );
    let decided = store.review_decide(item.id, Decision::Link { person: william.id }, &reviewer()).await.unwrap();
    assert_eq!(
        decided.decided.as_ref().map(|d| (d.decision, d.by.as_str())),
        Some((Decision::Link { person: william.id }, "admin:reviewer"))
    );
    // The service's ID now finds William, who has the row's import profile.
    assert_eq!(store.person_by_link(&Source::Import(hr()), "hr-9").await.unwrap().unwrap().user.id, william.id);
    let profiles = store.profiles(william.id).await.unwrap();
    assert!(profiles.iter().any(|p| p.source == Source::Import(hr()) && p.external_id.as_deref() == Some("hr-9")));
    assert!(store.person(william.id).await.unwrap().combined.date_of_birth.is_some());
    assert!(store.review_list(&open(Kind::ImportRow)).await.unwrap().items.is_empty());
    let decided_page = store.review_list(&ReviewQuery { open: false, ..open(Kind::ImportRow) }).await.unwrap();
    assert_eq!(decided_page.items.len(), 1);
    assert_eq!(
        undecidable(store.review_decide(item.id, Decision::Different, &reviewer()).await),
        DecisionError::Decided
    );
}

pub async fn an_import_row_decided_different_becomes_a_new_person(store: Store) {
    let william =
        store.sso_create(&sso_user("william", "William", "Lee", "william@example.com"), &actor()).await.unwrap();
    review_row(&store, "hr-9", "bill@hr.example.com", william.id).await;
    review_row(&store, "hr-10", "william@example.com", william.id).await;
    let items = store.review_list(&open(Kind::ImportRow)).await.unwrap().items;
    let decided = store.review_decide(items[0].id, Decision::Different, &reviewer()).await.unwrap();
    assert!(decided.decided.is_some());
    let bill = store.person_by_link(&Source::Import(hr()), "hr-9").await.unwrap().unwrap();
    assert_ne!(bill.user.id, william.id);
    assert_eq!(bill.combined.email.unwrap().value.as_str(), "bill@hr.example.com");
    // A row whose address William holds cannot be someone new: refused, and the item stays open.
    assert!(matches!(
        store.review_decide(items[1].id, Decision::Different, &reviewer()).await,
        Err(StoreError::AlreadyExists(identity_store::Uniqueness::Email))
    ));
    assert!(store.review_get(items[1].id).await.unwrap().decided.is_none());
    assert!(store.person_by_link(&Source::Import(hr()), "hr-10").await.unwrap().is_none());
    // Decided the other way, it links to William.
    store.review_decide(items[1].id, Decision::Link { person: william.id }, &reviewer()).await.unwrap();
}

pub async fn people_pairs_are_queued_merged_or_remembered_as_different(store: Store) {
    let mut ids = Vec::new();
    for i in 0..4 {
        let w = sso_user(&format!("p{i}"), "Ann", "Lee", &format!("p{i}@example.com"));
        ids.push(store.sso_create(&w, &actor()).await.unwrap().id);
    }
    let pair = |a: usize, b: usize| NewPeopleReview { a: ids[a], b: ids[b], score: 0.9, reasons: vec![] };
    assert_eq!(store.review_add_people(&[pair(0, 1), pair(2, 3)]).await.unwrap(), 2);
    assert_eq!(store.review_add_people(&[pair(1, 0), pair(3, 2)]).await.unwrap(), 0, "queued once, either way round");
    let items = store.review_list(&open(Kind::People)).await.unwrap().items;
    assert_eq!(items.len(), 2);
    let subject = |i: usize| match items[i].subject {
        ReviewSubject::Person(p) => p,
        ReviewSubject::Import { .. } => panic!(),
    };
    assert_eq!(subject(0), ids[0].min(ids[1]));

    let survivor = items[0].candidates[0].person;
    assert_eq!(
        undecidable(store.review_decide(items[0].id, Decision::Link { person: survivor }, &reviewer()).await),
        DecisionError::LinkForPeople
    );
    store.review_decide(items[0].id, Decision::Merge { survivor }, &reviewer()).await.unwrap();
    let merged = store.person(subject(0)).await.unwrap();
    assert_eq!((merged.user.status, merged.user.merged_into), (UserStatus::Archived, Some(survivor)));
    store.review_decide(items[1].id, Decision::Different, &reviewer()).await.unwrap();
    // Neither pair comes back: one is merged, the other was decided different.
    assert_eq!(store.review_add_people(&[pair(0, 1), pair(2, 3), pair(3, 2)]).await.unwrap(), 0);
    assert!(store.review_list(&open(Kind::People)).await.unwrap().items.is_empty());
}

/// Two reviewers deciding one item at once: one decision is carried out, the other refused.
pub async fn concurrent_decisions_of_one_item_one_wins(store: Store) {
    let william =
        store.sso_create(&sso_user("william", "William", "Lee", "william@example.com"), &actor()).await.unwrap();
    review_row(&store, "hr-9", "bill@hr.example.com", william.id).await;
    let id = store.review_list(&open(Kind::ImportRow)).await.unwrap().items[0].id;
    let decide = |decision| {
        let store = store.clone();
        tokio::spawn(async move { store.review_decide(id, decision, &reviewer()).await })
    };
    let (x, y) = tokio::join!(decide(Decision::Link { person: william.id }), decide(Decision::Different));
    let results = [x.unwrap(), y.unwrap()];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(StoreError::Undecidable(DecisionError::Decided)))), "{results:?}");
    // Exactly one of the two happened: the row links to William or to someone new, not both.
    let linked = store.person_by_link(&Source::Import(hr()), "hr-9").await.unwrap().unwrap();
    let won = results.iter().find_map(|r| r.as_ref().ok()).unwrap().decided.as_ref().unwrap().decision;
    assert_eq!(linked.user.id == william.id, won == Decision::Link { person: william.id });
}

/// The follower's lease: one holder at a time until it runs out; a batch moves the position only
/// from where its holder found it, with its keys and pairs, or not at all.
pub async fn the_matchers_lease_and_position_move_together(store: Store) {
    let soon = chrono::Utc::now() + chrono::Duration::seconds(30);
    assert_eq!(store.matcher_lease("a", soon).await.unwrap(), Some(0));
    assert_eq!(store.matcher_lease("b", soon).await.unwrap(), None, "a holds it");
    let ann = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let anne = store.sso_create(&sso_user("anne", "Anne", "Lee", "anne@example.com"), &actor()).await.unwrap().id;
    let keys = vec![(ann, vec!["k1".to_owned(), "k2".to_owned()])];
    let pair = NewPeopleReview { a: ann, b: anne, score: 0.9, reasons: vec![] };
    assert!(matches!(store.matcher_advance("b", 0, 5, &keys, &[]).await, Err(StoreError::NotFound)), "not b's");
    assert!(matches!(store.matcher_advance("a", 3, 5, &keys, &[]).await, Err(StoreError::NotFound)), "not from 3");
    assert_eq!(store.matcher_advance("a", 0, 5, &keys, std::slice::from_ref(&pair)).await.unwrap(), 1);
    assert_eq!(store.matcher_lease("a", soon).await.unwrap(), Some(5));
    let found = store.match_candidates(&["k2".to_owned(), "k9".to_owned()], 10, &[anne]).await.unwrap();
    assert_eq!(found.iter().map(|p| p.user.id).collect::<Vec<_>>(), [ann]);
    assert!(store.match_candidates(&["k1".to_owned()], 10, &[ann]).await.unwrap().is_empty(), "except ann");
    store.matcher_advance("a", 5, 5, &[(anne, vec!["k2".to_owned()])], &[]).await.unwrap();
    assert_eq!(store.match_candidates(&["k2".to_owned()], 2, &[]).await.unwrap().len(), 2);
    assert!(store.match_candidates(&["k2".to_owned()], 1, &[]).await.unwrap().is_empty(), "a key held by more");
    store.matcher_advance("a", 5, 5, &[(anne, vec![])], &[]).await.unwrap();
    // New keys replace a person's old ones; none (archived) removes them.
    store.matcher_advance("a", 5, 6, &[(ann, vec!["k3".to_owned()])], &[]).await.unwrap();
    assert!(store.match_candidates(&["k1".to_owned()], 10, &[]).await.unwrap().is_empty());
    assert_eq!(store.match_candidates(&["k3".to_owned()], 10, &[]).await.unwrap().len(), 1);
    store.matcher_advance("a", 6, 7, &[(ann, vec![])], &[]).await.unwrap();
    assert!(store.match_candidates(&["k3".to_owned()], 10, &[]).await.unwrap().is_empty());
    // A lease run out is anyone's, from where it stopped.
    assert_eq!(store.matcher_lease("a", chrono::Utc::now() - chrono::Duration::seconds(1)).await.unwrap(), Some(7));
    assert_eq!(store.matcher_lease("b", soon).await.unwrap(), Some(7));
    assert_eq!(store.people_of(&[ann, anne]).await.unwrap().len(), 2);
}

/// A row whose address someone else holds (why it was sent to review) still links to the person
/// it is, who keeps their own address by precedence.
pub async fn a_row_links_to_its_person_though_its_address_is_someone_elses(store: Store) {
    store.sso_create(&sso_user("e", "Eve", "Lee", "bill@hr.example.com"), &actor()).await.unwrap();
    let william =
        store.sso_create(&sso_user("william", "William", "Lee", "william@example.com"), &actor()).await.unwrap();
    review_row(&store, "hr-9", "bill@hr.example.com", william.id).await;
    let id = store.review_list(&open(Kind::ImportRow)).await.unwrap().items[0].id;
    store.review_decide(id, Decision::Link { person: william.id }, &reviewer()).await.unwrap();
    let w = store.person(william.id).await.unwrap();
    assert_eq!(w.combined.email.unwrap().value.as_str(), "william@example.com");
    assert_eq!(store.person_by_link(&Source::Import(hr()), "hr-9").await.unwrap().unwrap().user.id, william.id);
}

/// A candidate merged since the item was queued: the item is decided as the person they were
/// merged into, by either id.
pub async fn a_candidate_merged_since_is_decided_as_their_survivor(store: Store) {
    let william =
        store.sso_create(&sso_user("william", "William", "Lee", "william@example.com"), &actor()).await.unwrap().id;
    let will = store.sso_create(&sso_user("will", "Will", "Lee", "will@example.com"), &actor()).await.unwrap().id;
    review_row(&store, "hr-9", "bill@hr.example.com", william).await;
    let merge = identity_store::NewMerge { survivor: will, merged: william, reason: "same".into() };
    store.merge(&merge, &reviewer()).await.unwrap();
    let id = store.review_list(&open(Kind::ImportRow)).await.unwrap().items[0].id;
    let decided = store.review_decide(id, Decision::Link { person: william }, &reviewer()).await.unwrap();
    assert_eq!(decided.decided.unwrap().decision, Decision::Link { person: will });
    assert_eq!(store.person_by_link(&Source::Import(hr()), "hr-9").await.unwrap().unwrap().user.id, will);
}
