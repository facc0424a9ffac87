//! The one path every write takes: source profiles are stored, each user's combined profile is
//! derived again from all its source profiles, and a change is appended, all on the caller's
//! transaction. Every primitive takes many rows: a SCIM request writes one user, an import chunk
//! hundreds, through the same SQL.
//!
//! Writes are collected in a [`Batch`]. On PostgreSQL its statements go to the server as one
//! statement (each a data-modifying `WITH` part: they touch different rows, and foreign keys are
//! checked at the statement's end, after every part has run), so a SCIM create is one round trip
//! instead of seven. On SQLite, where a statement costs no round trip, each runs as it is added.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use identity_core::change::{ChangeKind, NewChange, Origin};
use identity_core::link::link_key;
use identity_core::normalize::name_key;
use identity_core::precedence::Precedence;
use identity_core::profile::Field;
use identity_core::{CombinedProfile, ProfileFields, Source, SourceProfile, Sourced, UserId, UserStatus};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row as _};

use super::{rows, Conn, Db, DIALECT};
use crate::columns::{Column, Columns};
use crate::error::{Result, StoreError, Uniqueness};
use crate::model::StoredProfile;

/// Rows per multi-row statement: under both backends' bound-parameter limits (SQLite's is
/// 32,766) at 23 columns.
pub(super) const BATCH: usize = 500;

/// Bound values a merged PostgreSQL statement may carry before it is sent (the protocol's limit
/// is 65,535).
const MERGED_BINDS: usize = 30_000;

/// Writes on their way to the database; see the module's comment. Call [`Batch::finish`], or
/// [`Batch::finish_guarded`] after [`Batch::guard`].
pub(super) struct Batch<'c> {
    conn: &'c mut Conn,
    statement: Option<QueryBuilder<'static, Db>>,
    parts: usize,
    binds: usize,
    guard: Guard,
    /// Changes held back to be written numbered, last (see [`Batch::hold_changes`]).
    held: Option<Vec<(NewChange, DateTime<Utc>)>>,
}

/// Whether the batch's writes wait on a check that the identifiers they claim are free.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Guard {
    None,
    /// PostgreSQL: the check is the statement's `guard` part, and every write is conditional
    /// on it.
    InStatement,
    /// SQLite: the check ran; what it found taken, if anything (then nothing more is written).
    Ran(Option<Uniqueness>),
}

/// What each write of a guarded batch adds to its `WHERE`: the guard found nothing taken.
const GUARD_FREE: &str = "(SELECT taken FROM guard) IS NULL";

/// An identifier a guard checks is free, with the users allowed to hold it already.
pub(super) enum Claim<'a> {
    /// A link (source, external id) held by a user other than `except`.
    Link { source: &'a Source, external_id: &'a str, except: Option<UserId> },
    /// An email address held by a live user other than `except`.
    Email { key: String, except: Option<UserId> },
}

impl<'c> Batch<'c> {
    pub(super) fn new(conn: &'c mut Conn) -> Self {
        Self { conn, statement: None, parts: 0, binds: 0, guard: Guard::None, held: None }
    }

    /// Holds this batch's changes back, for [`Batch::finish_holding_changes`] to return, where
    /// the backend's sequencer takes a lock (on SQLite the id is the number, and the changes are
    /// written as usual). See [`append_numbered_changes`].
    pub(super) fn hold_changes(&mut self) {
        if DIALECT.sequencer().claim.is_some() {
            self.held = Some(Vec::new());
        }
    }

