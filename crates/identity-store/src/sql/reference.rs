//! Reference lists that are the department's data, not the project's (People Finder's countries
//! and UK staff locations, DESIGN.md §7.7): each loaded whole from the department's dataset, and
//! read back in its order.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row as _};

use super::{Backend, Db, DIALECT};
use crate::error::Result;
use crate::model::ReferenceList;

/// Entries per statement: well under both backends' bound-parameter limits.
const CHUNK: usize = 500;

impl Backend {
    /// Replaces `list` with `entries` (key and entry, in list order), all or nothing; returns
    /// how many were stored. Two loads at once take turns: the last one is the list.
    pub(crate) async fn reference_replace(&self, list: ReferenceList, entries: &[(String, Value)]) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        if DIALECT.locks_rows_apart() {
            // Readers go on reading the list as it was; another load waits for this one.
            sqlx::query("LOCK TABLE reference_entries IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM reference_entries WHERE list = $1").bind(list.as_str()).execute(&mut *tx).await?;
        let mut stored = 0;
        for (n, chunk) in entries.chunks(CHUNK).enumerate() {
            let mut qb = QueryBuilder::<Db>::new("INSERT INTO reference_entries (list, key, position, entry) ");
            qb.push_values(chunk.iter().enumerate(), |mut b, (i, (key, entry))| {
                // A list is bounded by the file's size limit, far below 2^31 entries.
                let position = i32::try_from(n * CHUNK + i).unwrap_or(i32::MAX);
                b.push_bind(list.as_str()).push_bind(key.clone()).push_bind(position).push_bind(Json(entry.clone()));
            });
            stored += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// `list`'s entries in order; empty until one is loaded.
    pub(crate) async fn reference_entries(&self, list: ReferenceList) -> Result<Vec<Value>> {
        let query =
            sqlx::query("SELECT entry FROM reference_entries WHERE list = $1 ORDER BY position").bind(list.as_str());
        let rows = self.conns.fetch_all(query).await?;
        rows.iter().map(|row| Ok(row.try_get::<Json<Value>, _>("entry")?.0)).collect()
    }
}
