//! The change log as a feed: numbered in the order rows became visible, read after a `seq`.

use std::sync::atomic::Ordering;

use identity_core::change::Change;
use identity_core::UserId;
use sqlx::Row as _;

use super::rows::{self, corrupt};
use super::{Backend, Row, DIALECT};
use crate::error::Result;

fn change(row: &Row) -> Result<Change> {
    let fields: String = row.try_get("fields")?;
    Ok(Change {
        seq: row.try_get("seq")?,
        user_id: rows::user_id(row, "user_id")?,
        source: row.try_get::<String, _>("source")?.parse().map_err(|e| corrupt("changes.source", e))?,
        actor: row.try_get("actor")?,
        kind: row.try_get::<String, _>("kind")?.parse().map_err(|e| corrupt("changes.kind", e))?,
        fields: fields
            .split(',')
            .filter(|f| !f.is_empty())
            .map(|f| {
                serde_json::from_value(serde_json::Value::String(f.to_owned()))
                    .map_err(|e| corrupt("changes.fields", e))
            })
            .collect::<Result<_>>()?,
        status: rows::status(row, "status")?,
        survivor: row.try_get::<Option<uuid::Uuid>, _>("survivor")?.map(UserId::from_uuid),
        at: rows::time(row, "at")?,
    })
}

/// Rows numbered per transaction (the `LIMIT` in `Dialect::sequence_changes`).
pub(super) const SEQUENCE_BATCH: u64 = 10_000;

impl Backend {
    /// Numbers changes that became visible since the last run; returns how many.
    pub(crate) async fn sequence_changes(&self) -> Result<u64> {
        let sequencer = DIALECT.sequencer();
        let horizon = self.horizon.load(Ordering::Relaxed);
        // Most calls find nothing to number: check with a read before taking a write lock.
        let pending = self.conns.fetch_optional(sqlx::query(sequencer.pending).bind(horizon)).await?;
        if pending.is_none() {
            return Ok(0);
        }
        let mut numbered = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let next = match sequencer.lock {
                Some(lock) => Some(sqlx::query(lock).fetch_one(&mut *tx).await?.try_get::<i64, _>(0)?),
                None => None,
            };
            let n = sqlx::query(sequencer.number).bind(horizon).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            numbered += n;
            if n < SEQUENCE_BATCH {
                // Every row visible to the run's snapshot is numbered, and every transaction
                // older than that snapshot's oldest running one had finished: all their rows
                // are numbered now.
                if let Some(next) = next {
                    self.horizon.fetch_max(next, Ordering::Relaxed);
                }
                return Ok(numbered);
            }
        }
    }

    /// Changes with `seq > after`, in order: those the sequencer has numbered. Read-only, so a
    /// read replica can serve it.
    pub(crate) async fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<Change>> {
        let query = sqlx::query(
            "SELECT seq, user_id, source, actor, kind, fields, status, survivor, at FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit));
        let found = self.conns.fetch_all(query).await?;
        found.iter().map(change).collect()
    }

    /// A page of one person's numbered changes in the order they were written, after the one
    /// with row id `after`, each with its row id (the next page's `after`). A person's changes
    /// are written in turn (each under the person's lock), so this is also their `seq` order. By
    /// `(user_id, id)`, one index range per page however long the history (the export's).
    pub(crate) async fn changes_written(
        &self,
        user: UserId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, Change)>> {
        let query = sqlx::query(
            "SELECT id, seq, user_id, source, actor, kind, fields, status, survivor, at FROM changes \
             WHERE user_id = $1 AND id > $2 AND seq IS NOT NULL ORDER BY id LIMIT $3",
        )
        .bind(user.as_uuid())
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit));
        let found = self.conns.fetch_all(query).await?;
        found.iter().map(|r| Ok((r.try_get("id")?, change(r)?))).collect()
    }

    /// One person's numbered changes with `seq < before`, newest first.
    pub(crate) async fn changes_of(&self, user: UserId, before: Option<i64>, limit: u32) -> Result<Vec<Change>> {
        let query = sqlx::query(
            "SELECT seq, user_id, source, actor, kind, fields, status, survivor, at FROM changes \
             WHERE user_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(user.as_uuid())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit));
        let found = self.conns.fetch_all(query).await?;
        found.iter().map(change).collect()
    }
}