    /// Makes every write added after this one happen only if none of `claims` is held by
    /// someone else, without letting a unique constraint fail: a failed constraint is an error
    /// PostgreSQL logs with the key, and the keys here are email addresses and SSO ids. (Two
    /// writers racing for the same identifier can still meet the constraint; the guard spares
    /// the log every conflict with what was already committed.) Call first, on a fresh batch.
    pub(super) async fn guard(&mut self, claims: &[Claim<'_>]) -> Result<()> {
        if claims.is_empty() {
            return Ok(());
        }
        let mut qb = QueryBuilder::<Db>::new(if DIALECT.merges_statements() { "WITH guard AS (" } else { "" });
        qb.push("SELECT CASE");
        for claim in claims {
            qb.push(" WHEN EXISTS (SELECT 1 FROM ");
            let (except, taken) = match claim {
                Claim::Link { source, external_id, except } => {
                    qb.push("links WHERE source = ").push_bind(source.to_string());
                    qb.push(" AND external_key = ").push_bind(link_key(source, external_id));
                    (except, "external_id")
                }
                Claim::Email { key, except } => {
                    qb.push("combined_profiles WHERE email_key = ").push_bind(key.clone());
                    (except, "email")
                }
            };
            if let Some(id) = except {
                qb.push(" AND user_id <> ").push_bind(*id.as_uuid());
            }
            qb.push(format!(") THEN '{taken}'"));
        }
        qb.push(" END AS taken");
        if DIALECT.merges_statements() {
            qb.push(")");
            self.statement = Some(qb);
            self.parts = 1;
            self.guard = Guard::InStatement;
        } else {
            let taken: Option<String> = qb.build().fetch_one(&mut *self.conn).await?.try_get("taken")?;
            self.guard = Guard::Ran(taken.as_deref().map(uniqueness));
        }
        Ok(())
    }

    /// The builder to push the next statement into; then call [`Batch::end`].
    fn begin(&mut self) -> &mut QueryBuilder<'static, Db> {
        let merge = DIALECT.merges_statements();
        let parts = self.parts;
        let qb = self.statement.get_or_insert_with(|| QueryBuilder::new(if merge { "WITH " } else { "" }));
        if merge {
            if parts > 0 {
                qb.push(", ");
            }
            qb.push(format!("w{parts} AS ("));
        }
        qb
    }

    /// Ends the statement begun, which bound `binds` values.
    async fn end(&mut self, binds: usize) -> Result<()> {
        if !DIALECT.merges_statements() {
            if matches!(self.guard, Guard::Ran(Some(_))) {
                // Something is taken: this write is not made.
                self.statement = None;
                return Ok(());
            }
            return self.send().await;
        }
        if let Some(qb) = &mut self.statement {
            qb.push(")");
        }
        self.parts += 1;
        self.binds += binds;
        // A guarded statement goes whole: its writes hang on its first part.
        if self.binds > MERGED_BINDS && self.guard == Guard::None {
            self.send().await?;
        }
        Ok(())
    }

    /// Whether the writes are guarded in the statement (each must then test [`GUARD_FREE`]).
    fn guarded(&self) -> bool {
        self.guard == Guard::InStatement
    }

    async fn send(&mut self) -> Result<()> {
        if let Some(mut qb) = self.statement.take() {
            if DIALECT.merges_statements() {
                qb.push(" SELECT 1");
            }
            qb.build().execute(&mut *self.conn).await?;
        }
        self.parts = 0;
        self.binds = 0;
        Ok(())
    }

    /// Sends what is left (changes held back too, for the sequencer to number).
    pub(super) async fn finish(mut self) -> Result<()> {
        if let Some(held) = self.held.take() {
            append_changes_at(&mut self, &held).await?;
        }
        self.send().await
    }

    /// Sends what is left, and returns the changes held back by [`Batch::hold_changes`].
    pub(super) async fn finish_holding_changes(mut self) -> Result<Vec<(NewChange, DateTime<Utc>)>> {
        self.send().await?;
        Ok(self.held.take().unwrap_or_default())
    }

    /// Sends what is left of a guarded batch; `AlreadyExists` (and nothing written) if the guard
    /// found an identifier taken.
    pub(super) async fn finish_guarded(mut self) -> Result<()> {
        let taken = match std::mem::replace(&mut self.guard, Guard::None) {
            Guard::InStatement => match self.statement.take() {
                Some(mut qb) => {
                    qb.push(" SELECT taken FROM guard");
                    qb.build().fetch_one(&mut *self.conn).await?.try_get::<Option<String>, _>("taken")?
                }
                None => None,
            },
            Guard::Ran(taken) => return taken.map_or(Ok(()), |u| Err(StoreError::AlreadyExists(u))),
            Guard::None => return self.send().await,
        };
        self.parts = 0;
        self.binds = 0;
        taken.map_or(Ok(()), |t| Err(StoreError::AlreadyExists(uniqueness(&t))))
    }
}

