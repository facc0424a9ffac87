//! Merges and their undo (see `identity_core::merge`), each one transaction that locks both
//! people: two reviewers merging the same person at once, or undoing the same merge, meet on
//! the lock, and the second finds what the first did and is refused.

use identity_core::change::{ChangeKind, NewChange, Origin};
use identity_core::link::link_key;
use identity_core::merge::{self, Before, Merge, MergeRecord, Refusal, Undone};
use identity_core::precedence::Precedence;
use identity_core::{CombinedProfile, Source, SourceProfile, UserId, UserStatus};
use sqlx::types::Json;
use sqlx::Row as _;
use uuid::Uuid;

use super::people::{person, SELECT};
use super::rows::{self, now};
use super::write::{self, Batch, Claim, CombinedRow, Stored};
use super::{Backend, Conn, Row, DIALECT};
use crate::error::{Result, StoreError};
use crate::model::{Actor, NewMerge, Person};

pub(super) const MERGE_COLUMNS: &str =
    "id, survivor, merged, reason, merged_by, merged_at, record, undone_by, undone_at";

pub(super) fn merge_of(row: &Row) -> Result<(Merge, MergeRecord)> {
    let undone = match (row.try_get::<Option<String>, _>("undone_by")?, row.try_get("undone_at")?) {
        (Some(by), Some(at)) => Some(Undone { by, at }),
        _ => None,
    };
    let merge = Merge {
        id: row.try_get("id")?,
        survivor: rows::user_id(row, "survivor")?,
        merged: rows::user_id(row, "merged")?,
        reason: row.try_get("reason")?,
        by: row.try_get("merged_by")?,
        at: rows::time(row, "merged_at")?,
        undone,
    };
    Ok((merge, row.try_get::<Json<MergeRecord>, _>("record")?.0))
}

/// Locks both people (in id order, so that two transactions locking the same pair cannot
/// deadlock) and reads them as they are now; `NotFound` if either does not exist.
async fn lock_pair(conn: &mut Conn, a: UserId, b: UserId) -> Result<(Person, Person)> {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let lock = format!("SELECT id FROM users WHERE id = $1 OR id = $2 ORDER BY id{}", DIALECT.for_update());
    sqlx::query(&lock).bind(first.as_uuid()).bind(second.as_uuid()).fetch_all(&mut *conn).await?;
    let read = format!("{} WHERE u.id = $1", *SELECT);
    let mut people = Vec::with_capacity(2);
    for id in [a, b] {
        let row = sqlx::query(&read).bind(id.as_uuid()).fetch_optional(&mut *conn).await?;
        people.push(person(&row.ok_or(StoreError::NotFound)?)?);
    }
    let second = people.pop().ok_or(StoreError::NotFound)?;
    Ok((people.pop().ok_or(StoreError::NotFound)?, second))
}

async fn combined_version(conn: &mut Conn, id: UserId) -> Result<i64> {
    let row = sqlx::query("SELECT version FROM combined_profiles WHERE user_id = $1")
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get::<i64, _>("version")).transpose()?.unwrap_or(0))
}

/// Appends a `merged` or `unmerged` change of `merged`, naming the survivor.
async fn append_merge_change(
    conn: &mut Conn,
    kind: ChangeKind,
    merged: UserId,
    survivor: UserId,
    status: UserStatus,
    actor: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO changes (user_id, source, actor, kind, fields, status, at, survivor) \
         VALUES ($1, $2, $3, $4, '', $5, $6, $7)",
    )
    .bind(merged.as_uuid())
    .bind(Origin::Review.to_string())
    .bind(actor)
    .bind(kind.as_str())
    .bind(status.as_str())
    .bind(at)
    .bind(survivor.as_uuid())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn survivor_change(survivor: &Person, fields: Vec<identity_core::profile::Field>, actor: &str) -> NewChange {
    NewChange {
        user_id: survivor.user.id,
        source: Origin::Review,
        actor: actor.to_owned(),
        kind: ChangeKind::ProfileUpdated,
        fields,
        status: survivor.user.status,
    }
}

/// The claim on the address `combined` gives `person` (none when its status holds no identifiers).
fn email_claim(combined: &CombinedProfile, status: UserStatus, person: UserId) -> Vec<Claim<'static>> {
    combined
        .email
        .as_ref()
        .filter(|_| status.holds_identifiers())
        .map(|e| Claim::Email { key: e.value.key(), except: Some(person) })
        .into_iter()
        .collect()
}

/// Sends a guarded batch; an address found taken refuses the merge or undo, naming `whose`.
async fn guarded(batch: Batch<'_>, whose: UserId) -> Result<()> {
    match batch.finish_guarded().await {
        Err(StoreError::AlreadyExists(_)) => Err(StoreError::Refused(Refusal::EmailTaken(whose))),
        done => done,
    }
}

