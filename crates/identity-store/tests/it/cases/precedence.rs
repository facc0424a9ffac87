//! Precedence as data: versions, writers deriving with the one in force, and the re-derivation a
//! new version starts (chunks, a lease, resumed by another holder, a version set meanwhile).

use chrono::{Duration, Utc};
use identity_core::change::Origin;
use identity_core::precedence::Precedence;
use identity_core::{Email, Source, UserId};
use identity_store::testing::TestDatabase;
use identity_store::{PoolConfig, Rederived, RederivedChunk, Store};

use super::merges::imported_by;
use super::{actor, sso_user};

fn later() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::seconds(60)
}

/// The shipped precedence with imports' addresses first and display names from imports only.
fn imports_first() -> Precedence {
    let text = Precedence::standard()
        .to_toml()
        .replace("email = [\"sso\", \"import:*\"]", "email = [\"import:*\", \"sso\"]")
        .replace("display_name = [\"sso\", \"import:*\"]", "display_name = [\"import:*\"]");
    Precedence::from_toml(&text).unwrap()
}

/// How many changes the re-derivation appended for `id`.
async fn rederived_changes(store: &Store, id: UserId) -> usize {
    store.sequence_changes().await.unwrap();
    let changes = store.changes_of(id, None, 100).await.unwrap();
    changes.iter().filter(|c| c.source == Origin::Precedence).count()
}

/// Steps `holder` to the end (waiting out the last look), adding up the chunks.
async fn run_to_end(store: &Store, holder: &str, limit: u32) -> (i64, RederivedChunk) {
    let mut sum = RederivedChunk::default();
    loop {
        match store.rederive_step(holder, limit, later()).await.unwrap() {
            Rederived::UpToDate { version } => return (version, sum),
            Rederived::Chunk(c) => {
                sum.people += c.people;
                sum.changed += c.changed;
                sum.held_back += c.held_back;
            }
            Rederived::Settling { at, .. } => {
                tokio::time::sleep((at - Utc::now()).to_std().unwrap_or_default()).await;
            }
        }
    }
}

/// Versions: none stored is the shipped one; `set` numbers them and writers in this process
/// and in another (a second store on the same database) derive with the newest, within a
/// second, without a restart.
pub async fn a_precedence_version_is_taken_up_by_every_writer(store: Store, db: &TestDatabase) {
    let shipped = store.precedence().await.unwrap();
    assert_eq!((shipped.version, &shipped.precedence), (0, Precedence::standard()));
    assert_eq!(shipped.set_by, None);
    let other = Store::connect(&db.url, &PoolConfig { max_connections: Some(2), ..PoolConfig::default() }).unwrap();
    assert_eq!(other.precedence().await.unwrap().version, 0, "read once: cached from now");

    let before = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let set = store.precedence_set(&imports_first(), "tester").await.unwrap();
    assert_eq!((set.version, set.set_by.as_deref()), (1, Some("tester")));
    let read = store.precedence().await.unwrap();
    assert_eq!((read.version, &read.precedence), (1, &imports_first()));

    // This process: at once. SSO's display name no longer counts.
    let after = store.sso_create(&sso_user("bob", "Bob", "Lee", "bob@example.com"), &actor()).await.unwrap().id;
    assert_eq!(store.person(after).await.unwrap().combined.display_name, None);
    assert_eq!(
        store.person(before).await.unwrap().combined.display_name.map(|d| d.value).as_deref(),
        Some("Ann Lee"),
        "written before: as it was, until the re-derivation"
    );
    // Another process: within a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let there = other.sso_create(&sso_user("cat", "Cat", "Lee", "cat@example.com"), &actor()).await.unwrap().id;
    assert_eq!(store.person(there).await.unwrap().combined.display_name, None);
    assert_eq!(other.precedence().await.unwrap().version, 1);
    assert_eq!(store.precedence().await.unwrap().version, 1, "read again: kept for a second from now");
    let next = other.precedence_set(Precedence::standard(), "tester").await.unwrap();
    assert_eq!(next.version, 2, "numbered after the last, whichever process sets it");

    // A write made at once in this process, whose copy (version 1) is not due to be read again,
    // derives with the version its transaction sees: the re-derivation, which may already have
    // passed Ann, would never come back to a write made with the version before.
    assert_eq!(store.precedence().await.unwrap().version, 1, "this process's copy, a moment old");
    store.sso_replace(before, &sso_user("ann", "Ann", "Lee", "ann@example.com"), None, &actor()).await.unwrap();
    assert_eq!(
        store.person(before).await.unwrap().combined.display_name.map(|d| d.value).as_deref(),
        Some("Ann Lee"),
        "derived with version 2, under which SSO's display name counts again"
    );
    other.close().await;
}