fn uniqueness(taken: &str) -> Uniqueness {
    if taken == "email" {
        Uniqueness::Email
    } else {
        Uniqueness::ExternalId
    }
}

/// Rows for an INSERT (see `columns.rs`), in a guarded batch only if the guard found nothing
/// taken. Returns the values bound.
fn push_rows(qb: &mut QueryBuilder<'static, Db>, guarded: bool, columns: Columns) -> usize {
    let binds = if DIALECT.merges_statements() { columns.0.len() } else { columns.0.len() * columns.rows() };
    super::push_columns(qb, columns, if guarded { GUARD_FREE } else { "true" });
    binds
}

/// A details document as stored: `{}` when empty (its fields are all optional).
fn details_json(details: &impl serde::Serialize) -> Value {
    serde_json::to_value(details).unwrap_or_else(|_| Value::Object(serde_json::Map::new()))
}

fn texts<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Column {
    Column::Text(values.map(|v| v.map(str::to_owned)).collect())
}

/// The condition an UPDATE or DELETE of a guarded batch adds.
fn and_free(qb: &mut QueryBuilder<'static, Db>, guarded: bool) {
    if guarded {
        qb.push(format!(" AND {GUARD_FREE}"));
    }
}

pub(super) async fn insert_users(
    batch: &mut Batch<'_>,
    users: &[(UserId, UserStatus)],
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in users.chunks(BATCH) {
        let guarded = batch.guarded();
        let qb = batch.begin();
        qb.push("INSERT INTO users (id, status, created_at, updated_at) ");
        let binds = push_rows(
            qb,
            guarded,
            Columns(vec![
                Column::Uuid(chunk.iter().map(|(id, _)| *id.as_uuid()).collect()),
                texts(chunk.iter().map(|(_, status)| Some(status.as_str()))),
                Column::Time(vec![now; chunk.len()]),
                Column::Time(vec![now; chunk.len()]),
            ]),
        );
        batch.end(binds).await?;
    }
    Ok(())
}

pub(super) async fn set_status(
    batch: &mut Batch<'_>,
    id: UserId,
    status: UserStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    let guarded = batch.guarded();
    let qb = batch.begin();
    qb.push("UPDATE users SET status = ").push_bind(status.as_str());
    qb.push(", updated_at = ").push_bind(now).push(" WHERE id = ").push_bind(*id.as_uuid());
    and_free(qb, guarded);
    batch.end(3).await
}

pub(super) const PROFILE_COLUMNS: &str =
    "user_id, source, external_id, first_name, middle_name, last_name, preferred_name, \
     display_name, email, date_of_birth, trn, details, attributes, version, created_at, updated_at";

pub(super) fn stored_profile(row: &super::Row) -> Result<StoredProfile> {
    Ok(StoredProfile {
        source: rows::source(row, "source")?,
        external_id: row.try_get("external_id")?,
        fields: rows::profile_fields(row)?,
        attributes: row.try_get::<Json<Value>, _>("attributes")?.0,
        version: row.try_get("version")?,
        created_at: rows::time(row, "created_at")?,
        updated_at: rows::time(row, "updated_at")?,
    })
}

/// A person's source profiles: its own, and those of the people merged into it, which stay with
/// them and count in its combined profile (in rank order: see `CombinedProfile::derive_merged`).
#[derive(Debug, Default)]
pub(super) struct Profiles {
    pub own: Vec<StoredProfile>,
    pub absorbed: Vec<StoredProfile>,
    /// The merged person each of `absorbed` belongs to.
    pub absorbed_from: Vec<UserId>,
}

pub(super) async fn load_profiles(conn: &mut Conn, user_id: UserId) -> Result<Profiles> {
    Ok(load_profiles_of(conn, &[user_id]).await?.remove(&user_id).unwrap_or_default())
}

