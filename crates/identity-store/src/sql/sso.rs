//! SCIM's users: a user and its `sso` profile. Writes touch only the `sso` profile, its link
//! (the `userName`) and the user's status.

use chrono::{DateTime, Utc};
use identity_core::link::link_key;
use identity_core::precedence::Precedence;
use identity_core::query::Filter;
use identity_core::{Source, UserId, UserStatus};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Connection as _, QueryBuilder, Row as _};

use super::filter::{push_filter, push_order};
use super::rows::{self, now};
use super::write::{self, Batch, Claim, OnLinked, Profiles, UserWrite};
use super::{Backend, Conn, Db, Row, DIALECT};
use crate::error::{Result, StoreError, Uniqueness};
use crate::model::{Actor, SsoList, SsoPage, SsoQuery, SsoUser, SsoUserWrite, StoredProfile};

const SELECT: &str = "SELECT u.id, u.status, p.external_id, p.attributes, p.version, p.created_at, p.updated_at \
     FROM users u JOIN source_profiles p ON p.user_id = u.id AND p.source = 'sso'";

fn sso_user(row: &Row) -> Result<SsoUser> {
    Ok(SsoUser {
        id: rows::user_id(row, "id")?,
        status: rows::status(row, "status")?,
        user_name: row.try_get::<Option<String>, _>("external_id")?.unwrap_or_default(),
        attributes: row.try_get::<Json<Value>, _>("attributes")?.0,
        version: row.try_get("version")?,
        created_at: rows::time(row, "created_at")?,
        updated_at: rows::time(row, "updated_at")?,
    })
}

/// Locks a live user with an `sso` profile for the rest of the transaction and loads its
/// profiles; a missing or archived user, or one SSO does not know, is not found.
async fn lock_sso_user(conn: &mut Conn, id: UserId) -> Result<(UserStatus, Profiles, StoredProfile)> {
    let sql = format!("SELECT status FROM users WHERE id = $1{}", DIALECT.for_update());
    let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound)?;
    let status = rows::status(&row, "status")?;
    if status.is_gone() {
        return Err(StoreError::NotFound);
    }
    let profiles = write::load_profiles(conn, id).await?;
    let sso = profiles.own.iter().find(|p| p.source == Source::Sso).cloned().ok_or(StoreError::NotFound)?;
    Ok((status, profiles, sso))
}

fn check_version(current: i64, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != current => Err(StoreError::VersionMismatch { current }),
        _ => Ok(()),
    }
}

fn status_of(active: bool) -> UserStatus {
    if active {
        UserStatus::Active
    } else {
        UserStatus::Inactive
    }
}

/// A SCIM write: what it does on a writing transaction's connection. How it commits is
/// `commit.rs`'s business.
pub(crate) enum SsoWrite {
    Create { write: SsoUserWrite, actor: Actor },
    Replace { id: UserId, write: SsoUserWrite, if_version: Option<i64>, actor: Actor },
    Archive { id: UserId, if_version: Option<i64>, actor: Actor },
}

impl SsoWrite {
    /// The user and actor of a create.
    pub(super) fn as_create(&self) -> Option<(&SsoUserWrite, &Actor)> {
        match self {
            Self::Create { write, actor } => Some((write, actor)),
            Self::Replace { .. } | Self::Archive { .. } => None,
        }
    }

    /// The existing person a replace or an archive writes.
    pub(super) fn person(&self) -> Option<UserId> {
        match self {
            Self::Create { .. } => None,
            Self::Replace { id, .. } | Self::Archive { id, .. } => Some(*id),
        }
    }

    /// Runs the write; `None` for an archive.
    pub(super) async fn run(&self, conn: &mut Conn, precedence: &Precedence) -> Result<Option<SsoUser>> {
        match self {
            Self::Create { write, actor } => create(conn, write, precedence, actor).await.map(Some),
            Self::Replace { id, write, if_version, actor } => {
                replace(conn, *id, write, *if_version, precedence, actor).await.map(Some)
            }
            Self::Archive { id, if_version, actor } => {
                archive(conn, *id, *if_version, precedence, actor).await.map(|()| None)
            }
        }
    }
}

