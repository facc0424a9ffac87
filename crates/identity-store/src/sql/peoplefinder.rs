//! People Finder's profiles (DESIGN.md §7.7): the `peoplefinder` source profile of a person,
//! found by its slug (the link `peoplefinder` → slug). People Finder writes it whole, on a person
//! Staff SSO already provisioned; it counts in the combined profile through precedence.

use identity_core::{Source, UserId, UserStatus};

use super::precedence::{in_force, Cache};
use super::rows::now;
use super::write::{self, Batch, Claim, OnLinked, UserWrite};
use super::{Backend, Conn};
use crate::error::{Result, StoreError, Uniqueness};
use crate::model::{Actor, PeopleFinderWrite, StoredProfile};

impl Backend {
    /// Writes `person`'s People Finder profile under `slug`: a new one (`create`: refused with
    /// `AlreadyExists(ExternalId)` if the slug is taken or the person has one already), or a
    /// full replacement of the one `slug` names (`NotFound` if it is not `person`'s). `NotFound`
    /// too when the person is not active: People Finder writes only about people who can sign in.
    pub(crate) async fn peoplefinder_put(
        &self,
        person: UserId,
        slug: &str,
        w: &PeopleFinderWrite,
        create: bool,
        actor: &Actor,
    ) -> Result<StoredProfile> {
        let mut tx = self.begin_write().await?;
        match put_in(&mut tx, &self.precedence, person, slug, w, create, actor).await {
            Ok(stored) => {
                tx.commit().await?;
                Ok(stored)
            }
            Err(e) => {
                // Rolled back now, so that the person's lock goes with it.
                tx.rollback().await?;
                Err(e)
            }
        }
    }
}

async fn put_in(
    tx: &mut Conn,
    cache: &Cache,
    person: UserId,
    slug: &str,
    w: &PeopleFinderWrite,
    create: bool,
    actor: &Actor,
) -> Result<StoredProfile> {
    let at = now();
    let status = write::lock_users(tx, &[person]).await?.get(&person).copied();
    if status != Some(UserStatus::Active) {
        return Err(StoreError::NotFound);
    }
    // Read with the person locked: a version set after this reaches them by the re-derivation,
    // which waits for the lock.
    let precedence = in_force(tx, cache).await?;
    let profiles = write::load_profiles(tx, person).await?;
    let previous = profiles.own.iter().find(|p| p.source == Source::PeopleFinder);
    match (create, previous) {
        (true, Some(_)) => return Err(StoreError::AlreadyExists(Uniqueness::ExternalId)),
        (false, None) => return Err(StoreError::NotFound),
        (false, Some(p)) if p.external_id.as_deref() != Some(slug) => return Err(StoreError::NotFound),
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
    let written = write::write_users(&mut batch, &[user], &precedence.precedence, &actor.0, at).await?;
    if create {
        batch.finish_guarded().await?;
    } else {
        batch.finish().await?;
    }
    let written = written.into_iter().next();
    Ok(StoredProfile {
        source: Source::PeopleFinder,
        external_id: Some(slug.to_owned()),
        fields: w.fields.clone(),
        attributes: w.document.clone(),
        version: written.as_ref().and_then(|w| w.versions.first().copied()).unwrap_or(1),
        created_at: written.map_or(at, |w| w.created_at),
        updated_at: at,
    })
}