/// The profiles of many users, by user; one statement per [`BATCH`] users.
pub(super) async fn load_profiles_of(conn: &mut Conn, users: &[UserId]) -> Result<HashMap<UserId, Profiles>> {
    let mut out: HashMap<UserId, Profiles> = HashMap::new();
    for chunk in users.chunks(BATCH) {
        let ids = || Column::Uuid(chunk.iter().map(|id| *id.as_uuid()).collect());
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {PROFILE_COLUMNS}, user_id AS owner, 0 AS absorbed, NULL AS merged_at FROM source_profiles WHERE "
        ));
        super::push_in(&mut qb, "user_id", ids());
        // Absorbed profiles come in rank order: the person merged last first (a merge sets the
        // merged person's `updated_at`; re-pointing an earlier one does not), each newest first.
        qb.push(format!(
            " UNION ALL SELECT {PROFILE_COLUMNS}, \
             (SELECT merged_into FROM users WHERE users.id = source_profiles.user_id) AS owner, 1 AS absorbed, \
             (SELECT updated_at FROM users WHERE users.id = source_profiles.user_id) AS merged_at \
             FROM source_profiles WHERE user_id IN (SELECT id FROM users WHERE "
        ));
        super::push_in(&mut qb, "merged_into", ids());
        qb.push(") ORDER BY absorbed, merged_at DESC, updated_at DESC, source");
        for row in qb.build().fetch_all(&mut *conn).await? {
            let profiles = out.entry(rows::user_id(&row, "owner")?).or_default();
            if row.try_get::<i32, _>("absorbed")? == 0 {
                profiles.own.push(stored_profile(&row)?);
            } else {
                profiles.absorbed.push(stored_profile(&row)?);
                profiles.absorbed_from.push(rows::user_id(&row, "user_id")?);
            }
        }
    }
    Ok(out)
}

/// A source's profile of a user, as it is to be stored.
pub(super) struct ProfileRow<'a> {
    pub user_id: UserId,
    pub source: &'a Source,
    pub external_id: Option<&'a str>,
    pub fields: &'a ProfileFields,
    pub attributes: &'a Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

/// Whether rows being written may already be stored. The profiles and combined profile of a user
/// that the same write creates cannot be, and a plain `INSERT` costs PostgreSQL less than an
/// upsert: no probe of the conflict index before the row goes in, and no speculative insertion
/// to confirm after it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stored {
    Never,
    Maybe,
}

