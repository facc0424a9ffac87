//! Leases of background jobs that one process at a time runs (the retention sweep, the
//! re-derivation after a new precedence): the job's row in its state table names the holder and
//! when its hold runs out, so another process takes over from one that stopped renewing it.

use chrono::{DateTime, Utc};

use super::rows::now;
use super::Backend;
use crate::error::Result;

/// A job's row: its state table and its name there.
#[derive(Clone, Copy)]
pub(super) struct Lease {
    pub table: &'static str,
    pub name: &'static str,
}

impl Lease {
    /// Takes (or renews) the lease for `holder` until `until`, if nobody else holds it unexpired.
    pub(super) async fn take(self, backend: &Backend, holder: &str, until: DateTime<Utc>) -> Result<bool> {
        let mut tx = backend.begin_write().await?;
        sqlx::query(&format!("INSERT INTO {} (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", self.table))
            .bind(self.name)
            .execute(&mut *tx)
            .await?;
        let taken = sqlx::query(&format!(
            "UPDATE {} SET holder = $2, lease_until = $3 \
             WHERE name = $1 AND (holder IS NULL OR holder = $2 OR lease_until < $4)",
            self.table
        ))
        .bind(self.name)
        .bind(holder)
        .bind(until)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(taken == 1)
    }

    /// Gives the lease up, so that another process need not wait for it to run out.
    pub(super) async fn release(self, backend: &Backend, holder: &str) -> Result<()> {
        sqlx::query(&format!(
            "UPDATE {} SET holder = NULL, lease_until = NULL WHERE name = $1 AND holder = $2",
            self.table
        ))
        .bind(self.name)
        .bind(holder)
        .execute(&backend.write)
        .await?;
        Ok(())
    }
}
