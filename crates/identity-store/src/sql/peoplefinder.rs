//! People Finder's profiles (DESIGN.md §7.7): the `peoplefinder` source profile of a person,
//! found by its slug (the link `peoplefinder` → slug). People Finder writes it whole, on a person
//! Staff SSO already provisioned; it counts in the combined profile through precedence.

use identity_core::link::link_key;
use identity_core::precedence::Precedence;
use identity_core::{Source, UserId, UserStatus};
use sqlx::{QueryBuilder, Row};

use super::precedence::{in_force, Cache};
use super::rows::{self, now};
use super::write::{self, Batch, Claim, OnLinked, UserWrite};
use super::{ended, Backend, Conn, Db, DIALECT};
use crate::error::{PeopleFinderRefusal, Result, StoreError, Uniqueness};
use crate::model::{Actor, PeopleFinderWrite, PeopleFinderWritten, StoredProfile};

/// People Finder's write of one person's profile, as the store runs it (owned: on SQLite it
/// waits for the writer task, `commit.rs`).
pub(super) struct PeopleFinderPut {
    pub sso_id: String,
    pub slug: String,
    pub write: PeopleFinderWrite,
    pub create: bool,
    pub actor: Actor,
}

/// Where a write finds the precedence version to derive with.
pub(super) enum Version<'a> {
    /// Read in its transaction once its people are locked: a version set after that reaches
    /// them by the re-derivation, which waits for the lock.
    InForce(&'a Cache),
    /// Read already, with every other writer kept out until the commit (SQLite's writer task).
    Read(&'a Precedence),
}

impl Backend {
    /// Writes the People Finder profile of the person Staff SSO knows as `sso_id` under `slug`:
    /// a new one (`create`: refused with `AlreadyExists(ExternalId)` if the slug is taken or
    /// the person has one already), or a full replacement of the one `slug` names (refused if
    /// it is not theirs). Refused too when the person is not active: People Finder writes only
    /// about people who can sign in.
    pub(crate) async fn peoplefinder_put(
        &self,
        sso_id: &str,
        slug: &str,
        w: &PeopleFinderWrite,
        create: bool,
        actor: &Actor,
    ) -> Result<PeopleFinderWritten> {
        let put = PeopleFinderPut {
            sso_id: sso_id.to_owned(),
            slug: slug.to_owned(),
            write: w.clone(),
            create,
            actor: actor.clone(),
        };
        if DIALECT.combines_writes() {
            return self.commit_peoplefinder(put).await;
        }
        let mut tx = self.begin_write().await?;
        let written = put.run(&mut tx, Version::InForce(&self.precedence)).await;
        ended(tx, written).await
    }
}

/// Who holds a link: the person, their status, and the id as the source spelled it.
struct Holder {
    source: Source,
    user: UserId,
    status: UserStatus,
    external_id: String,
}

/// Finds and locks (in id order) the person Staff SSO knows as `sso_id` and the person holding
/// `slug`, in the statement that finds them: a PUT's lookups and its lock are one round trip.
async fn lock_holders(tx: &mut Conn, sso_id: &str, slug: &str) -> Result<Vec<Holder>> {
    let mut qb = QueryBuilder::<Db>::new(
        "SELECT u.id, u.status, l.source, l.external_id FROM links l JOIN users u ON u.id = l.user_id WHERE ",
    );
    for (i, (source, id)) in [(Source::Sso, sso_id), (Source::PeopleFinder, slug)].iter().enumerate() {
        qb.push(if i == 0 { "(l.source = " } else { " OR (l.source = " }).push_bind(source.to_string());
        qb.push(" AND l.external_key = ").push_bind(link_key(source, id)).push(")");
    }
    qb.push(" ORDER BY u.id").push(DIALECT.for_update_of("u"));
    let mut out = Vec::with_capacity(2);
    for row in qb.build().fetch_all(&mut *tx).await? {
        out.push(Holder {
            source: rows::source(&row, "source")?,
            user: rows::user_id(&row, "id")?,
            status: rows::status(&row, "status")?,
            external_id: row.try_get("external_id")?,
        });
    }
    Ok(out)
}

impl PeopleFinderPut {
    /// Makes the write in `tx`, which the caller commits.
    pub(super) async fn run(&self, tx: &mut Conn, version: Version<'_>) -> Result<PeopleFinderWritten> {
        let Self { sso_id, slug, write: w, create, actor } = self;
        put_in(tx, version, sso_id, slug, w, *create, actor).await
    }
}

async fn put_in(
    tx: &mut Conn,
    version: Version<'_>,
    sso_id: &str,
    slug: &str,
    w: &PeopleFinderWrite,
    create: bool,
    actor: &Actor,
) -> Result<PeopleFinderWritten> {
    let at = now();
    let refused = |why| Err(StoreError::PeopleFinderRefused(why));
    let holders = lock_holders(tx, sso_id, slug).await?;
    let Some(person) = holders.iter().find(|h| h.source == Source::Sso && h.status == UserStatus::Active) else {
        return refused(PeopleFinderRefusal::NoActivePerson);
    };
    if !create {
        match holders.iter().find(|h| h.source == Source::PeopleFinder) {
            None => return refused(PeopleFinderRefusal::NoProfile),
            Some(owner) if owner.user != person.user => return refused(PeopleFinderRefusal::SomeoneElses),
            Some(_) => {}
        }
    }
    let (person, sso_id) = (person.user, person.external_id.clone());
    let in_force_now;
    let precedence = match version {
        Version::InForce(cache) => {
            in_force_now = in_force(tx, cache).await?;
            &in_force_now.precedence
        }
        Version::Read(precedence) => precedence,
    };
    let profiles = write::load_profiles(tx, person).await?;
    let previous = profiles.own.iter().find(|p| p.source == Source::PeopleFinder);
    match (create, previous) {
        (true, Some(_)) => return Err(StoreError::AlreadyExists(Uniqueness::ExternalId)),
        (false, None) => return refused(PeopleFinderRefusal::NoProfile),
        (false, Some(p)) if p.external_id.as_deref() != Some(slug) => return refused(PeopleFinderRefusal::NoProfile),
        _ => {}
    }
    let mut batch = Batch::new(tx);
    if create {
        // A slug someone else holds is refused by the guard, not the primary key.
        batch.guard(&[Claim::Link { source: &Source::PeopleFinder, external_id: slug, except: None }]).await?;
        write::insert_links(&mut batch, &[(&Source::PeopleFinder, slug, person)], OnLinked::Fail, at).await?;
    }
    let user = UserWrite {
        user_id: person,
        status: UserStatus::Active,
        is_new: false,
        status_changed: false,
        existing: &profiles.own,
        absorbed: &profiles.absorbed,
        put: vec![(&Source::PeopleFinder, Some(slug), &w.fields, &w.document)],
    };
    let written = write::write_users(&mut batch, &[user], precedence, &actor.0, at).await?;
    if create {
        batch.finish_guarded().await?;
    } else {
        batch.finish().await?;
    }
    let written = written.into_iter().next();
    let profile = StoredProfile {
        source: Source::PeopleFinder,
        external_id: Some(slug.to_owned()),
        fields: w.fields.clone(),
        attributes: w.document.clone(),
        version: written.as_ref().and_then(|w| w.versions.first().copied()).unwrap_or(1),
        created_at: written.map_or(at, |w| w.created_at),
        updated_at: at,
    };
    Ok(PeopleFinderWritten { profile, sso_id })
}
