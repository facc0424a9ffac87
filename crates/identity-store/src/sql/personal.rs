//! Erasure on a person's request (UK GDPR art. 17; DESIGN.md §7.9): one transaction that removes
//! every personal value of the person, and of the people merged into it, from every table, and
//! keeps their ids and the shape of their history.
//!
//! What goes: source profiles, combined profile, links, match keys, the teacher registry's
//! records of their TRNs, the raw data and notes of import rows that named them, review items
//! naming them, and the values and reasons their merges recorded (those merges can no longer be
//! undone). What stays: the user rows (status `erased`), the change log (which holds ids, field
//! names, sources and times, never values), an `erased` change for each, and an `erasures` row
//! saying who erased them, when and why.

use identity_core::change::{ChangeKind, Origin};
use identity_core::merge::{Before, MergeRecord};
use identity_core::{CombinedProfile, UserId, UserStatus};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row as _};

use super::imports::import_row;
use super::merges::{merge_of, MERGE_COLUMNS};
use super::reviews::{item, ITEM_COLUMNS};
use super::rows::{self, now};
use super::{Backend, Conn, Db, DIALECT};
use crate::columns::Column;
use crate::error::{Result, StoreError};
use crate::model::{Actor, Erasure, ImportRowNaming, ReviewItem};

fn ids(people: &[UserId]) -> Column {
    Column::Uuid(people.iter().map(|u| *u.as_uuid()).collect())
}

/// `PREFIX <expr> IN (people) SUFFIX`, run on `conn`; rows affected.
async fn run_in(conn: &mut Conn, prefix: &str, expr: &str, people: &[UserId]) -> Result<u64> {
    let mut qb = QueryBuilder::<Db>::new(prefix);
    super::push_in(&mut qb, expr, ids(people));
    Ok(qb.build().execute(&mut *conn).await?.rows_affected())
}

/// The erasure that erased `id`, if it was.
async fn recorded(conn: &mut Conn, id: UserId) -> Result<Option<Erasure>> {
    let row = sqlx::query("SELECT person, erased_by, erased_at, reason FROM erasures WHERE user_id = $1")
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let person = rows::user_id(&row, "person")?;
    let people = sqlx::query("SELECT user_id FROM erasures WHERE person = $1 ORDER BY user_id")
        .bind(person.as_uuid())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| rows::user_id(r, "user_id"))
        .collect::<Result<_>>()?;
    Ok(Some(Erasure {
        person,
        people,
        by: row.try_get("erased_by")?,
        at: rows::time(&row, "erased_at")?,
        reason: row.try_get("reason")?,
        erased_now: false,
    }))
}

/// People whose review items one statement looks for.
const LIKES_PER_SCAN: usize = 200;