pub(super) async fn put_profiles(
    batch: &mut Batch<'_>,
    profiles: &[ProfileRow<'_>],
    stored: Stored,
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in profiles.chunks(BATCH) {
        let guarded = batch.guarded();
        let qb = batch.begin();
        qb.push(format!("INSERT INTO source_profiles ({PROFILE_COLUMNS}) "));
        let fields = |f: fn(&ProfileFields) -> Option<&str>| texts(chunk.iter().map(|p| f(p.fields)));
        let binds = push_rows(
            qb,
            guarded,
            Columns(vec![
                Column::Uuid(chunk.iter().map(|p| *p.user_id.as_uuid()).collect()),
                Column::Text(chunk.iter().map(|p| Some(p.source.to_string())).collect()),
                texts(chunk.iter().map(|p| p.external_id)),
                fields(|f| f.first_name.as_deref()),
                fields(|f| f.middle_name.as_deref()),
                fields(|f| f.last_name.as_deref()),
                fields(|f| f.preferred_name.as_deref()),
                fields(|f| f.display_name.as_deref()),
                fields(|f| f.email.as_ref().map(|e| e.as_str())),
                Column::Date(chunk.iter().map(|p| p.fields.date_of_birth.map(|d| d.date())).collect()),
                fields(|f| f.trn.as_ref().map(|t| t.as_str())),
                Column::Json(chunk.iter().map(|p| details_json(&p.fields.details)).collect()),
                Column::Json(chunk.iter().map(|p| p.attributes.clone()).collect()),
                Column::Int(chunk.iter().map(|p| p.version).collect()),
                Column::Time(chunk.iter().map(|p| p.created_at).collect()),
                Column::Time(vec![now; chunk.len()]),
            ]),
        );
        if stored == Stored::Maybe {
            qb.push(
                " ON CONFLICT (user_id, source) DO UPDATE SET external_id = excluded.external_id, \
             first_name = excluded.first_name, middle_name = excluded.middle_name, last_name = excluded.last_name, \
             preferred_name = excluded.preferred_name, display_name = excluded.display_name, email = excluded.email, \
             date_of_birth = excluded.date_of_birth, trn = excluded.trn, details = excluded.details, \
             attributes = excluded.attributes, version = excluded.version, updated_at = excluded.updated_at",
            );
        }
        batch.end(binds).await?;
    }
    Ok(())
}

/// A user's combined profile as it is to be stored, with the status that decides whether the
/// user holds its email address.
pub(super) struct CombinedRow {
    pub user_id: UserId,
    pub status: UserStatus,
    pub combined: CombinedProfile,
}

pub(super) async fn save_combined(
    batch: &mut Batch<'_>,
    rows: &[CombinedRow],
    stored: Stored,
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in rows.chunks(BATCH) {
        let guarded = batch.guarded();
        let qb = batch.begin();
        qb.push(
            "INSERT INTO combined_profiles (user_id, first_name, first_name_source, middle_name, middle_name_source, \
             last_name, last_name_source, preferred_name, preferred_name_source, display_name, display_name_source, \
             email, email_source, date_of_birth, date_of_birth_source, trn, trn_source, details, email_key, \
             first_name_key, last_name_key, version, updated_at) ",
        );
        let value = |f: fn(&CombinedProfile) -> &Option<Sourced<String>>| {
            texts(chunk.iter().map(|r| f(&r.combined).as_ref().map(|s| s.value.as_str())))
        };
        let source = |f: fn(&CombinedProfile) -> Option<&Source>| {
            Column::Text(chunk.iter().map(|r| f(&r.combined).map(Source::to_string)).collect())
        };
        let binds = push_rows(
            qb,
            guarded,
            Columns(vec![
                Column::Uuid(chunk.iter().map(|r| *r.user_id.as_uuid()).collect()),
                value(|c| &c.first_name),
                source(|c| c.first_name.as_ref().map(|s| &s.source)),
                value(|c| &c.middle_name),
                source(|c| c.middle_name.as_ref().map(|s| &s.source)),
                value(|c| &c.last_name),
                source(|c| c.last_name.as_ref().map(|s| &s.source)),
                value(|c| &c.preferred_name),
                source(|c| c.preferred_name.as_ref().map(|s| &s.source)),
                value(|c| &c.display_name),
                source(|c| c.display_name.as_ref().map(|s| &s.source)),
                texts(chunk.iter().map(|r| r.combined.email.as_ref().map(|e| e.value.as_str()))),
                source(|c| c.email.as_ref().map(|s| &s.source)),
                Column::Date(chunk.iter().map(|r| r.combined.date_of_birth.as_ref().map(|d| d.value.date())).collect()),
                source(|c| c.date_of_birth.as_ref().map(|s| &s.source)),
                texts(chunk.iter().map(|r| r.combined.trn.as_ref().map(|t| t.value.as_str()))),
                source(|c| c.trn.as_ref().map(|s| &s.source)),
                Column::Json(chunk.iter().map(|r| details_json(&r.combined.details)).collect()),
                // An archived user releases its address, so someone else may use it.
                Column::Text(
                    chunk
                        .iter()
                        .map(|r| {
                            r.combined.email.as_ref().filter(|_| r.status.holds_identifiers()).map(|e| e.value.key())
                        })
                        .collect(),
                ),
                Column::Text(
                    chunk.iter().map(|r| r.combined.first_name.as_ref().map(|n| name_key(&n.value))).collect(),
                ),
                Column::Text(chunk.iter().map(|r| r.combined.last_name.as_ref().map(|n| name_key(&n.value))).collect()),
                Column::Int(vec![1; chunk.len()]),
                Column::Time(vec![now; chunk.len()]),
            ]),
        );
        if stored == Stored::Maybe {
            qb.push(
                " ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, \
             first_name_source = excluded.first_name_source, middle_name = excluded.middle_name, \
             middle_name_source = excluded.middle_name_source, last_name = excluded.last_name, \
             last_name_source = excluded.last_name_source, preferred_name = excluded.preferred_name, \
             preferred_name_source = excluded.preferred_name_source, display_name = excluded.display_name, \
             display_name_source = excluded.display_name_source, email = excluded.email, \
             email_source = excluded.email_source, date_of_birth = excluded.date_of_birth, \
             date_of_birth_source = excluded.date_of_birth_source, trn = excluded.trn, trn_source = excluded.trn_source, \
             details = excluded.details, email_key = excluded.email_key, first_name_key = excluded.first_name_key, \
             last_name_key = excluded.last_name_key, version = combined_profiles.version + 1, \
             updated_at = excluded.updated_at",
            );
        }
        batch.end(binds).await?;
    }
    Ok(())
}

const CHANGE_COLUMNS: &str = "user_id, source, actor, kind, fields, status, at";

fn change_columns(changes: &[(NewChange, DateTime<Utc>)]) -> Columns {
    Columns(vec![
        Column::Uuid(changes.iter().map(|(c, _)| *c.user_id.as_uuid()).collect()),
        Column::Text(changes.iter().map(|(c, _)| Some(c.source.to_string())).collect()),
        texts(changes.iter().map(|(c, _)| Some(c.actor.as_str()))),
        texts(changes.iter().map(|(c, _)| Some(c.kind.as_str()))),
        Column::Text(
            changes
                .iter()
                .map(|(c, _)| Some(c.fields.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(",")))
                .collect(),
        ),
        texts(changes.iter().map(|(c, _)| Some(c.status.as_str()))),
        Column::Time(changes.iter().map(|(_, at)| *at).collect()),
    ])
}

pub(super) async fn append_changes(batch: &mut Batch<'_>, changes: &[NewChange], now: DateTime<Utc>) -> Result<()> {
    if let Some(held) = &mut batch.held {
        held.extend(changes.iter().cloned().map(|c| (c, now)));
        return Ok(());
    }
    let changes: Vec<(NewChange, DateTime<Utc>)> = changes.iter().cloned().map(|c| (c, now)).collect();
    append_changes_at(batch, &changes).await
}

async fn append_changes_at(batch: &mut Batch<'_>, changes: &[(NewChange, DateTime<Utc>)]) -> Result<()> {
    for chunk in changes.chunks(BATCH) {
        let guarded = batch.guarded();
        let qb = batch.begin();
        qb.push(format!("INSERT INTO changes ({CHANGE_COLUMNS}) "));
        let binds = push_rows(qb, guarded, change_columns(chunk));
        batch.end(binds).await?;
    }
    Ok(())
}

/// Writes changes numbered, in their order, as the sequencer would number them once visible:
/// under the sequencer's lock, which the caller's transaction holds until it commits (call it
/// last, just before the commit). First it numbers, as the sequencer would, the changes other
/// writers committed that wait for the sequencer (from `horizon`, see `Dialect::sequencer`), so
/// every change committed before this one is numbered before it: a consumer never reads a
/// person linked before reading them created. Rows so numbered become visible before any the
/// sequencer numbers after them, and the sequencer never updates them: for an import chunk that
/// saves rewriting every change row and its index entries a second time (BENCHMARKS.md). Only
/// where the sequencer takes a lock (see [`Batch::hold_changes`]).
pub(super) async fn append_numbered_changes(
    conn: &mut Conn,
    horizon: i64,
    changes: &[(NewChange, DateTime<Utc>)],
) -> Result<()> {
    let sequencer = DIALECT.sequencer();
    let Some(claim) = sequencer.claim else { return Ok(()) };
    if changes.is_empty() {
        return Ok(());
    }
    sqlx::query(claim).execute(&mut *conn).await?;
    while sqlx::query(sequencer.number).bind(horizon).execute(&mut *conn).await?.rows_affected()
        >= super::changes::SEQUENCE_BATCH
    {}
    for chunk in changes.chunks(BATCH) {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "INSERT INTO changes ({CHANGE_COLUMNS}, seq) SELECT v.*, nextval('change_seq') FROM ("
        ));
        push_rows(&mut qb, false, change_columns(chunk));
        qb.push(") AS v");
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// What a link insert does when the (source, external id) is already linked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OnLinked {
    /// Fail with `AlreadyExists`, whoever holds it.
    Fail,
    /// Keep the existing link.
    Keep,
}

