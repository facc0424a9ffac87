//! What the matcher's feed follower (admin) keeps: every live person's blocking keys, its place
//! in the change feed, and the lease that lets one replica at a time move it.

use chrono::{DateTime, Utc};
use identity_core::UserId;
use sqlx::{QueryBuilder, Row as _};

use super::people::{person, SELECT};
use super::rows::now;
use super::{Backend, Conn, Db};
use crate::columns::Column;
use crate::error::{Result, StoreError};
use crate::model::{NewPeopleReview, Person};

/// The follower's row in `matcher_state`.
const FOLLOWER: &str = "feed";

impl Backend {
    /// Takes (or renews) the follower's lease for `holder` until `until`, if nobody else holds it
    /// unexpired; returns the feed position to go on from.
    pub(crate) async fn matcher_lease(&self, holder: &str, until: DateTime<Utc>) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO matcher_state (name, after_seq) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
            .bind(FOLLOWER)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(
            "UPDATE matcher_state SET holder = $2, lease_until = $3 \
             WHERE name = $1 AND (holder IS NULL OR holder = $2 OR lease_until < $4) RETURNING after_seq",
        )
        .bind(FOLLOWER)
        .bind(holder)
        .bind(until)
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|r| r.try_get::<i64, _>("after_seq")).transpose()?)
    }

    /// The people with any of `keys` held by at most `max_per_key` people (a commoner key says
    /// nothing, and would load thousands), live, but for `except`.
    pub(crate) async fn match_candidates(
        &self,
        keys: &[String],
        max_per_key: u32,
        except: &[UserId],
    ) -> Result<Vec<Person>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = || Column::Text(keys.iter().map(|k| Some(k.clone())).collect());
        let mut qb =
            QueryBuilder::<Db>::new(format!("{} WHERE u.status NOT IN ('archived', 'erased') AND u.id IN (", *SELECT));
        qb.push("SELECT user_id FROM match_keys WHERE key IN (SELECT key FROM match_keys WHERE ");
        super::push_in(&mut qb, "key", keys());
        qb.push(" GROUP BY key HAVING count(*) <= ").push_bind(i64::from(max_per_key));
        qb.push("))");
        if !except.is_empty() {
            qb.push(" AND NOT ");
            super::push_in(&mut qb, "u.id", Column::Uuid(except.iter().map(|id| *id.as_uuid()).collect()));
        }
        let found = self.conns.fetch_all(qb.build()).await?;
        found.iter().map(person).collect()
    }

    /// The people with these ids, as they are now (any status).
    pub(crate) async fn people_of(&self, ids: &[UserId]) -> Result<Vec<Person>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(format!("{} WHERE ", *SELECT));
        super::push_in(&mut qb, "u.id", Column::Uuid(ids.iter().map(|id| *id.as_uuid()).collect()));
        let found = self.conns.fetch_all(qb.build()).await?;
        found.iter().map(person).collect()
    }

    /// Moves the follower from `from` to `to` in one transaction with what it found there: the
    /// people's new blocking keys (none for someone archived) and the pairs to queue. `NotFound`
    /// when `holder` no longer holds the lease at `from` (another replica took over): nothing
    /// is written, and the batch is someone else's.
    pub(crate) async fn matcher_advance(
        &self,
        holder: &str,
        from: i64,
        to: i64,
        keys: &[(UserId, Vec<String>)],
        pairs: &[NewPeopleReview],
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let moved =
            sqlx::query("UPDATE matcher_state SET after_seq = $3 WHERE name = $1 AND holder = $2 AND after_seq = $4")
                .bind(FOLLOWER)
                .bind(holder)
                .bind(to)
                .bind(from)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if moved == 0 {
            return Err(StoreError::NotFound);
        }
        replace_keys(&mut tx, keys).await?;
        let queued = super::reviews::add_people_reviews(&mut tx, pairs).await?;
        tx.commit().await?;
        Ok(queued)
    }
}

async fn replace_keys(conn: &mut Conn, keys: &[(UserId, Vec<String>)]) -> Result<()> {
    for chunk in keys.chunks(super::write::BATCH) {
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM match_keys WHERE ");
        super::push_in(&mut qb, "user_id", Column::Uuid(chunk.iter().map(|(id, _)| *id.as_uuid()).collect()));
        qb.build().execute(&mut *conn).await?;
        let rows: Vec<(&UserId, &String)> = chunk.iter().flat_map(|(id, ks)| ks.iter().map(move |k| (id, k))).collect();
        for part in rows.chunks(super::write::BATCH) {
            let mut qb = QueryBuilder::<Db>::new("INSERT INTO match_keys (key, user_id) ");
            super::push_columns(
                &mut qb,
                crate::columns::Columns(vec![
                    Column::Text(part.iter().map(|(_, k)| Some((*k).clone())).collect()),
                    Column::Uuid(part.iter().map(|(id, _)| *id.as_uuid()).collect()),
                ]),
                "true",
            );
            qb.push(" ON CONFLICT (key, user_id) DO NOTHING");
            qb.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}
