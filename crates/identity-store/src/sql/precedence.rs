//! Precedence as data (DESIGN.md §7.2): each `admin precedence set` stores a version in
//! `precedence_versions`, the highest in force; none stored means the one the project ships
//! (version 0). A write derives with the version its transaction sees ([`in_force`], read
//! once it has locked its people); readers use the process's copy, read again at most once a
//! [`REFRESH`]. Each process keeps the parsed document and loads it again only when the number
//! moves.
//!
//! A new version is followed by a re-derivation of every combined profile, one chunk per
//! transaction under a lease, its place (`precedence_rederive`) moved with the chunk's profiles:
//! stopped anywhere, it resumes where it committed and derives nobody twice. It passes over
//! everyone in id order, locking each chunk's people as writers do: a write that read the
//! version before holds its locks until it commits, and the chunk then reads what it wrote. The
//! pass begins a while after the setting ([`SETTLE`]) for the writes that lock nobody a chunk
//! would wait on (a new person, created by one statement with the process's copy); an import
//! chunk, which may wait long before its commit, checks the version again then.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use identity_core::change::{ChangeKind, NewChange, Origin};
use identity_core::precedence::Precedence;
use identity_core::{CombinedProfile, SourceProfile, UserId};
use sqlx::{QueryBuilder, Row as _};
use uuid::Uuid;

use super::leases::Lease;
use super::rows::{self, corrupt, now};
use super::write::{self, Batch, CombinedRow, Stored};
use super::{Backend, Conn, Db, Row, DIALECT};
use crate::columns::Column;
use crate::error::{Result, StoreError, Uniqueness};
use crate::model::{PrecedenceVersion, Rederived, RederivedChunk};

/// How long a process derives with the version it read before reading again.
const REFRESH: Duration = Duration::from_secs(1);

/// How long after a version's setting a write that locks nobody (a create) may still derive with
/// the version before: its copy is up to [`REFRESH`] old, its statement takes moments, and clocks
/// differ a little between machines. The re-derivation's pass begins after it.
const SETTLE: TimeDelta = TimeDelta::seconds(5);

/// The most people a chunk takes: its reads name them all in one statement, under SQLite's
/// 32,766 bound values.
const MOST_PER_CHUNK: u32 = 30_000;

/// The re-derivation's row in `precedence_rederive`, and its phases.
const REDERIVE: &str = "rederive";
const LEASE: Lease = Lease { table: "precedence_rederive", name: REDERIVE };
const PASS: &str = "pass";
const DONE: &str = "done";

/// This process's copy of the version in force, and when it was last checked.
#[derive(Clone, Default)]
pub(crate) struct Cache(Arc<Mutex<Option<Checked>>>);

/// A version, and when this process last found it still in force.
type Checked = (Instant, Arc<PrecedenceVersion>);

impl Cache {
    fn get(&self) -> Option<Checked> {
        self.0.lock().map_or(None, |c| c.clone())
    }

    /// Keeps `version` unless this process already holds a newer one (two reads racing must not
    /// take it back to an older version).
    fn put(&self, version: Arc<PrecedenceVersion>) {
        if let Ok(mut c) = self.0.lock() {
            if c.as_ref().is_none_or(|(_, held)| held.version <= version.version) {
                *c = Some((Instant::now(), version));
            }
        }
    }

    /// The version held, if it is `newest` (the newest stored; none: the shipped one).
    fn holding(&self, newest: Option<i64>) -> Option<Arc<PrecedenceVersion>> {
        self.get().map(|(_, held)| held).filter(|held| held.version == newest.unwrap_or(0))
    }
}

/// The version in force as `conn`'s transaction sees it: each writer asks once it holds the
/// locks of the people it writes, so that a version set after this reaches them through the
/// re-derivation, which waits for those locks (see the module's comment).
pub(super) async fn in_force(conn: &mut Conn, cache: &Cache) -> Result<Arc<PrecedenceVersion>> {
    let newest: Option<i64> =
        sqlx::query("SELECT max(version) AS v FROM precedence_versions").fetch_one(&mut *conn).await?.try_get("v")?;
    let current = match cache.holding(newest) {
        Some(held) => held,
        None => {
            let row = sqlx::query(&newest_sql()).fetch_optional(&mut *conn).await?;
            newest_of(row.as_ref())?
        }
    };
    cache.put(current.clone());
    Ok(current)
}