/// The re-derivation: every live person once per version, in chunks, a change only where a
/// value changed; resumed by another holder from the last committed chunk; a person whose new
/// address is someone else's kept as they were; a version set meanwhile starts it over.
pub async fn a_new_precedence_derives_everyone_again_once(store: Store) {
    // Quinn: imported with q@, then SSO (attached), then SSO moves to q2@, releasing q@, which
    // Pat takes. Under imports first Quinn's address would be q@ again: Pat's.
    let quinn = imported_by(&store, "hr", "hr-q", "Quinn", "q@example.com", None).await;
    let attached = store.sso_create(&sso_user("quinn", "Quinn", "Lee", "q@example.com"), &actor()).await.unwrap();
    assert_eq!(attached.id, quinn);
    store.sso_replace(quinn, &sso_user("quinn", "Quinn", "Lee", "q2@example.com"), None, &actor()).await.unwrap();
    let pat = store.sso_create(&sso_user("pat", "Pat", "Lee", "q@example.com"), &actor()).await.unwrap().id;
    // Rob: imported and SSO, the same address in both.
    let rob = imported_by(&store, "hr", "hr-r", "Rob", "r@example.com", None).await;
    assert_eq!(store.sso_create(&sso_user("rob", "Rob", "Lee", "r@example.com"), &actor()).await.unwrap().id, rob);
    let sam = store.sso_create(&sso_user("sam", "Sam", "Lee", "s@example.com"), &actor()).await.unwrap().id;
    let gone = store.sso_create(&sso_user("tom", "Tom", "Lee", "t@example.com"), &actor()).await.unwrap().id;
    store.sso_archive(gone, None, &actor()).await.unwrap();
    let gone_before = store.person(gone).await.unwrap().combined;

    assert!(store.rederive_lease("a", later()).await.unwrap());
    assert_eq!(store.rederive_step("a", 2, later()).await.unwrap(), Rederived::UpToDate { version: 0 });
    store.precedence_set(&imports_first(), "tester").await.unwrap();

    // The pass begins once no writer can still hold version 0.
    let Rederived::Settling { version: 1, at } = store.rederive_step("a", 2, later()).await.unwrap() else {
        panic!("settling first")
    };
    assert!(at > Utc::now() + Duration::seconds(3));
    tokio::time::sleep((at - Utc::now()).to_std().unwrap()).await;
    // Two chunks by `a`, whose lease then runs out (a process killed), and `b` takes over.
    let (mut by_a, mut changed_by_a, mut held_by_a) = (0, 0, 0);
    for _ in 0..2 {
        let Rederived::Chunk(c) = store.rederive_step("a", 2, Utc::now() - Duration::seconds(1)).await.unwrap() else {
            panic!("a chunk")
        };
        assert_eq!((c.version, c.people), (1, 2));
        by_a += c.people;
        changed_by_a += c.changed;
        held_by_a += c.held_back;
    }
    assert!(store.rederive_lease("b", later()).await.unwrap(), "a's lease ran out");
    assert!(
        matches!(store.rederive_step("a", 2, later()).await, Err(identity_store::StoreError::NotFound)),
        "a lost the lease: it writes nothing"
    );
    let (version, by_b) = run_to_end(&store, "b", 2).await;
    assert_eq!(version, 1);
    assert_eq!(by_a + by_b.people, 5, "everyone looked at once");

    for (who, changes) in [(pat, 1), (rob, 1), (sam, 1), (quinn, 0), (gone, 0)] {
        assert_eq!(rederived_changes(&store, who).await, changes, "{who}");
    }
    let p = store.person(pat).await.unwrap().combined;
    assert_eq!(p.display_name, None, "SSO no longer supplies display names");
    assert_eq!(p.email.unwrap().value, Email::parse("q@example.com").unwrap());
    let q = store.person(quinn).await.unwrap().combined;
    assert_eq!(q.email.unwrap().value, Email::parse("q2@example.com").unwrap(), "held back: q@ is Pat's");
    assert!(q.display_name.is_some(), "held back whole");
    let r = store.person(rob).await.unwrap().combined;
    assert_eq!(r.email.as_ref().unwrap().source, Source::Import(identity_core::ServiceName::new("hr").unwrap()));
    assert_eq!(store.person(gone).await.unwrap().combined, gone_before, "archived people keep their profile");
    assert_eq!((changed_by_a + by_b.changed, held_by_a + by_b.held_back), (3, 1), "Pat, Rob, Sam; Quinn");
    assert_eq!(store.rederive_step("b", 2, later()).await.unwrap(), Rederived::UpToDate { version: 1 });

    // Versions 2 and 3 set one after the other mid-way: the pass starts over with the newest.
    store.precedence_set(Precedence::standard(), "tester").await.unwrap();
    let Rederived::Settling { version: 2, at } = store.rederive_step("b", 1, later()).await.unwrap() else {
        panic!("settling first")
    };
    tokio::time::sleep((at - Utc::now()).to_std().unwrap()).await;
    let Rederived::Chunk(c) = store.rederive_step("b", 1, later()).await.unwrap() else { panic!("a chunk") };
    assert_eq!(c.version, 2);
    store.precedence_set(&imports_first(), "tester").await.unwrap();
    let (version, _) = run_to_end(&store, "b", 2).await;
    assert_eq!(version, 3);
    for who in [pat, rob, sam] {
        assert_eq!(store.person(who).await.unwrap().combined.display_name, None, "{who}: derived with version 3");
    }
    store.rederive_release("b").await.unwrap();
}