/// Removes the values the history of `people` holds, as their erasure and the retention sweep of
/// archived people do: the raw data, service ids and notes of import rows naming them, review
/// items naming them (whether they are the same as someone is moot now), and their merges'
/// reasons and the values recorded for an undo (who, when and the people's ids stay; those
/// merges can no longer be undone).
pub(super) async fn redact_history(conn: &mut Conn, people: &[UserId]) -> Result<()> {
    if people.is_empty() {
        return Ok(());
    }
    run_in(
        conn,
        "UPDATE import_rows SET raw_data = '', source_id = '', problem = NULL, notes = NULL WHERE ",
        "user_id",
        people,
    )
    .await?;
    for column in ["subject_person", "candidate_person", "decision_person"] {
        run_in(conn, "DELETE FROM review_items WHERE ", column, people).await?;
    }
    // One scan of the items for many of them (a candidate is named only inside the document),
    // in groups well inside SQLite's limit on an expression's depth (1,000).
    for group in people.chunks(LIKES_PER_SCAN) {
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM review_items WHERE ");
        for (i, p) in group.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push("CAST(candidates AS TEXT) LIKE ").push_bind(format!("%{p}%"));
        }
        qb.build().execute(&mut *conn).await?;
    }
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {MERGE_COLUMNS} FROM merges WHERE "));
    super::push_in(&mut qb, "survivor", ids(people));
    qb.push(" OR ");
    super::push_in(&mut qb, "merged", ids(people));
    for row in qb.build().fetch_all(&mut *conn).await? {
        let (merge, record) = merge_of(&row)?;
        let emptied = |b: Before| Before {
            status: b.status,
            combined: CombinedProfile::default(),
            version_after: b.version_after,
        };
        let record = MergeRecord {
            survivor: emptied(record.survivor),
            merged: emptied(record.merged),
            moved_links: Vec::new(),
            repointed: record.repointed,
        };
        sqlx::query("UPDATE merges SET reason = '', record = $2 WHERE id = $1")
            .bind(merge.id)
            .bind(Json(&record))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Backend {
    /// The erasure that erased `id`, if it was.
    pub(crate) async fn erasure_of(&self, id: UserId) -> Result<Option<Erasure>> {
        let mut conn = self.conns.acquire().await?;
        let done = recorded(conn.start(), id).await;
        conn.finish(done)
    }

    /// Every review item naming `id`: as the subject, a candidate, or the person decided for.
    pub(crate) async fn reviews_naming(&self, id: UserId) -> Result<Vec<ReviewItem>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM review_items WHERE subject_person = $1 OR candidate_person = $1 \
             OR decision_person = $1 OR CAST(candidates AS TEXT) LIKE $2 ORDER BY id"
        );
        let query = sqlx::query(&sql).bind(id.as_uuid()).bind(format!("%{id}%"));
        self.conns.fetch_all(query).await?.iter().map(item).collect()
    }

    /// Up to `limit` import rows whose result named `id`, after `after` (job, row), in that order.
    pub(crate) async fn import_rows_naming(
        &self,
        id: UserId,
        after: Option<(uuid::Uuid, i64)>,
        limit: u32,
    ) -> Result<Vec<ImportRowNaming>> {
        let (job, row) = after.unwrap_or((uuid::Uuid::nil(), 0));
        let query = sqlx::query(
            "SELECT r.job_id, j.service, r.row_number, r.source_id, r.raw_data, r.problem, r.outcome, r.notes, r.user_id \
             FROM import_rows r JOIN import_jobs j ON j.id = r.job_id \
             WHERE r.user_id = $1 AND (r.job_id > $2 OR (r.job_id = $2 AND r.row_number > $3)) \
             ORDER BY r.job_id, r.row_number LIMIT $4",
        )
        .bind(id.as_uuid())
        .bind(job)
        .bind(row)
        .bind(i64::from(limit));
        self.conns
            .fetch_all(query)
            .await?
            .iter()
            .map(|r| {
                Ok(ImportRowNaming {
                    job_id: r.try_get("job_id")?,
                    service: r.try_get("service")?,
                    row: import_row(r)?,
                })
            })
            .collect()
    }

    pub(crate) async fn erase(&self, id: UserId, reason: &str, actor: &Actor) -> Result<Erasure> {
        let at = now();
        // A merged person is the survivor's record of the same human: the person is the survivor
        // and everyone merged into it (merges point every merged person at the last survivor).
        // They are locked in id order, as every writer locks people (a re-derivation's chunk
        // locking them the other way round would wait in a circle); `id` is one of them, so its
        // row is read again under the lock, and if a merge or an undo moved it meanwhile, the
        // transaction starts over (holding no lock out of order).
        let read = "SELECT status, merged_into FROM users WHERE id = $1";
        let group =
            format!("SELECT id FROM users WHERE id = $1 OR merged_into = $1 ORDER BY id{}", DIALECT.for_update());
        let (mut tx, row, person, people) = loop {
            let mut tx = self.begin_write().await?;
            let Some(seen) = sqlx::query(read).bind(id.as_uuid()).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Err(StoreError::NotFound);
            };
            let merged_into: Option<uuid::Uuid> = seen.try_get("merged_into")?;
            let person = merged_into.map_or(id, UserId::from_uuid);
            let people: Vec<UserId> = sqlx::query(&group)
                .bind(person.as_uuid())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| rows::user_id(r, "id"))
                .collect::<Result<_>>()?;
            let now = sqlx::query(read).bind(id.as_uuid()).fetch_one(&mut *tx).await?;
            if now.try_get::<Option<uuid::Uuid>, _>("merged_into")? == merged_into {
                break (tx, now, person, people);
            }
            tx.rollback().await?;
        };
        if rows::status(&row, "status")? == UserStatus::Erased {
            let done = recorded(&mut tx, id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("user {id} is erased but its erasure is not recorded")))?;
            tx.rollback().await?;
            return Ok(done);
        }

        // What names them elsewhere, read before their profiles go.
        let mut qb = QueryBuilder::<Db>::new("SELECT DISTINCT trn FROM source_profiles WHERE trn IS NOT NULL AND ");
        super::push_in(&mut qb, "user_id", ids(&people));
        let trns: Vec<String> =
            qb.build().fetch_all(&mut *tx).await?.iter().map(|r| r.try_get("trn")).collect::<Result<_, _>>()?;
        if !trns.is_empty() {
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM registry_records WHERE ");
            super::push_in(&mut qb, "trn", Column::Text(trns.into_iter().map(Some).collect()));
            qb.build().execute(&mut *tx).await?;
        }
        for table in ["match_keys", "links", "source_profiles", "combined_profiles"] {
            run_in(&mut tx, &format!("DELETE FROM {table} WHERE "), "user_id", &people).await?;
        }
        redact_history(&mut tx, &people).await?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE users SET status = 'erased', merged_into = NULL, updated_at = ");
        qb.push_bind(at).push(" WHERE ");
        super::push_in(&mut qb, "id", ids(&people));
        qb.build().execute(&mut *tx).await?;
        for p in &people {
            sqlx::query(
                "INSERT INTO erasures (user_id, person, erased_by, erased_at, reason) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(p.as_uuid())
            .bind(person.as_uuid())
            .bind(&actor.0)
            .bind(at)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO changes (user_id, source, actor, kind, fields, status, at) VALUES ($1, $2, $3, $4, '', $5, $6)",
            )
            .bind(p.as_uuid())
            .bind(Origin::Erasure.to_string())
            .bind(&actor.0)
            .bind(ChangeKind::Erased.as_str())
            .bind(UserStatus::Erased.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Erasure { person, people, by: actor.0.clone(), at, reason: reason.to_owned(), erased_now: true })
    }
}