const VERSION_COLUMNS: &str = "version, document, set_by, set_at";

fn version_of(row: &Row) -> Result<PrecedenceVersion> {
    let document: String = row.try_get("document")?;
    Ok(PrecedenceVersion {
        version: row.try_get("version")?,
        precedence: Precedence::from_stored_toml(&document).map_err(|e| corrupt("precedence_versions.document", e))?,
        set_by: Some(row.try_get("set_by")?),
        set_at: Some(rows::time(row, "set_at")?),
    })
}

fn shipped() -> PrecedenceVersion {
    PrecedenceVersion { version: 0, precedence: Precedence::standard().clone(), set_by: None, set_at: None }
}

/// The version the newest stored row holds; none stored: the shipped one.
fn newest_of(row: Option<&Row>) -> Result<Arc<PrecedenceVersion>> {
    Ok(Arc::new(row.map_or_else(|| Ok(shipped()), version_of)?))
}

/// The newest stored version's row.
fn newest_sql() -> String {
    format!("SELECT {VERSION_COLUMNS} FROM precedence_versions ORDER BY version DESC LIMIT 1")
}

/// The people of a chunk: their stored combined profiles and whether they hold their address.
const COMBINED_COLUMNS: &str = "user_id, first_name, first_name_source, middle_name, middle_name_source, last_name, \
     last_name_source, preferred_name, preferred_name_source, display_name, display_name_source, email, email_source, \
     date_of_birth, date_of_birth_source, trn, trn_source, details, email_key";

/// What a chunk stored: how many changed, how many were held back because their new address is
/// someone else's (or another's of the chunk), and the changes to append numbered at the commit.
struct Derived {
    changed: u64,
    held_back: u64,
    changes: Vec<(NewChange, DateTime<Utc>)>,
}

/// Derives `ids`' combined profiles again with `precedence` and stores those that changed; their
/// changes are held for [`write::append_numbered_changes`] where the sequencer takes a lock (a
/// change per person of a million: numbered later, each would be written twice).
async fn rederive_people(
    conn: &mut Conn,
    ids: &[UserId],
    precedence: &PrecedenceVersion,
    at: DateTime<Utc>,
) -> Result<Derived> {
    // Locked first, as every writer locks the people it writes: a write to one of them waits
    // for this chunk, or this chunk for it, and neither derives from profiles the other replaced.
    let statuses = write::lock_users(conn, ids).await?;
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {COMBINED_COLUMNS} FROM combined_profiles WHERE "));
    super::push_in(&mut qb, "user_id", Column::Uuid(ids.iter().map(|u| *u.as_uuid()).collect()));
    let mut stored: HashMap<UserId, (CombinedProfile, Option<String>)> = HashMap::with_capacity(ids.len());
    for row in qb.build().fetch_all(&mut *conn).await? {
        stored.insert(rows::user_id(&row, "user_id")?, (super::people::combined(&row)?, row.try_get("email_key")?));
    }
    let profiles = write::load_profiles_of(conn, ids).await?;

    let mut derived = Vec::new();
    for id in ids {
        // Archived and merged people keep the profile they left with (an undo puts a merged
        // person back as it was).
        let Some(status) = statuses.get(id).copied().filter(|s| !s.is_gone()) else { continue };
        let Some((old, old_key)) = stored.remove(id) else { continue };
        let (own, absorbed): (Vec<SourceProfile>, Vec<SourceProfile>) =
            profiles.get(id).map_or_else(Default::default, |p| {
                (p.own.iter().map(From::from).collect(), p.absorbed.iter().map(From::from).collect())
            });
        let combined = CombinedProfile::derive_with(&own, &absorbed, &precedence.precedence);
        let fields = old.changed_fields(&combined);
        if fields.is_empty() {
            continue;
        }
        let key = combined.email.as_ref().filter(|_| status.holds_identifiers()).map(|e| e.value.key());
        let claims = key.filter(|k| old_key.as_ref() != Some(k));
        derived.push((CombinedRow { user_id: *id, status, combined }, fields, claims));
    }

    // A new address must be free: held by nobody else now (even someone this chunk moves off
    // it), and taken by one person of the chunk only.
    let wanted: Vec<String> = derived.iter().filter_map(|(_, _, k)| k.clone()).collect();
    let mut taken: HashSet<String> = HashSet::new();
    if !wanted.is_empty() {
        let mut qb = QueryBuilder::<Db>::new("SELECT email_key FROM combined_profiles WHERE ");
        super::push_in(&mut qb, "email_key", Column::Text(wanted.into_iter().map(Some).collect()));
        for row in qb.build().fetch_all(&mut *conn).await? {
            taken.insert(row.try_get("email_key")?);
        }
    }
    let mut held_back = 0;
    let (mut rows, mut changes) = (Vec::new(), Vec::new());
    for (row, fields, claim) in derived {
        if let Some(key) = claim {
            if !taken.insert(key) {
                held_back += 1;
                continue;
            }
        }
        changes.push(NewChange {
            user_id: row.user_id,
            source: Origin::Precedence,
            actor: format!("precedence:{}", precedence.version),
            kind: ChangeKind::ProfileUpdated,
            fields,
            status: row.status,
        });
        rows.push(row);
    }
    let mut held = Vec::new();
    if !rows.is_empty() {
        let mut batch = Batch::new(conn);
        batch.hold_changes();
        write::save_combined(&mut batch, &rows, Stored::Maybe, at).await?;
        write::append_changes(&mut batch, &changes, at).await?;
        held = batch.finish_holding_changes().await?;
    }
    Ok(Derived { changed: rows.len() as u64, held_back, changes: held })
}