/// Creates a user, or, when the address is already held by a live person no SSO user is
/// linked to (someone an import brought in), gives that person the SSO profile: it is the same
/// person, and refusing would leave the identity provider unable to provision them.
async fn create(conn: &mut Conn, w: &SsoUserWrite, precedence: &Precedence, actor: &Actor) -> Result<SsoUser> {
    let created = if DIALECT.merges_statements() {
        // One statement: atomic on its own.
        create_many(conn, &[(w, actor)], precedence).await
    } else {
        let mut savepoint = conn.begin().await?;
        let created = create_many(&mut savepoint, &[(w, actor)], precedence).await;
        if created.is_ok() {
            savepoint.commit().await?;
        } else {
            savepoint.rollback().await?;
        }
        created
    };
    match created {
        Ok(mut users) => users.pop().ok_or_else(no_user),
        Err(StoreError::AlreadyExists(Uniqueness::Email)) => attach(conn, w, precedence, actor).await,
        Err(e) => Err(e),
    }
}

/// Gives the live person holding `w`'s address the SSO profile, if SSO has none for them.
async fn attach(conn: &mut Conn, w: &SsoUserWrite, precedence: &Precedence, actor: &Actor) -> Result<SsoUser> {
    let key = w.fields.email.as_ref().ok_or(StoreError::AlreadyExists(Uniqueness::Email))?.key();
    let mut tx = conn.begin().await?;
    let attached = attach_in(&mut tx, &key, w, precedence, actor).await;
    super::ended(tx, attached).await
}

async fn attach_in(
    tx: &mut Conn,
    key: &str,
    w: &SsoUserWrite,
    precedence: &Precedence,
    actor: &Actor,
) -> Result<SsoUser> {
    let taken = || StoreError::AlreadyExists(Uniqueness::Email);
    let holder = sqlx::query("SELECT user_id FROM combined_profiles WHERE email_key = $1")
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(taken)?;
    let id = rows::user_id(&holder, "user_id")?;
    let sql = format!("SELECT status FROM users WHERE id = $1{}", DIALECT.for_update());
    let old_status = rows::status(&sqlx::query(&sql).bind(id.as_uuid()).fetch_one(&mut *tx).await?, "status")?;
    let profiles = write::load_profiles(tx, id).await?;
    if old_status.is_gone() || profiles.own.iter().any(|p| p.source == Source::Sso) {
        return Err(taken());
    }
    let at = now();
    let mut batch = Batch::new(tx);
    batch.guard(&claims_of(w, Some(id))).await?;
    write::insert_links(&mut batch, &[(&Source::Sso, &w.user_name, id)], OnLinked::Fail, at).await?;
    let (status, written) = put_sso_profile(&mut batch, id, w, (old_status, &profiles), precedence, actor, at).await?;
    batch.finish_guarded().await?;
    Ok(SsoUser {
        id,
        status,
        user_name: w.user_name.clone(),
        attributes: w.attributes.clone(),
        version: written.and_then(|w| w.versions.first().copied()).unwrap_or(1),
        created_at: at,
        updated_at: at,
    })
}

/// Puts `w` as the SSO profile of an existing user (whose status was `old_status` and whose
/// profiles are `profiles`) with the status `w` asks for. Returns that status, and what was
/// written if anything changed.
async fn put_sso_profile(
    batch: &mut Batch<'_>,
    id: UserId,
    w: &SsoUserWrite,
    (old_status, profiles): (UserStatus, &Profiles),
    precedence: &Precedence,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<(UserStatus, Option<write::Written>)> {
    let status = status_of(w.active);
    if status != old_status {
        write::set_status(batch, id, status, at).await?;
    }
    let put = vec![(&Source::Sso, Some(w.user_name.as_str()), &w.fields, &w.attributes)];
    let user = UserWrite {
        user_id: id,
        status,
        is_new: false,
        status_changed: status != old_status,
        existing: &profiles.own,
        absorbed: &profiles.absorbed,
        put,
    };
    let written = write::write_users(batch, &[user], precedence, &actor.0, at).await?;
    Ok((status, written.into_iter().next()))
}

/// What a SCIM write of `w` claims: its `userName`, and the email address it gives the combined
/// profile (SSO's email wins it) if the user holds identifiers. `except`: the user writing.
fn claims_of(w: &SsoUserWrite, except: Option<UserId>) -> Vec<Claim<'_>> {
    let mut claims = vec![Claim::Link { source: &Source::Sso, external_id: &w.user_name, except }];
    if let Some(email) = w.fields.email.as_ref().filter(|_| status_of(w.active).holds_identifiers()) {
        claims.push(Claim::Email { key: email.key(), except });
    }
    claims
}