async fn move_links(conn: &mut Conn, links: &[(Source, String)], from: UserId, to: UserId) -> Result<u64> {
    let mut moved = 0;
    for (source, external_id) in links {
        moved += sqlx::query("UPDATE links SET user_id = $1 WHERE source = $2 AND external_key = $3 AND user_id = $4")
            .bind(to.as_uuid())
            .bind(source.to_string())
            .bind(link_key(source, external_id))
            .bind(from.as_uuid())
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(moved)
}

/// `id`'s combined profile derived from its profiles and the profiles of those merged into it.
async fn derived(conn: &mut Conn, id: UserId, precedence: &Precedence) -> Result<CombinedProfile> {
    let profiles = write::load_profiles(conn, id).await?;
    let own: Vec<SourceProfile> = profiles.own.iter().map(SourceProfile::from).collect();
    let absorbed: Vec<SourceProfile> = profiles.absorbed.iter().map(SourceProfile::from).collect();
    Ok(CombinedProfile::derive_with(&own, &absorbed, precedence))
}

/// Merges in the caller's transaction (a review decision merges as part of its own).
pub(super) async fn merge_in(
    conn: &mut Conn,
    new: &NewMerge,
    precedence: &Precedence,
    actor: &Actor,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Merge> {
    let (survivor, merged) = lock_pair(conn, new.survivor, new.merged).await?;
    merge::check(&survivor.user, &merged.user).map_err(StoreError::Refused)?;

    let repointed: Vec<UserId> = sqlx::query("SELECT id FROM users WHERE merged_into = $1 ORDER BY id")
        .bind(merged.user.id.as_uuid())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| rows::user_id(r, "id"))
        .collect::<Result<_>>()?;
    sqlx::query("UPDATE users SET merged_into = $1 WHERE merged_into = $2")
        .bind(survivor.user.id.as_uuid())
        .bind(merged.user.id.as_uuid())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE users SET status = 'archived', merged_into = $2, updated_at = $3 WHERE id = $1")
        .bind(merged.user.id.as_uuid())
        .bind(survivor.user.id.as_uuid())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    let moved_links: Vec<(Source, String)> =
        merged.links.iter().map(|l| (l.source.clone(), l.external_id.clone())).collect();
    move_links(conn, &moved_links, merged.user.id, survivor.user.id).await?;

    // The merged person's combined profile stays as it was, archived: it releases the email
    // address, which the survivor may take next (so in a statement of its own).
    let mut batch = Batch::new(conn);
    let row = CombinedRow { user_id: merged.user.id, status: UserStatus::Archived, combined: merged.combined.clone() };
    write::save_combined(&mut batch, &[row], Stored::Maybe, at).await?;
    batch.finish().await?;

    // Every profile of both people, and of the people merged into either before, now counts
    // for the survivor: each of the survivor's profiles and absorbed ones now includes the
    // merged person's.
    let combined = derived(conn, survivor.user.id, precedence).await?;
    let changed = survivor.combined.changed_fields(&combined);
    let mut batch = Batch::new(conn);
    // The address the survivor ends with may be one someone else took since it was released (by a
    // person merged into the merged one earlier): checked, so no unique constraint fails
    // (PostgreSQL would log the address).
    let claims = email_claim(&combined, survivor.user.status, survivor.user.id);
    batch.guard(&claims).await?;
    let row = CombinedRow { user_id: survivor.user.id, status: survivor.user.status, combined };
    write::save_combined(&mut batch, &[row], Stored::Maybe, at).await?;
    write::append_changes(&mut batch, &[survivor_change(&survivor, changed, &actor.0)], at).await?;
    guarded(batch, merged.user.id).await?;
    append_merge_change(conn, ChangeKind::Merged, merged.user.id, survivor.user.id, UserStatus::Archived, &actor.0, at)
        .await?;

    let record = MergeRecord {
        survivor: Before {
            status: survivor.user.status,
            combined: survivor.combined.clone(),
            version_after: combined_version(conn, survivor.user.id).await?,
        },
        merged: Before {
            status: merged.user.status,
            combined: merged.combined.clone(),
            version_after: combined_version(conn, merged.user.id).await?,
        },
        moved_links,
        repointed,
    };
    let done = Merge {
        id: Uuid::now_v7(),
        survivor: survivor.user.id,
        merged: merged.user.id,
        reason: new.reason.clone(),
        by: actor.0.clone(),
        at,
        undone: None,
    };
    sqlx::query(&format!("INSERT INTO merges ({MERGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)"))
        .bind(done.id)
        .bind(done.survivor.as_uuid())
        .bind(done.merged.as_uuid())
        .bind(&done.reason)
        .bind(&done.by)
        .bind(at)
        .bind(Json(&record))
        .execute(&mut *conn)
        .await?;
    Ok(done)
}

impl Backend {
    pub(crate) async fn merge(&self, new: &NewMerge, actor: &Actor) -> Result<Merge> {
        let mut tx = self.begin_write().await?;
        // Both locked before the version is read (`merge_in` locks them again, a no-op).
        let mut pair = [new.survivor, new.merged];
        pair.sort();
        write::lock_users(&mut tx, &pair).await?;
        let precedence = super::precedence::in_force(&mut tx, &self.precedence).await?;
        let done = merge_in(&mut tx, new, &precedence.precedence, actor, now()).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub(crate) async fn undo_merge(&self, id: Uuid, actor: &Actor) -> Result<Merge> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {MERGE_COLUMNS} FROM merges WHERE id = $1{}", DIALECT.for_update());
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let (mut done, record) = merge_of(&row)?;
        if done.undone.is_some() {
            return Err(StoreError::Refused(Refusal::AlreadyUndone));
        }
        let (survivor, merged) = lock_pair(&mut tx, done.survivor, done.merged).await?;
        if let Some(erased) = [&survivor, &merged].iter().find(|p| p.user.status == UserStatus::Erased) {
            return Err(StoreError::Refused(Refusal::Erased(erased.user.id)));
        }
        merge::check_undo(&done, &record, survivor.version, merged.version).map_err(StoreError::Refused)?;

        let moved = move_links(&mut tx, &record.moved_links, survivor.user.id, merged.user.id).await?;
        if moved != record.moved_links.len() as u64 {
            return Err(StoreError::Refused(Refusal::ChangedSince(survivor.user.id)));
        }
        for id in &record.repointed {
            sqlx::query("UPDATE users SET merged_into = $1 WHERE id = $2 AND merged_into = $3")
                .bind(merged.user.id.as_uuid())
                .bind(id.as_uuid())
                .bind(survivor.user.id.as_uuid())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE users SET status = $2, merged_into = NULL, updated_at = $3 WHERE id = $1")
            .bind(merged.user.id.as_uuid())
            .bind(record.merged.status.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;

        // Both derived again from their own profiles, as they now fall apart, with the version
        // in force: the combined profiles kept in the record are what they were under the
        // version of the merge's day.
        let precedence = super::precedence::in_force(&mut tx, &self.precedence).await?;
        let survivor_combined = derived(&mut tx, survivor.user.id, &precedence.precedence).await?;
        let merged_combined = derived(&mut tx, merged.user.id, &precedence.precedence).await?;

        // The survivor first: it gives back the merged person's address, if it had taken it.
        let changed = survivor.combined.changed_fields(&survivor_combined);
        let mut batch = Batch::new(&mut tx);
        // The survivor's address from before may be someone else's by now, as may the merged one's.
        let claims = email_claim(&survivor_combined, survivor.user.status, survivor.user.id);
        batch.guard(&claims).await?;
        let row = CombinedRow { user_id: survivor.user.id, status: survivor.user.status, combined: survivor_combined };
        write::save_combined(&mut batch, &[row], Stored::Maybe, at).await?;
        write::append_changes(&mut batch, &[survivor_change(&survivor, changed, &actor.0)], at).await?;
        guarded(batch, survivor.user.id).await?;

        // Someone else may hold the merged person's address by now: checked first, so that no
        // unique constraint fails (PostgreSQL would log the address).
        let mut batch = Batch::new(&mut tx);
        let claims = email_claim(&merged_combined, record.merged.status, merged.user.id);
        batch.guard(&claims).await?;
        let row = CombinedRow { user_id: merged.user.id, status: record.merged.status, combined: merged_combined };
        write::save_combined(&mut batch, &[row], Stored::Maybe, at).await?;
        guarded(batch, merged.user.id).await?;
        append_merge_change(
            &mut tx,
            ChangeKind::Unmerged,
            merged.user.id,
            survivor.user.id,
            record.merged.status,
            &actor.0,
            at,
        )
        .await?;
        sqlx::query("UPDATE merges SET undone_by = $2, undone_at = $3 WHERE id = $1")
            .bind(id)
            .bind(&actor.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done.undone = Some(Undone { by: actor.0.clone(), at });
        Ok(done)
    }

    pub(crate) async fn merge_get(&self, id: Uuid) -> Result<Merge> {
        let sql = format!("SELECT {MERGE_COLUMNS} FROM merges WHERE id = $1");
        let row = self.conns.fetch_optional(sqlx::query(&sql).bind(id)).await?.ok_or(StoreError::NotFound)?;
        Ok(merge_of(&row)?.0)
    }

    /// The merges a person took part in, either side, newest first.
    pub(crate) async fn merges_of(&self, person: UserId) -> Result<Vec<Merge>> {
        let sql =
            format!("SELECT {MERGE_COLUMNS} FROM merges WHERE survivor = $1 OR merged = $1 ORDER BY merged_at DESC");
        let found = self.conns.fetch_all(sqlx::query(&sql).bind(person.as_uuid())).await?;
        found.iter().map(|r| merge_of(r).map(|(m, _)| m)).collect()
    }
}
