//! People Finder's profiles: one per person, one person per slug, written only for an active
//! person, and, when two writers race, one wins and the other is refused with nothing half-done.

use identity_core::profile::Details;
use identity_core::{ProfileFields, Source};
use identity_store::{PeopleFinderRefusal, PeopleFinderWrite, Store, StoreError, Uniqueness};
use serde_json::json;

use super::{actor, sso_user};

fn write(pronouns: &str) -> PeopleFinderWrite {
    PeopleFinderWrite {
        fields: ProfileFields {
            details: Details { pronouns: Some(pronouns.to_owned()), ..Details::default() },
            ..ProfileFields::default()
        },
        document: json!({ "pronouns": pronouns }),
    }
}

fn taken<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::AlreadyExists(Uniqueness::ExternalId)))
}

fn refused<T: std::fmt::Debug>(r: Result<T, StoreError>) -> Option<PeopleFinderRefusal> {
    match r {
        Err(StoreError::PeopleFinderRefused(why)) => Some(why),
        _ => None,
    }
}

pub async fn a_people_finder_profile_is_one_per_person_and_slug(store: Store) {
    let ann = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let bob = store.sso_create(&sso_user("bob", "Bob", "Lee", "bob@example.com"), &actor()).await.unwrap().id;
    let (s1, s2) = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222");

    let written = store.peoplefinder_put("ann", s1, &write("she/her"), true, &actor()).await.unwrap();
    assert_eq!(written.sso_id, "ann");
    let written = written.profile;
    assert_eq!((written.source, written.external_id.as_deref()), (Source::PeopleFinder, Some(s1)));
    assert_eq!(store.person_by_link(&Source::PeopleFinder, s1).await.unwrap().map(|p| p.user.id), Some(ann));
    let c = store.person(ann).await.unwrap().combined;
    assert_eq!(c.details.pronouns.map(|p| (p.value, p.source)), Some(("she/her".into(), Source::PeopleFinder)));

    assert!(taken(store.peoplefinder_put("ann", s2, &write("x"), true, &actor()).await), "a second for Ann");
    assert!(taken(store.peoplefinder_put("bob", s1, &write("x"), true, &actor()).await), "Ann's slug for Bob");
    let other = store.peoplefinder_put("bob", s1, &write("x"), false, &actor()).await;
    assert_eq!(refused(other), Some(PeopleFinderRefusal::SomeoneElses), "Ann's profile for Bob");
    let none = store.peoplefinder_put("ann", s2, &write("x"), false, &actor()).await;
    assert_eq!(refused(none), Some(PeopleFinderRefusal::NoProfile));
    let nobody = store.peoplefinder_put("nobody", s1, &write("x"), false, &actor()).await;
    assert_eq!(refused(nobody), Some(PeopleFinderRefusal::NoActivePerson));
    assert_eq!(store.person_by_link(&Source::PeopleFinder, s2).await.unwrap().map(|p| p.user.id), None);

    // A replace, whole: what it leaves out is gone.
    let bare = PeopleFinderWrite { fields: ProfileFields::default(), document: json!({}) };
    store.peoplefinder_put("ann", s1, &bare, false, &actor()).await.unwrap();
    assert_eq!(store.person(ann).await.unwrap().combined.details.pronouns, None);

    // Racing creates: one slug for two people, and two slugs for one person; one of each wins.
    let (s3, s4) = ("33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444");
    store.sso_create(&sso_user("cat", "Cat", "Lee", "cat@example.com"), &actor()).await.unwrap();
    store.sso_create(&sso_user("dan", "Dan", "Lee", "dan@example.com"), &actor()).await.unwrap();
    let (w1, w2, by) = (write("a"), write("b"), actor());
    let (a, b) = tokio::join!(
        store.peoplefinder_put("cat", s3, &w1, true, &by),
        store.peoplefinder_put("dan", s3, &w2, true, &by)
    );
    assert!(a.is_ok() != b.is_ok() && (taken(a) || taken(b)), "one slug, two people: one wins");
    let (a, b) = tokio::join!(
        store.peoplefinder_put("bob", s4, &w1, true, &by),
        store.peoplefinder_put("bob", "55555555-5555-4555-8555-555555555555", &w2, true, &by)
    );
    assert!(a.is_ok() != b.is_ok(), "two slugs, one person: one wins");
    let links = store.person(bob).await.unwrap().links;
    assert_eq!(links.iter().filter(|l| l.source == Source::PeopleFinder).count(), 1, "{links:?}");

    // Only an active person.
    let mut off = sso_user("ann", "Ann", "Lee", "ann@example.com");
    off.active = false;
    store.sso_replace(ann, &off, None, &actor()).await.unwrap();
    let inactive = store.peoplefinder_put("ann", s1, &write("x"), false, &actor()).await;
    assert_eq!(refused(inactive), Some(PeopleFinderRefusal::NoActivePerson));
}

/// A write whose caller goes away mid-transaction (a request cancelled) leaves the store able to
/// write: on SQLite its one write connection would otherwise stay in the dropped transaction.
pub async fn a_write_abandoned_mid_way_leaves_the_next_write_working(store: Store) {
    let ann = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let slug = "66666666-6666-4666-8666-666666666666";
    store.peoplefinder_put("ann", slug, &write("a"), true, &actor()).await.unwrap();
    for i in 0..300u64 {
        let w = write(&format!("p{i}"));
        let by = actor();
        let abandoned = store.peoplefinder_put("ann", slug, &w, false, &by);
        let _ = tokio::time::timeout(std::time::Duration::from_micros(i * 7), abandoned).await;
    }
    let done = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        store.peoplefinder_put("ann", slug, &write("after"), false, &actor()),
    )
    .await;
    assert!(matches!(done, Ok(Ok(_))), "{done:?}");
    let c = store.person(ann).await.unwrap().combined;
    assert_eq!(c.details.pronouns.map(|p| p.value).as_deref(), Some("after"));
}
