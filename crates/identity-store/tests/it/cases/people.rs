use identity_core::{Source, UserStatus};
use identity_store::{PeopleQuery, Store};

use super::{actor, sso_user};

pub async fn combined_profile_and_links_for_people(store: Store) {
    let u = store.sso_create(&sso_user("Ann.Lee", "Ann", "Lee", "Ann.Lee@Example.com"), &actor()).await.unwrap();
    let p = store.person(u.id).await.unwrap();
    assert_eq!(p.user.status, UserStatus::Active);
    let first = p.combined.first_name.as_ref().unwrap();
    assert_eq!((first.value.as_str(), &first.source), ("Ann", &Source::Sso));
    assert_eq!(p.combined.email.as_ref().unwrap().value.as_str(), "Ann.Lee@Example.com");
    assert_eq!(p.links.len(), 1);
    assert_eq!((p.links[0].source.clone(), p.links[0].external_id.as_str()), (Source::Sso, "Ann.Lee"));
    let v1 = p.version;
    store.sso_replace(u.id, &sso_user("Ann.Lee", "Anne", "Lee", "ann.lee@example.com"), None, &actor()).await.unwrap();
    let p2 = store.person(u.id).await.unwrap();
    assert!(p2.version > v1, "the combined profile's version moves on every write");
    assert_eq!(p2.combined.first_name.unwrap().value, "Anne");
    let profiles = store.profiles(u.id).await.unwrap();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0].source, Source::Sso);
    assert_eq!(profiles[0].external_id.as_deref(), Some("Ann.Lee"));
    assert_eq!(profiles[0].version, 2);
    assert!(matches!(store.profiles(identity_core::UserId::random()).await, Err(identity_store::StoreError::NotFound)));
}

pub async fn people_listing_and_lookups(store: Store) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let u = store
            .sso_create(&sso_user(&format!("p{i}"), "G", "F", &format!("p{i}@example.com")), &actor())
            .await
            .unwrap();
        ids.push(u.id);
    }
    ids.sort();
    let mut w = sso_user("p3", "G", "F", "p3@example.com");
    w.active = false;
    let p3 = store.person_by_link(&Source::Sso, "P3").await.unwrap().unwrap().user.id;
    store.sso_replace(p3, &w, None, &actor()).await.unwrap();

    assert_eq!(store.person_by_email(" P1@EXAMPLE.com").await.unwrap().unwrap().links[0].external_id, "p1");
    assert!(store.person_by_email("nobody@example.com").await.unwrap().is_none());

    let list = |after, limit, status, updated_since| {
        let store = store.clone();
        async move { store.list_people(&PeopleQuery { status, updated_since, after, limit }).await.unwrap() }
    };
    let first = list(None, 2, None, None).await;
    assert_eq!(first.items.iter().map(|p| p.user.id).collect::<Vec<_>>(), ids[..2]);
    let second = list(first.next, 2, None, None).await;
    assert_eq!(second.items.iter().map(|p| p.user.id).collect::<Vec<_>>(), ids[2..4]);
    let last = list(second.next, 2, None, None).await;
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.next, None);
    let inactive = list(None, 10, Some(UserStatus::Inactive), None).await;
    assert_eq!(inactive.items.len(), 1);
    assert_eq!(inactive.items[0].user.id, p3);
    let recent = list(None, 10, None, Some(chrono::Utc::now() + chrono::Duration::hours(1))).await;
    assert!(recent.items.is_empty());
    let all_recent = list(None, 10, None, Some(chrono::Utc::now() - chrono::Duration::hours(1))).await;
    assert_eq!(all_recent.items.len(), 5);
    // Archived people are listed only when asked for.
    store.sso_archive(ids[0], None, &actor()).await.unwrap();
    let live = list(None, 10, None, None).await;
    assert_eq!(live.items.iter().map(|p| p.user.id).collect::<Vec<_>>(), ids[1..]);
    let archived = list(None, 10, Some(UserStatus::Archived), None).await;
    assert_eq!(archived.items.iter().map(|p| p.user.id).collect::<Vec<_>>(), ids[..1]);
}
