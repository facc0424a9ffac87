use identity_core::UserStatus;
use identity_store::{Store, StoreError, Uniqueness};
use serde_json::json;

use super::{actor, sso_user};

pub async fn migrations_apply_twice(store: Store) {
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

pub async fn sso_create_then_get(store: Store) {
    let created =
        store.sso_create(&sso_user("bjensen", "Barbara", "Jensen", "bjensen@example.com"), &actor()).await.unwrap();
    assert_eq!(created.status, UserStatus::Active);
    assert_eq!(created.version, 1);
    let got = store.sso_get(created.id).await.unwrap();
    assert_eq!(got, created, "what is read back equals what create returned");
    assert_eq!(got.attributes["name"]["givenName"], "Barbara");
    assert!(matches!(store.sso_get(identity_core::UserId::random()).await, Err(StoreError::NotFound)));
}

pub async fn sso_user_name_is_unique_case_insensitively(store: Store) {
    store.sso_create(&sso_user("BJensen", "Barbara", "Jensen", "a@example.com"), &actor()).await.unwrap();
    let err = store.sso_create(&sso_user("bjensen", "Babs", "Jensen", "b@example.com"), &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists(Uniqueness::ExternalId)), "{err:?}");
    // Nothing of the refused user was written.
    let all = store
        .sso_list(&identity_store::SsoQuery {
            filter: None,
            sort: None,
            page: identity_store::SsoPage::Index { start: 1, count: 10 },
        })
        .await
        .unwrap();
    assert_eq!(all.total, 1);
    assert!(store.person_by_email("b@example.com").await.unwrap().is_none());
}

pub async fn sso_concurrent_creates_of_one_user_name_one_wins(store: Store) {
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store.sso_create(&sso_user("race", "R", "Ace", &format!("r{i}@example.com")), &actor()).await
        })
    });
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::AlreadyExists(Uniqueness::ExternalId)) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(won, 1);
}

pub async fn sso_email_is_unique_among_live_users(store: Store) {
    let first = store.sso_create(&sso_user("one", "A", "B", "Same@Example.com"), &actor()).await.unwrap();
    let err = store.sso_create(&sso_user("two", "C", "D", " same@example.COM"), &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists(Uniqueness::Email)), "{err:?}");
    // Once the holder is archived, the address is free again.
    store.sso_archive(first.id, None, &actor()).await.unwrap();
    store.sso_create(&sso_user("two", "C", "D", "same@example.com"), &actor()).await.unwrap();
}

pub async fn sso_replace_bumps_version_and_checks_if_match(store: Store) {
    let u = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    let mut w = sso_user("ann", "Anne", "Lee", "ann@example.com");
    w.attributes["title"] = json!("Engineer");
    let v2 = store.sso_replace(u.id, &w, Some(u.version), &actor()).await.unwrap();
    assert_eq!(v2.version, u.version + 1);
    assert_eq!(v2.created_at, u.created_at);
    assert!(v2.updated_at >= u.updated_at);
    assert_eq!(store.sso_get(u.id).await.unwrap().attributes["title"], "Engineer");
    let stale = store.sso_replace(u.id, &w, Some(u.version), &actor()).await.unwrap_err();
    assert!(matches!(stale, StoreError::VersionMismatch { current } if current == v2.version), "{stale:?}");
    let missing = store.sso_replace(identity_core::UserId::random(), &w, None, &actor()).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound));
}

pub async fn sso_rename_moves_the_link(store: Store) {
    let a = store.sso_create(&sso_user("alpha", "A", "A", "a@example.com"), &actor()).await.unwrap();
    store.sso_create(&sso_user("beta", "B", "B", "b@example.com"), &actor()).await.unwrap();
    let taken =
        store.sso_replace(a.id, &sso_user("BETA", "A", "A", "a@example.com"), None, &actor()).await.unwrap_err();
    assert!(matches!(taken, StoreError::AlreadyExists(Uniqueness::ExternalId)), "{taken:?}");
    store.sso_replace(a.id, &sso_user("gamma", "A", "A", "a@example.com"), None, &actor()).await.unwrap();
    let sso = identity_core::Source::Sso;
    assert_eq!(store.person_by_link(&sso, "GAMMA").await.unwrap().unwrap().user.id, a.id);
    assert!(store.person_by_link(&sso, "alpha").await.unwrap().is_none(), "the old name is released");
    // Only case changed: still the same link.
    store.sso_replace(a.id, &sso_user("Gamma", "A", "A", "a@example.com"), None, &actor()).await.unwrap();
    assert_eq!(store.sso_get(a.id).await.unwrap().user_name, "Gamma");
    let links = store.person(a.id).await.unwrap().links;
    assert_eq!(links.iter().map(|l| l.external_id.as_str()).collect::<Vec<_>>(), ["Gamma"], "the link is respelt");
}