/// Links (source, external id) → user; uniqueness is the primary key's, never a read's.
pub(super) async fn insert_links(
    batch: &mut Batch<'_>,
    links: &[(&Source, &str, UserId)],
    on_linked: OnLinked,
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in links.chunks(BATCH) {
        let guarded = batch.guarded();
        let qb = batch.begin();
        qb.push("INSERT INTO links (source, external_key, external_id, user_id, created_at) ");
        let binds = push_rows(
            qb,
            guarded,
            Columns(vec![
                Column::Text(chunk.iter().map(|(source, ..)| Some(source.to_string())).collect()),
                Column::Text(chunk.iter().map(|(source, id, _)| Some(link_key(source, id))).collect()),
                texts(chunk.iter().map(|(_, id, _)| Some(*id))),
                Column::Uuid(chunk.iter().map(|(.., user)| *user.as_uuid()).collect()),
                Column::Time(vec![now; chunk.len()]),
            ]),
        );
        if on_linked == OnLinked::Keep {
            qb.push(" ON CONFLICT (source, external_key) DO NOTHING");
        }
        batch.end(binds).await?;
    }
    Ok(())
}

/// Removes a user's link of `source` with this external id. Only that one: a survivor of a merge
/// also holds the links the merged person had, of the same source.
pub(super) async fn remove_link(
    batch: &mut Batch<'_>,
    user_id: UserId,
    source: &Source,
    external_id: &str,
) -> Result<()> {
    let guarded = batch.guarded();
    let qb = batch.begin();
    qb.push("DELETE FROM links WHERE user_id = ").push_bind(*user_id.as_uuid());
    qb.push(" AND source = ").push_bind(source.to_string());
    qb.push(" AND external_key = ").push_bind(link_key(source, external_id));
    and_free(qb, guarded);
    batch.end(3).await
}