/// An undo derives both people again with the version in force: the combined profiles the merge
/// recorded are the version of the merge's day's.
pub async fn an_undone_merge_is_derived_with_the_version_in_force(store: Store) {
    let ann = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap().id;
    let other = imported_by(&store, "hr", "1", "Annie", "annie@example.com", None).await;
    let merge = identity_store::NewMerge { survivor: ann, merged: other, reason: "the same person".into() };
    let merged = store.merge(&merge, &actor()).await.unwrap();
    store.precedence_set(&imports_first(), "tester").await.unwrap();

    store.undo_merge(merged.id, &actor()).await.unwrap();
    let ann_now = store.person(ann).await.unwrap().combined;
    assert_eq!(ann_now.display_name, None, "version 1 takes display names from imports only");
    assert_eq!(ann_now.email.map(|e| e.value), Some(Email::parse("ann@example.com").unwrap()));
    let other_now = store.person(other).await.unwrap().combined;
    assert_eq!(
        other_now.email.map(|e| (e.value, e.source)),
        Some((
            Email::parse("annie@example.com").unwrap(),
            Source::Import(identity_core::ServiceName::new("hr").unwrap())
        ))
    );
}

/// An import chunk's new people are locked by nobody, so the re-derivation could pass them
/// before they commit: a chunk that commits after a new version was set is refused
/// (`PrecedenceChanged`, nothing kept) and done again. On SQLite the version cannot be set while
/// the chunk holds the one write lock, and the chunk commits.
pub async fn an_import_chunk_committing_after_a_new_precedence_is_done_again(store: Store, db: &TestDatabase) {
    use identity_store::StoreError;
    let other = Store::connect(&db.url, &PoolConfig { max_connections: Some(2), ..PoolConfig::default() }).unwrap();
    let writes = super::merges::new_person("hr", "hr-1", "Una", "una@example.com", None);
    let user = writes.new_users[0].clone();
    let mut session = store.import_session().await.unwrap();
    session.apply(&writes).await.unwrap();
    let set = tokio::spawn(async move { other.precedence_set(&imports_first(), "tester").await.map(|v| v.version) });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    if set.is_finished() {
        assert!(matches!(session.commit().await, Err(StoreError::PrecedenceChanged)));
        assert!(matches!(store.person(user.id).await, Err(StoreError::NotFound)), "nothing kept");
    } else {
        session.commit().await.unwrap();
        assert!(store.person(user.id).await.is_ok());
    }
    assert_eq!(set.await.unwrap().unwrap(), 1);
}
