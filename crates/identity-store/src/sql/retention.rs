//! Retention (DESIGN.md §7.9): import-worker's sweep of what identity no longer needs to keep.
//! Two parts, each a chunk per transaction that moves the sweep's place in `retention_state` with
//! the rows it redacted, under a lease that one worker at a time holds:
//!
//! - the raw CSV lines, service ids, problems and notes of import rows of jobs finished before a cutoff
//!   (the rows stay, with their outcome and user, so a job's counts still add up);
//! - the values the history of people archived before a cutoff still holds: import rows naming
//!   them, review items naming them, their merges' reasons and undo values (`personal::redact_history`).

use chrono::{DateTime, Utc};
use identity_core::UserId;
use sqlx::{QueryBuilder, Row as _};

use super::leases::Lease;
use super::personal::redact_history;
use super::rows::{self, now};
use super::{Backend, Conn, Db, Row, DIALECT};
use crate::columns::Column;
use crate::error::{Result, StoreError};
use crate::model::SweptRows;

/// The sweep's row in `retention_state`.
const SWEEP: &str = "sweep";
const LEASE: Lease = Lease { table: "retention_state", name: SWEEP };

/// The sweep's place (`columns` of its row), locked, while `holder` holds the lease; `NotFound`
/// once it does not.
async fn place(conn: &mut Conn, holder: &str, columns: &str) -> Result<Row> {
    let sql = format!("SELECT {columns} FROM retention_state WHERE name = $1 AND holder = $2{}", DIALECT.for_update());
    sqlx::query(&sql).bind(SWEEP).bind(holder).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound)
}

impl Backend {
    /// Takes (or renews) the sweep's lease for `holder` until `until`, if nobody else holds it
    /// unexpired.
    pub(crate) async fn retention_lease(&self, holder: &str, until: DateTime<Utc>) -> Result<bool> {
        LEASE.take(self, holder, until).await
    }

    /// Gives the lease up, so that another worker need not wait for it to run out.
    pub(crate) async fn retention_release(&self, holder: &str) -> Result<()> {
        LEASE.release(self, holder).await
    }

    /// Redacts up to `limit` rows of the oldest job finished before `cutoff` whose data is still
    /// held, from where the sweep left off; `None` when no such job is left. `NotFound` when
    /// `holder` no longer holds the lease: nothing is written.
    pub(crate) async fn retention_import_rows(
        &self,
        holder: &str,
        cutoff: DateTime<Utc>,
        limit: u32,
        until: DateTime<Utc>,
    ) -> Result<Option<SweptRows>> {
        let mut tx = self.begin_write().await?;
        let row = place(&mut tx, holder, "job_id, after_row").await?;
        let (job, after) = match row.try_get::<Option<uuid::Uuid>, _>("job_id")? {
            Some(job) => (job, row.try_get::<i64, _>("after_row")?),
            None => {
                // Locked and marked in the transaction of its first chunk: from then on the job
                // cannot be resumed (a resume needs `data_removed_at` unset), and its results
                // answer 410, for they are no longer whole.
                let next = format!(
                    "SELECT id FROM import_jobs WHERE data_removed_at IS NULL AND finished_at IS NOT NULL \
                     AND finished_at < $1 ORDER BY finished_at, id LIMIT 1{}",
                    DIALECT.for_update()
                );
                let Some(next) = sqlx::query(&next).bind(cutoff).fetch_optional(&mut *tx).await? else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let job: uuid::Uuid = next.try_get("id")?;
                sqlx::query("UPDATE import_jobs SET data_removed_at = $2 WHERE id = $1")
                    .bind(job)
                    .bind(now())
                    .execute(&mut *tx)
                    .await?;
                (job, 0)
            }
        };
        let last: Option<i64> = sqlx::query_scalar("SELECT max(row_number) FROM import_rows WHERE job_id = $1")
            .bind(job)
            .fetch_one(&mut *tx)
            .await?;
        let last = last.unwrap_or(0);
        let to = last.min(after.saturating_add(i64::from(limit)));
        let rows = sqlx::query(
            "UPDATE import_rows SET raw_data = '', source_id = '', problem = NULL, notes = NULL \
             WHERE job_id = $1 AND row_number > $2 AND row_number <= $3",
        )
        .bind(job)
        .bind(after)
        .bind(to)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let job_done = to >= last;
        sqlx::query("UPDATE retention_state SET job_id = $2, after_row = $3, lease_until = $4 WHERE name = $1")
            .bind(SWEEP)
            .bind(if job_done { None } else { Some(job) })
            .bind(if job_done { 0 } else { to })
            .bind(until)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(SweptRows { rows, job_done }))
    }

    /// Redacts the history of up to `limit` people archived before `cutoff` (by their owner, not
    /// by a merge), and of the records merged into them, from where the sweep left off; how many
    /// people, `None` when none is left. `NotFound` when `holder` no longer holds the lease.
    pub(crate) async fn retention_archived(
        &self,
        holder: &str,
        cutoff: DateTime<Utc>,
        limit: u32,
        until: DateTime<Utc>,
    ) -> Result<Option<u64>> {
        let mut tx = self.begin_write().await?;
        let row = place(&mut tx, holder, "after_at, after_user").await?;
        let after_at: Option<DateTime<Utc>> = row.try_get("after_at")?;
        let after_user: Option<uuid::Uuid> = row.try_get("after_user")?;
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT id, updated_at FROM users WHERE status = 'archived' AND merged_into IS NULL AND updated_at < ",
        );
        qb.push_bind(cutoff);
        if let (Some(at), Some(user)) = (after_at, after_user) {
            qb.push(" AND (updated_at > ").push_bind(at);
            qb.push(" OR (updated_at = ").push_bind(at).push(" AND id > ").push_bind(user).push("))");
        }
        qb.push(" ORDER BY updated_at, id LIMIT ").push_bind(i64::from(limit));
        let found = qb.build().fetch_all(&mut *tx).await?;
        let Some(last) = found.last() else {
            tx.rollback().await?;
            return Ok(None);
        };
        let last_at = rows::time(last, "updated_at")?;
        let last_user = rows::user_id(last, "id")?;
        let people: Vec<UserId> = found.iter().map(|r| rows::user_id(r, "id")).collect::<Result<_>>()?;
        let mut qb = QueryBuilder::<Db>::new("SELECT id FROM users WHERE ");
        super::push_in(&mut qb, "merged_into", Column::Uuid(people.iter().map(|u| *u.as_uuid()).collect()));
        let merged: Vec<UserId> =
            qb.build().fetch_all(&mut *tx).await?.iter().map(|r| rows::user_id(r, "id")).collect::<Result<_>>()?;
        let group: Vec<UserId> = people.iter().chain(&merged).copied().collect();
        redact_history(&mut tx, &group).await?;
        sqlx::query("UPDATE retention_state SET after_at = $2, after_user = $3, lease_until = $4 WHERE name = $1")
            .bind(SWEEP)
            .bind(last_at)
            .bind(last_user.as_uuid())
            .bind(until)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(people.len() as u64))
    }
}