/// The re-derivation's place, locked, while `holder` holds the lease; `NotFound` once it does not.
async fn place(conn: &mut Conn, holder: &str) -> Result<Row> {
    let sql = format!(
        "SELECT version, phase, after_user FROM precedence_rederive WHERE name = $1 AND holder = $2{}",
        DIALECT.for_update()
    );
    sqlx::query(&sql).bind(REDERIVE).bind(holder).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound)
}

async fn move_place(conn: &mut Conn, version: i64, phase: &str, after: Uuid, until: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE precedence_rederive SET version = $2, phase = $3, after_user = $4, lease_until = $5 WHERE name = $1",
    )
    .bind(REDERIVE)
    .bind(version)
    .bind(phase)
    .bind(after)
    .bind(until)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Backend {
    /// The version in force, as this process read it at most a [`REFRESH`] ago.
    pub(crate) async fn precedence(&self) -> Result<Arc<PrecedenceVersion>> {
        let cached = self.precedence.get();
        if let Some((checked, version)) = &cached {
            if checked.elapsed() < REFRESH {
                return Ok(version.clone());
            }
        }
        let newest: Option<i64> = self
            .conns
            .fetch_one(sqlx::query("SELECT max(version) AS v FROM precedence_versions"))
            .await?
            .try_get("v")?;
        let current = match self.precedence.holding(newest) {
            Some(held) => held,
            None => {
                let sql = newest_sql();
                let row = self.conns.fetch_optional(sqlx::query(&sql)).await?;
                newest_of(row.as_ref())?
            }
        };
        self.precedence.put(current.clone());
        Ok(current)
    }

    /// Stores `precedence` as the next version; writers take it up within a second, and the
    /// re-derivation starts on it.
    pub(crate) async fn precedence_set(&self, precedence: &Precedence, by: &str) -> Result<PrecedenceVersion> {
        let mut tx = self.begin_write().await?;
        // Two settings at once take turns on the re-derivation's row, so each gets its own number.
        sqlx::query("INSERT INTO precedence_rederive (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(REDERIVE)
            .execute(&mut *tx)
            .await?;
        let sql = format!("SELECT name FROM precedence_rederive WHERE name = $1{}", DIALECT.for_update());
        sqlx::query(&sql).bind(REDERIVE).fetch_one(&mut *tx).await?;
        let last: Option<i64> =
            sqlx::query("SELECT max(version) AS v FROM precedence_versions").fetch_one(&mut *tx).await?.try_get("v")?;
        let version = PrecedenceVersion {
            version: last.unwrap_or(0) + 1,
            precedence: precedence.clone(),
            set_by: Some(by.to_owned()),
            set_at: Some(now()),
        };
        sqlx::query("INSERT INTO precedence_versions (version, document, set_by, set_at) VALUES ($1, $2, $3, $4)")
            .bind(version.version)
            .bind(precedence.to_toml())
            .bind(by)
            .bind(version.set_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.precedence.put(Arc::new(version.clone()));
        Ok(version)
    }

    /// Takes (or renews) the re-derivation's lease for `holder` until `until`, if nobody else
    /// holds it unexpired.
    pub(crate) async fn rederive_lease(&self, holder: &str, until: DateTime<Utc>) -> Result<bool> {
        LEASE.take(self, holder, until).await
    }

    /// Gives the lease up.
    pub(crate) async fn rederive_release(&self, holder: &str) -> Result<()> {
        LEASE.release(self, holder).await
    }

    /// One step of the re-derivation: up to `limit` people derived again with the version in
    /// force, from where the last step committed, renewing the lease until `until`. A version
    /// set meanwhile starts it over. `NotFound` when `holder` no longer holds the lease. At most
    /// [`MOST_PER_CHUNK`] people, whatever `limit` asks.
    pub(crate) async fn rederive_step(&self, holder: &str, limit: u32, until: DateTime<Utc>) -> Result<Rederived> {
        let limit = limit.min(MOST_PER_CHUNK);
        let mut again = true;
        loop {
            let mut tx = self.begin_write().await?;
            match rederive_in(&mut tx, holder, limit, until, self.horizon.load(Ordering::Relaxed)).await {
                Ok((done, true)) => {
                    tx.commit().await?;
                    return Ok(done);
                }
                Ok((done, false)) => {
                    tx.rollback().await?;
                    return Ok(done);
                }
                Err(e) => {
                    // Rolled back now, so that the chunk's locks go before it is tried again.
                    tx.rollback().await?;
                    match e {
                        // A writer took an address the chunk gives someone between the chunk's
                        // check and its write (PostgreSQL): done again, it finds it taken.
                        StoreError::AlreadyExists(Uniqueness::Email) if again => again = false,
                        e => return Err(e),
                    }
                }
            }
        }
    }
}

/// [`Backend::rederive_step`] on `tx`: what it did, and whether to commit.
async fn rederive_in(
    tx: &mut Conn,
    holder: &str,
    limit: u32,
    until: DateTime<Utc>,
    horizon: i64,
) -> Result<(Rederived, bool)> {
    let row = place(tx, holder).await?;
    let Some(current) = sqlx::query(&newest_sql()).fetch_optional(&mut *tx).await? else {
        return Ok((Rederived::UpToDate { version: 0 }, false));
    };
    let current = version_of(&current)?;
    let at = now();
    let after = if row.try_get::<i64, _>("version")? == current.version {
        if row.try_get::<String, _>("phase")? == DONE {
            return Ok((Rederived::UpToDate { version: current.version }, false));
        }
        row.try_get::<Option<Uuid>, _>("after_user")?.unwrap_or_default()
    } else {
        let begins = current.set_at.unwrap_or(at) + SETTLE;
        if at < begins {
            return Ok((Rederived::Settling { version: current.version, at: begins }, false));
        }
        Uuid::nil()
    };
    let ids: Vec<UserId> =
        sqlx::query("SELECT user_id FROM combined_profiles WHERE user_id > $1 ORDER BY user_id LIMIT $2")
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| rows::user_id(r, "user_id"))
            .collect::<Result<_>>()?;
    let Some(last) = ids.last().copied() else {
        move_place(tx, current.version, DONE, Uuid::nil(), until).await?;
        return Ok((Rederived::UpToDate { version: current.version }, true));
    };
    let derived = rederive_people(tx, &ids, &current, at).await?;
    move_place(tx, current.version, PASS, *last.as_uuid(), until).await?;
    write::append_numbered_changes(tx, horizon, &derived.changes).await?;
    let chunk = RederivedChunk {
        version: current.version,
        people: ids.len() as u64,
        changed: derived.changed,
        held_back: derived.held_back,
    };
    Ok((Rederived::Chunk(chunk), true))
}
