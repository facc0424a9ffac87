//! The one path every write takes: a source's profile is stored, the user's combined profile is
//! derived again from all its source profiles, and a change is appended, all on the caller's
//! transaction. Callers add what is theirs (a new user, a status, links) around it.

use chrono::{DateTime, Utc};
use identity_core::change::{ChangeKind, NewChange};
use identity_core::link::link_key;
use identity_core::normalize::name_key;
use identity_core::profile::Field;
use identity_core::{CombinedProfile, ProfileFields, Source, SourceProfile, UserId, UserStatus};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::Row as _;

use super::rows;
use super::Conn;
use crate::error::{Result, StoreError, Uniqueness};
use crate::model::StoredProfile;

pub(super) async fn insert_user(
    conn: &mut Conn,
    id: UserId,
    status: UserStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO users (id, status, created_at, updated_at) VALUES ($1, $2, $3, $3)")
        .bind(id.as_uuid())
        .bind(status.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn set_status(
    conn: &mut Conn,
    id: UserId,
    status: UserStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE users SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(id.as_uuid())
        .bind(status.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

const PROFILE_COLUMNS: &str =
    "source, external_id, first_name, middle_name, last_name, preferred_name, display_name, \
     email, date_of_birth, trn, attributes, version, created_at, updated_at";

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

pub(super) async fn load_profiles(conn: &mut Conn, user_id: UserId) -> Result<Vec<StoredProfile>> {
    let sql =
        format!("SELECT {PROFILE_COLUMNS} FROM source_profiles WHERE user_id = $1 ORDER BY source");
    let found = sqlx::query(&sql)
        .bind(user_id.as_uuid())
        .fetch_all(&mut *conn)
        .await?;
    found.iter().map(stored_profile).collect()
}

/// A source's new profile of a user.
pub(super) struct ProfileWrite<'a> {
    pub user_id: UserId,
    pub source: &'a Source,
    pub external_id: Option<&'a str>,
    pub fields: &'a ProfileFields,
    pub attributes: &'a Value,
}

/// What a profile write did.
pub(super) struct Written {
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub changed: Vec<Field>,
}

/// The user around a profile write: its status after the write, whether it is new, and whether
/// the status changed.
#[derive(Clone, Copy)]
pub(super) struct UserState {
    pub status: UserStatus,
    pub is_new: bool,
    pub status_changed: bool,
}

/// Stores `w`, derives the combined profile again, and appends one change. `existing` are the
/// user's profiles as loaded in this transaction (empty for a new user).
pub(super) async fn write_profile(
    conn: &mut Conn,
    w: &ProfileWrite<'_>,
    existing: &[StoredProfile],
    user: UserState,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Written> {
    let previous = existing.iter().find(|p| &p.source == w.source);
    let changed = match previous {
        Some(p) => p.fields.changed_fields(w.fields),
        None => ProfileFields::default().changed_fields(w.fields),
    };
    let version = previous.map_or(1, |p| p.version + 1);
    let created_at = previous.map_or(now, |p| p.created_at);

    sqlx::query(
        "INSERT INTO source_profiles (user_id, source, external_id, first_name, middle_name, last_name, preferred_name, \
         display_name, email, date_of_birth, trn, attributes, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (user_id, source) DO UPDATE SET external_id = excluded.external_id, first_name = excluded.first_name, \
         middle_name = excluded.middle_name, last_name = excluded.last_name, preferred_name = excluded.preferred_name, \
         display_name = excluded.display_name, email = excluded.email, date_of_birth = excluded.date_of_birth, \
         trn = excluded.trn, attributes = excluded.attributes, version = excluded.version, updated_at = excluded.updated_at",
    )
    .bind(w.user_id.as_uuid())
    .bind(w.source.to_string())
    .bind(w.external_id)
    .bind(w.fields.first_name.as_deref())
    .bind(w.fields.middle_name.as_deref())
    .bind(w.fields.last_name.as_deref())
    .bind(w.fields.preferred_name.as_deref())
    .bind(w.fields.display_name.as_deref())
    .bind(w.fields.email.as_ref().map(|e| e.as_str()))
    .bind(w.fields.date_of_birth.map(|d| d.date()))
    .bind(w.fields.trn.as_ref().map(|t| t.as_str()))
    .bind(Json(w.attributes))
    .bind(version)
    .bind(created_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;

    let mut sources: Vec<SourceProfile> = existing
        .iter()
        .filter(|p| &p.source != w.source)
        .map(|p| SourceProfile {
            source: p.source.clone(),
            fields: p.fields.clone(),
            updated_at: p.updated_at,
        })
        .collect();
    sources.push(SourceProfile {
        source: w.source.clone(),
        fields: w.fields.clone(),
        updated_at: now,
    });
    save_combined(
        conn,
        w.user_id,
        user.status,
        &CombinedProfile::derive(&sources),
        now,
    )
    .await?;

    let kind = if user.is_new {
        Some(ChangeKind::Created)
    } else if user.status == UserStatus::Archived && user.status_changed {
        Some(ChangeKind::Archived)
    } else if user.status_changed {
        Some(ChangeKind::StatusChanged)
    } else if !changed.is_empty() {
        Some(ChangeKind::ProfileUpdated)
    } else {
        None
    };
    if let Some(kind) = kind {
        let change = NewChange {
            user_id: w.user_id,
            source: w.source.clone(),
            actor: actor.to_owned(),
            kind,
            fields: changed.clone(),
            status: user.status,
        };
        append_change(conn, &change, now).await?;
    }
    Ok(Written {
        version,
        created_at,
        changed,
    })
}

async fn save_combined(
    conn: &mut Conn,
    user_id: UserId,
    status: UserStatus,
    c: &CombinedProfile,
    now: DateTime<Utc>,
) -> Result<()> {
    fn src<T>(s: &Option<identity_core::Sourced<T>>) -> Option<String> {
        s.as_ref().map(|s| s.source.to_string())
    }
    let text = |s: &Option<identity_core::Sourced<String>>| s.as_ref().map(|s| s.value.clone());
    // An archived user releases its address, so someone else may use it.
    let email_key = c
        .email
        .as_ref()
        .filter(|_| status.holds_identifiers())
        .map(|e| e.value.key());
    sqlx::query(
        "INSERT INTO combined_profiles (user_id, first_name, first_name_source, middle_name, middle_name_source, \
         last_name, last_name_source, preferred_name, preferred_name_source, display_name, display_name_source, \
         email, email_source, date_of_birth, date_of_birth_source, trn, trn_source, email_key, first_name_key, \
         last_name_key, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 1, $21) \
         ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, first_name_source = excluded.first_name_source, \
         middle_name = excluded.middle_name, middle_name_source = excluded.middle_name_source, \
         last_name = excluded.last_name, last_name_source = excluded.last_name_source, \
         preferred_name = excluded.preferred_name, preferred_name_source = excluded.preferred_name_source, \
         display_name = excluded.display_name, display_name_source = excluded.display_name_source, \
         email = excluded.email, email_source = excluded.email_source, \
         date_of_birth = excluded.date_of_birth, date_of_birth_source = excluded.date_of_birth_source, \
         trn = excluded.trn, trn_source = excluded.trn_source, email_key = excluded.email_key, \
         first_name_key = excluded.first_name_key, last_name_key = excluded.last_name_key, \
         version = combined_profiles.version + 1, updated_at = excluded.updated_at",
    )
    .bind(user_id.as_uuid())
    .bind(text(&c.first_name))
    .bind(src(&c.first_name))
    .bind(text(&c.middle_name))
    .bind(src(&c.middle_name))
    .bind(text(&c.last_name))
    .bind(src(&c.last_name))
    .bind(text(&c.preferred_name))
    .bind(src(&c.preferred_name))
    .bind(text(&c.display_name))
    .bind(src(&c.display_name))
    .bind(c.email.as_ref().map(|e| e.value.as_str().to_owned()))
    .bind(src(&c.email))
    .bind(c.date_of_birth.as_ref().map(|d| d.value.date()))
    .bind(src(&c.date_of_birth))
    .bind(c.trn.as_ref().map(|t| t.value.as_str().to_owned()))
    .bind(src(&c.trn))
    .bind(email_key)
    .bind(c.first_name.as_ref().map(|n| name_key(&n.value)))
    .bind(c.last_name.as_ref().map(|n| name_key(&n.value)))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn append_change(
    conn: &mut Conn,
    change: &NewChange,
    now: DateTime<Utc>,
) -> Result<()> {
    let fields: Vec<&str> = change.fields.iter().map(|f| f.as_str()).collect();
    sqlx::query("INSERT INTO changes (user_id, source, actor, kind, fields, status, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(change.user_id.as_uuid())
        .bind(change.source.to_string())
        .bind(&change.actor)
        .bind(change.kind.as_str())
        .bind(fields.join(","))
        .bind(change.status.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Links (source, external id) to a user. Linking again to the same user is a no-op; an id
/// already linked to someone else is a conflict, decided by the primary key, not by a read.
pub(super) async fn put_link(
    conn: &mut Conn,
    source: &Source,
    external_id: &str,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let key = link_key(source, external_id);
    let inserted = sqlx::query(
        "INSERT INTO links (source, external_key, external_id, user_id, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (source, external_key) DO NOTHING",
    )
    .bind(source.to_string())
    .bind(&key)
    .bind(external_id)
    .bind(user_id.as_uuid())
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(());
    }
    let owner = sqlx::query("SELECT user_id FROM links WHERE source = $1 AND external_key = $2")
        .bind(source.to_string())
        .bind(&key)
        .fetch_one(&mut *conn)
        .await?;
    if rows::user_id(&owner, "user_id")? == user_id {
        Ok(())
    } else {
        Err(StoreError::AlreadyExists(Uniqueness::ExternalId(
            source.clone(),
        )))
    }
}

/// Removes a user's links of one source, or of every source.
pub(super) async fn remove_links(
    conn: &mut Conn,
    user_id: UserId,
    source: Option<&Source>,
) -> Result<()> {
    match source {
        Some(source) => {
            sqlx::query("DELETE FROM links WHERE user_id = $1 AND source = $2")
                .bind(user_id.as_uuid())
                .bind(source.to_string())
                .execute(&mut *conn)
                .await?
        }
        None => {
            sqlx::query("DELETE FROM links WHERE user_id = $1")
                .bind(user_id.as_uuid())
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(())
}

/// Maps a violation of the links key to the source it concerns (the database only says "links").
pub(super) fn for_source(e: StoreError, source: &Source) -> StoreError {
    match e {
        StoreError::AlreadyExists(Uniqueness::ExternalId(_)) => {
            StoreError::AlreadyExists(Uniqueness::ExternalId(source.clone()))
        }
        other => other,
    }
}