/// Marks users' combined profiles as changed (a new link shows in what consumers read).
pub(super) async fn touch_combined(batch: &mut Batch<'_>, users: &[UserId], now: DateTime<Utc>) -> Result<()> {
    for chunk in users.chunks(BATCH) {
        let guarded = batch.guarded();
        let qb = batch.begin();
        qb.push("UPDATE combined_profiles SET version = version + 1, updated_at = ").push_bind(now);
        qb.push(" WHERE ");
        super::push_in(qb, "user_id", Column::Uuid(chunk.iter().map(|id| *id.as_uuid()).collect()));
        and_free(qb, guarded);
        batch.end(if DIALECT.merges_statements() { 2 } else { chunk.len() + 1 }).await?;
    }
    Ok(())
}

/// Respells a user's link of a source whose key is unchanged (a `userName` whose case changed).
pub(super) async fn respell_link(
    batch: &mut Batch<'_>,
    source: &Source,
    external_id: &str,
    user_id: UserId,
) -> Result<()> {
    let guarded = batch.guarded();
    let qb = batch.begin();
    qb.push("UPDATE links SET external_id = ").push_bind(external_id.to_owned());
    qb.push(" WHERE source = ").push_bind(source.to_string()).push(" AND user_id = ").push_bind(*user_id.as_uuid());
    qb.push(" AND external_key = ").push_bind(link_key(source, external_id));
    and_free(qb, guarded);
    batch.end(4).await
}

/// One user's new profiles from one write, with what the user already had.
#[derive(Clone)]
pub(super) struct UserWrite<'a> {
    pub user_id: UserId,
    pub status: UserStatus,
    /// Created by this write: none of its rows is stored yet.
    pub is_new: bool,
    pub status_changed: bool,
    /// The profiles stored before this write (empty for a new user).
    pub existing: &'a [StoredProfile],
    /// The profiles of the people merged into this one: never written here, but part of its
    /// combined profile.
    pub absorbed: &'a [StoredProfile],
    /// The profiles this write puts, with their external ids and documents.
    pub put: Vec<(&'a Source, Option<&'a str>, &'a ProfileFields, &'a Value)>,
}

/// What a write did to one user.
pub(super) struct Written {
    /// The version of each profile put, in `put` order.
    pub versions: Vec<i64>,
    pub created_at: DateTime<Utc>,
}