pub async fn sso_deactivate_and_reactivate(store: Store) {
    let u = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    let mut w = sso_user("ann", "Ann", "Lee", "ann@example.com");
    w.active = false;
    let off = store.sso_replace(u.id, &w, None, &actor()).await.unwrap();
    assert_eq!(off.status, UserStatus::Inactive);
    assert_eq!(store.person(u.id).await.unwrap().user.status, UserStatus::Inactive);
    assert!(off.version > u.version, "a status change is a new version");
    // An inactive user keeps its address.
    let err = store.sso_create(&sso_user("other", "O", "T", "ann@example.com"), &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists(Uniqueness::Email)));
    w.active = true;
    assert_eq!(store.sso_replace(u.id, &w, None, &actor()).await.unwrap().status, UserStatus::Active);
}

pub async fn sso_archive_hides_and_releases(store: Store) {
    let u = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    let stale = store.sso_archive(u.id, Some(u.version + 7), &actor()).await.unwrap_err();
    assert!(matches!(stale, StoreError::VersionMismatch { .. }));
    store.sso_archive(u.id, Some(u.version), &actor()).await.unwrap();
    assert!(matches!(store.sso_get(u.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.sso_archive(u.id, None, &actor()).await, Err(StoreError::NotFound)));
    let w = sso_user("ann", "Ann", "Lee", "ann@example.com");
    assert!(matches!(store.sso_replace(u.id, &w, None, &actor()).await, Err(StoreError::NotFound)));
    // History is kept: the person is still there, archived, with its profile.
    let person = store.person(u.id).await.unwrap();
    assert_eq!(person.user.status, UserStatus::Archived);
    assert!(person.links.is_empty(), "an archived user's ids are released");
    assert_eq!(store.profiles(u.id).await.unwrap().len(), 1);
    // The same userName and address can be provisioned again, as a new person.
    let again = store.sso_create(&w, &actor()).await.unwrap();
    assert_ne!(again.id, u.id);
}

pub async fn failed_write_leaves_nothing_behind(store: Store) {
    let holder = store.sso_create(&sso_user("one", "A", "B", "taken@example.com"), &actor()).await.unwrap();
    store.sequence_changes().await.unwrap();
    let before = store.changes_after(0, 100).await.unwrap().len();
    assert_eq!(before, 1);
    // The link and user rows go in before the email clash is found: all must roll back.
    store.sso_create(&sso_user("two", "C", "D", "taken@example.com"), &actor()).await.unwrap_err();
    assert!(store.person_by_link(&identity_core::Source::Sso, "two").await.unwrap().is_none());
    assert_eq!(store.sequence_changes().await.unwrap(), 0);
    assert_eq!(store.changes_after(0, 100).await.unwrap().len(), before);
    let people = store
        .list_people(&identity_store::PeopleQuery { status: None, updated_since: None, after: None, limit: 10 })
        .await
        .unwrap();
    assert_eq!(people.items.len(), 1);
    assert_eq!(people.items[0].user.id, holder.id);
}

/// A person an import brought in, with this address and no SSO profile.
async fn imported(store: &Store, external_id: &str, email: &str) -> identity_core::UserId {
    use identity_core::{Email, ProfileFields, ServiceName};
    use identity_store::{ImportWrites, ImportedUser};
    let id = identity_core::UserId::random();
    let writes = ImportWrites {
        service: ServiceName::new("npq").unwrap(),
        actor: "import:test".into(),
        new_users: vec![ImportedUser {
            id,
            external_id: external_id.to_owned(),
            import: ProfileFields {
                email: Some(Email::parse(email).unwrap()),
                first_name: Some("Imported".into()),
                ..ProfileFields::default()
            },
            registry: None,
        }],
        trn_updates: vec![],
        links: vec![],
        reviews: Vec::new(),
    };
    let mut session = store.import_session().await.unwrap();
    session.apply(&writes).await.unwrap();
    session.commit().await.unwrap();
    id
}

/// SSO provisioning a person an import already brought in gives that person the SSO profile
/// (same address, no SSO user yet) instead of refusing; archiving releases only SSO's own id.
pub async fn sso_create_attaches_to_an_imported_person(store: Store) {
    let person = imported(&store, "npq-1", "Ann@Example.com").await;
    let u = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    assert_eq!(u.id, person, "the same person, not a second one");
    let p = store.person(person).await.unwrap();
    let mut sources: Vec<_> = p.links.iter().map(|l| l.source.to_string()).collect();
    sources.sort();
    assert_eq!(sources, ["import:npq", "sso"]);
    assert_eq!(p.combined.first_name.unwrap().source, identity_core::Source::Sso, "SSO wins the name");
    assert_eq!(store.sso_get(person).await.unwrap().user_name, "ann");
    // That person now has an SSO user: another userName with the address is refused.
    let err = store.sso_create(&sso_user("ann2", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists(Uniqueness::Email)), "{err:?}");
    // Archiving releases the userName; the import's link stays with the archived person.
    store.sso_archive(person, None, &actor()).await.unwrap();
    let p = store.person(person).await.unwrap();
    assert_eq!(p.user.status, UserStatus::Archived);
    assert_eq!(p.links.iter().map(|l| l.source.to_string()).collect::<Vec<_>>(), ["import:npq"]);
    assert!(store.person_by_link(&identity_core::Source::Sso, "ann").await.unwrap().is_none());
    // An archived person is not attached to: a new SSO user is a new person.
    let again = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    assert_ne!(again.id, person);
}