/// Creates users with multi-row statements: one statement per table, however many users. Any
/// conflict fails them all (the caller then creates them one by one).
pub(super) async fn create_many(
    conn: &mut Conn,
    writes: &[(&SsoUserWrite, &Actor)],
    precedence: &Precedence,
) -> Result<Vec<SsoUser>> {
    let at = now();
    let users: Vec<(UserId, UserStatus)> =
        writes.iter().map(|(w, _)| (UserId::random(), status_of(w.active))).collect();
    let mut batch = Batch::new(conn);
    let claims: Vec<Claim<'_>> = writes.iter().flat_map(|(w, _)| claims_of(w, None)).collect();
    batch.guard(&claims).await?;
    write::insert_users(&mut batch, &users, at).await?;
    let links: Vec<(&Source, &str, UserId)> =
        writes.iter().zip(&users).map(|((w, _), (id, _))| (&Source::Sso, w.user_name.as_str(), *id)).collect();
    write::insert_links(&mut batch, &links, OnLinked::Fail, at).await?;
    let mut written = Vec::with_capacity(writes.len());
    // Changes name their actor: write the users of each actor together.
    for ((w, actor), (id, status)) in writes.iter().zip(&users) {
        let put = vec![(&Source::Sso, Some(w.user_name.as_str()), &w.fields, &w.attributes)];
        let user = UserWrite {
            user_id: *id,
            status: *status,
            is_new: true,
            status_changed: false,
            existing: &[],
            absorbed: &[],
            put,
        };
        written.push((user, &actor.0));
    }
    let mut out = Vec::with_capacity(writes.len());
    let mut start = 0;
    while start < written.len() {
        let actor = written[start].1;
        let end = written[start..].iter().position(|(_, a)| *a != actor).map_or(written.len(), |n| start + n);
        let group: Vec<UserWrite<'_>> = written[start..end].iter().map(|(u, _)| u.clone()).collect();
        let versions = write::write_users(&mut batch, &group, precedence, actor, at).await?;
        for ((w, _), ((id, status), v)) in writes[start..end].iter().zip(users[start..end].iter().zip(versions)) {
            out.push(SsoUser {
                id: *id,
                status: *status,
                user_name: w.user_name.clone(),
                attributes: w.attributes.clone(),
                version: v.versions.first().copied().unwrap_or(1),
                created_at: at,
                updated_at: at,
            });
        }
        start = end;
    }
    batch.finish_guarded().await?;
    Ok(out)
}

async fn replace(
    conn: &mut Conn,
    id: UserId,
    w: &SsoUserWrite,
    if_version: Option<i64>,
    precedence: &Precedence,
    actor: &Actor,
) -> Result<SsoUser> {
    let at = now();
    let (old_status, profiles, sso) = lock_sso_user(conn, id).await?;
    check_version(sso.version, if_version)?;
    let old_name = sso.external_id.clone().unwrap_or_default();
    let mut batch = Batch::new(conn);
    batch.guard(&claims_of(w, Some(id))).await?;
    if link_key(&Source::Sso, &old_name) != link_key(&Source::Sso, &w.user_name) {
        write::remove_link(&mut batch, id, &Source::Sso, &old_name).await?;
        write::insert_links(&mut batch, &[(&Source::Sso, &w.user_name, id)], OnLinked::Fail, at).await?;
    } else if old_name != w.user_name {
        write::respell_link(&mut batch, &Source::Sso, &w.user_name, id).await?;
    }
    let (status, written) = put_sso_profile(&mut batch, id, w, (old_status, &profiles), precedence, actor, at).await?;
    batch.finish_guarded().await?;
    let written = written.as_ref();
    Ok(SsoUser {
        id,
        status,
        user_name: w.user_name.clone(),
        attributes: w.attributes.clone(),
        version: written.and_then(|w| w.versions.first().copied()).unwrap_or(sso.version + 1),
        created_at: written.map_or(sso.created_at, |w| w.created_at),
        updated_at: at,
    })
}

/// Archives a user: kept with its history, hidden from SCIM, its `userName` and email address
/// released.
async fn archive(
    conn: &mut Conn,
    id: UserId,
    if_version: Option<i64>,
    precedence: &Precedence,
    actor: &Actor,
) -> Result<()> {
    let at = now();
    let (_, profiles, sso) = lock_sso_user(conn, id).await?;
    check_version(sso.version, if_version)?;
    let mut batch = Batch::new(conn);
    write::set_status(&mut batch, id, UserStatus::Archived, at).await?;
    // SSO releases its own id (and, through the combined profile, the email address); the links
    // of other sources are theirs, and stay.
    write::remove_link(&mut batch, id, &Source::Sso, sso.external_id.as_deref().unwrap_or_default()).await?;
    let put = vec![(&Source::Sso, sso.external_id.as_deref(), &sso.fields, &sso.attributes)];
    let user = UserWrite {
        user_id: id,
        status: UserStatus::Archived,
        is_new: false,
        status_changed: true,
        existing: &profiles.own,
        absorbed: &profiles.absorbed,
        put,
    };
    write::write_users(&mut batch, &[user], precedence, &actor.0, at).await?;
    batch.finish().await
}

