//! The embedded teacher registry (DQT): TRN → names and date of birth.

use identity_core::{DateOfBirth, Trn};
use sqlx::{QueryBuilder, Row as _};

use super::rows::{corrupt, now};
use super::{Backend, Db, Row};
use crate::error::Result;
use crate::model::RegistryRecord;

/// Rows per statement: well under both backends' bound-parameter limits.
const CHUNK: usize = 500;

fn record(row: &Row) -> Result<RegistryRecord> {
    let trn: String = row.try_get("trn")?;
    Ok(RegistryRecord {
        trn: Trn::parse(&trn).map_err(|e| corrupt("registry_records.trn", e))?,
        first_name: row.try_get("first_name")?,
        middle_name: row.try_get("middle_name")?,
        last_name: row.try_get("last_name")?,
        date_of_birth: DateOfBirth::new(row.try_get("date_of_birth")?),
    })
}

impl Backend {
    /// Inserts or replaces records; returns how many were written. A TRN given twice keeps its
    /// last record (an upsert may touch a row once per statement).
    pub(crate) async fn registry_put(&self, records: &[RegistryRecord]) -> Result<u64> {
        let at = now();
        let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, r) in records.iter().enumerate() {
            last.insert(r.trn.as_str(), i);
        }
        let records: Vec<&RegistryRecord> =
            records.iter().enumerate().filter(|(i, r)| last[r.trn.as_str()] == *i).map(|(_, r)| r).collect();
        let mut tx = self.begin_write().await?;
        let mut written = 0;
        for chunk in records.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO registry_records (trn, first_name, middle_name, last_name, date_of_birth, updated_at) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.trn.as_str().to_owned())
                    .push_bind(r.first_name.clone())
                    .push_bind(r.middle_name.clone())
                    .push_bind(r.last_name.clone())
                    .push_bind(r.date_of_birth.date())
                    .push_bind(at);
            });
            qb.push(
                " ON CONFLICT (trn) DO UPDATE SET first_name = excluded.first_name, middle_name = excluded.middle_name, \
                 last_name = excluded.last_name, date_of_birth = excluded.date_of_birth, updated_at = excluded.updated_at",
            );
            written += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    /// The records of these TRNs that exist.
    pub(crate) async fn registry_get(&self, trns: &[Trn]) -> Result<Vec<RegistryRecord>> {
        let mut out = Vec::new();
        for chunk in trns.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT trn, first_name, middle_name, last_name, date_of_birth FROM registry_records WHERE trn IN (",
            );
            let mut list = qb.separated(", ");
            for t in chunk {
                list.push_bind(t.as_str().to_owned());
            }
            qb.push(")");
            let found = self.conns.fetch_all(qb.build()).await?;
            for row in &found {
                out.push(record(row)?);
            }
        }
        Ok(out)
    }
}