/// Stores the profiles of many users, derives their combined profiles again, and appends one
/// change per user and source written (only where something changed).
pub(super) async fn write_users(
    batch: &mut Batch<'_>,
    writes: &[UserWrite<'_>],
    precedence: &Precedence,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Written>> {
    // Rows of users this write creates, then rows of users that exist: see `Stored`.
    let (mut profile_rows, mut old_profile_rows) = (Vec::new(), Vec::new());
    let (mut combined_rows, mut old_combined_rows) = (Vec::new(), Vec::new());
    let mut changes = Vec::new();
    let mut written = Vec::with_capacity(writes.len());
    for w in writes {
        let mut versions = Vec::with_capacity(w.put.len());
        let mut created_at = now;
        for (i, (source, external_id, fields, attributes)) in w.put.iter().enumerate() {
            let previous = w.existing.iter().find(|p| &p.source == *source);
            let changed = previous
                .map_or_else(|| ProfileFields::default().changed_fields(fields), |p| p.fields.changed_fields(fields));
            let version = previous.map_or(1, |p| p.version + 1);
            if let Some(p) = previous {
                created_at = p.created_at;
            }
            versions.push(version);
            let rows = if w.is_new { &mut profile_rows } else { &mut old_profile_rows };
            rows.push(ProfileRow {
                user_id: w.user_id,
                source,
                external_id: *external_id,
                fields,
                attributes,
                version,
                created_at: previous.map_or(now, |p| p.created_at),
            });
            // A source's id for the user that changed (SCIM renamed the `userName`), or a source
            // that is new to the user, is a change even when no field is: readers keyed by that id
            // (sso-profile) follow the feed.
            let relinked = previous.is_none_or(|p| p.external_id.as_deref() != *external_id);
            // A new user is created once, by its first profile; the others update it.
            if let Some(kind) = change_kind(w.is_new && i == 0, w, &changed, relinked) {
                changes.push(NewChange {
                    user_id: w.user_id,
                    source: Origin::Source((*source).clone()),
                    actor: actor.to_owned(),
                    kind,
                    fields: changed,
                    status: w.status,
                });
            }
        }
        let mut sources: Vec<SourceProfile> = w
            .existing
            .iter()
            .filter(|p| !w.put.iter().any(|(s, ..)| *s == &p.source))
            .map(SourceProfile::from)
            .collect();
        sources.extend(w.put.iter().map(|(source, _, fields, _)| SourceProfile {
            source: (*source).clone(),
            fields: (*fields).clone(),
            updated_at: now,
        }));
        let absorbed: Vec<SourceProfile> = w.absorbed.iter().map(SourceProfile::from).collect();
        let combined = CombinedProfile::derive_with(&sources, &absorbed, precedence);
        let rows = if w.is_new { &mut combined_rows } else { &mut old_combined_rows };
        rows.push(CombinedRow { user_id: w.user_id, status: w.status, combined });
        written.push(Written { versions, created_at });
    }
    put_profiles(batch, &profile_rows, Stored::Never, now).await?;
    put_profiles(batch, &old_profile_rows, Stored::Maybe, now).await?;
    save_combined(batch, &combined_rows, Stored::Never, now).await?;
    save_combined(batch, &old_combined_rows, Stored::Maybe, now).await?;
    append_changes(batch, &changes, now).await?;
    Ok(written)
}

fn change_kind(creates: bool, w: &UserWrite<'_>, changed: &[Field], relinked: bool) -> Option<ChangeKind> {
    if creates {
        Some(ChangeKind::Created)
    } else if w.status == UserStatus::Archived && w.status_changed {
        Some(ChangeKind::Archived)
    } else if w.status_changed {
        Some(ChangeKind::StatusChanged)
    } else if !changed.is_empty() {
        Some(ChangeKind::ProfileUpdated)
    } else if relinked {
        Some(ChangeKind::Linked)
    } else {
        None
    }
}

/// Locks users (in id order, so two writers never wait on each other in a circle) and reads
/// their statuses.
pub(super) async fn lock_users(conn: &mut Conn, ids: &[UserId]) -> Result<HashMap<UserId, UserStatus>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(BATCH) {
        let mut qb = QueryBuilder::<Db>::new("SELECT id, status FROM users WHERE ");
        super::push_in(&mut qb, "id", Column::Uuid(chunk.iter().map(|u| *u.as_uuid()).collect()));
        qb.push(" ORDER BY id").push(DIALECT.for_update());
        for row in qb.build().fetch_all(&mut *conn).await? {
            out.insert(rows::user_id(&row, "id")?, rows::status(&row, "status")?);
        }
    }
    Ok(out)
}