/// A write that answers a user did not.
fn no_user() -> StoreError {
    StoreError::Corrupt("a SCIM write returned no user".into())
}

impl Backend {
    pub(crate) async fn sso_create(&self, write: &SsoUserWrite, actor: &Actor) -> Result<SsoUser> {
        self.commit_sso(SsoWrite::Create { write: write.clone(), actor: actor.clone() }).await?.ok_or_else(no_user)
    }

    pub(crate) async fn sso_get(&self, id: UserId) -> Result<SsoUser> {
        let sql = format!("{SELECT} WHERE u.id = $1 AND u.status NOT IN ('archived', 'erased')");
        let row = self.conns.fetch_optional(sqlx::query(&sql).bind(id.as_uuid())).await?.ok_or(StoreError::NotFound)?;
        sso_user(&row)
    }

    pub(crate) async fn sso_replace(
        &self,
        id: UserId,
        write: &SsoUserWrite,
        if_version: Option<i64>,
        actor: &Actor,
    ) -> Result<SsoUser> {
        let op = SsoWrite::Replace { id, write: write.clone(), if_version, actor: actor.clone() };
        self.commit_sso(op).await?.ok_or_else(no_user)
    }

    pub(crate) async fn sso_archive(&self, id: UserId, if_version: Option<i64>, actor: &Actor) -> Result<()> {
        self.commit_sso(SsoWrite::Archive { id, if_version, actor: actor.clone() }).await.map(|_| ())
    }

    pub(crate) async fn sso_list(&self, query: &SsoQuery) -> Result<SsoList> {
        let from = |qb: &mut QueryBuilder<'_, Db>, filter: &Option<Filter>| -> Result<()> {
            qb.push(" WHERE u.status NOT IN ('archived', 'erased')");
            if let Some(f) = filter {
                qb.push(" AND ");
                push_filter(qb, f)?;
            }
            Ok(())
        };

        let mut qb = QueryBuilder::<Db>::new(SELECT);
        from(&mut qb, &query.filter)?;
        let (limit, offset) = match query.page {
            SsoPage::Index { start, count } => {
                push_order(&mut qb, query.sort.as_ref().map(|(a, o)| (a, *o)))?;
                (count, start.saturating_sub(1))
            }
            SsoPage::Cursor { after, count } => {
                if query.sort.is_some() {
                    return Err(StoreError::Unsupported("sorting together with cursor paging".into()));
                }
                if let Some(after) = after {
                    qb.push(" AND u.id > ").push_bind(after);
                }
                qb.push(" ORDER BY u.id");
                // One extra row says whether there is a next page.
                (count + 1, 0)
            }
        };
        let users: Vec<SsoUser> = if limit == 0 {
            Vec::new()
        } else {
            qb.push(" LIMIT ").push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
            qb.push(" OFFSET ").push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
            let found = self.conns.fetch_all(qb.build()).await?;
            found.iter().map(sso_user).collect::<Result<_>>()?
        };

        let (users, next_cursor) = match query.page {
            SsoPage::Cursor { count, .. } if users.len() as u64 > count => {
                let mut users = users;
                users.truncate(usize::try_from(count).unwrap_or(usize::MAX));
                let next = users.last().map(|u| *u.id.as_uuid());
                (users, next)
            }
            _ => (users, None),
        };

        // A first page that is not full holds everything: no need to count.
        let short_first_page = match query.page {
            SsoPage::Index { start, count } => start <= 1 && (users.len() as u64) < count,
            SsoPage::Cursor { after, count } => after.is_none() && (users.len() as u64) < count,
        };
        let total = if short_first_page {
            users.len() as u64
        } else {
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT count(*) FROM users u JOIN source_profiles p ON p.user_id = u.id AND p.source = 'sso'",
            );
            from(&mut qb, &query.filter)?;
            let n: i64 = self.conns.fetch_one(qb.build()).await?.try_get(0)?;
            u64::try_from(n).unwrap_or(0)
        };
        Ok(SsoList { total, users, next_cursor })
    }
}
