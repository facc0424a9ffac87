//! Hawk nonces, recorded in batches. Every signed request records its nonce before it is
//! answered; one insert and commit per request held a signed GET to under half the rate of the
//! same GET with an API key (BENCHMARKS.md). A task takes every nonce waiting and records them in
//! one statement, `ON CONFLICT DO NOTHING RETURNING` telling which were new; each request waits
//! for its batch, so none is answered before its nonce is committed.

use std::collections::HashSet;

use sqlx::{Pool, QueryBuilder, Row as _};
use tokio::sync::{mpsc, oneshot};

use super::queue::{Batches, Queue};
use super::{Backend, Db};
use crate::columns::{Column, Columns};
use crate::error::{Result, StoreError};

/// The most nonces recorded by one statement.
const MAX_BATCH: usize = 500;

type Key = (String, String, i64);
type Reply = oneshot::Sender<Result<bool>>;

/// The queue in front of the nonce task, started on first use.
#[derive(Clone, Default)]
pub(crate) struct Batcher(Queue<(Key, Reply)>);

impl Batcher {
    fn queue(&self, pool: &Pool<Db>) -> mpsc::Sender<(Key, Reply)> {
        let pool = pool.clone();
        self.0.sender(|batches| recorder(pool, batches))
    }
}

async fn recorder(pool: Pool<Db>, mut queue: Batches<(Key, Reply)>) {
    while let Some(batch) = queue.next(MAX_BATCH).await {
        match record(&pool, &batch).await {
            Ok(new) => {
                // The same nonce twice in one batch: the first is the one that was new.
                let mut answered: HashSet<&Key> = HashSet::new();
                let mut replies = Vec::with_capacity(batch.len());
                for (key, _) in &batch {
                    replies.push(new.contains(key) && answered.insert(key));
                }
                for ((_, reply), first_use) in batch.into_iter().zip(replies) {
                    let _ = reply.send(Ok(first_use));
                }
            }
            Err(e) => {
                let said = e.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(StoreError::Unavailable(sqlx::Error::Protocol(said.clone()))));
                }
            }
        }
    }
}

/// Inserts the batch's nonces; returns those that were not there before.
async fn record(pool: &Pool<Db>, batch: &[(Key, Reply)]) -> Result<HashSet<Key>> {
    let mut qb = QueryBuilder::<Db>::new("INSERT INTO hawk_nonces (key_id, nonce, ts) ");
    // Columns, not a VALUES list: on PostgreSQL one statement text (one array per column) for
    // every batch of more than one nonce (and one for a single nonce), so it is parsed and
    // planned once per connection, not once per batch size.
    let columns = Columns(vec![
        Column::Text(batch.iter().map(|((id, ..), _)| Some(id.clone())).collect()),
        Column::Text(batch.iter().map(|((_, nonce, _), _)| Some(nonce.clone())).collect()),
        Column::Int(batch.iter().map(|((.., ts), _)| *ts).collect()),
    ]);
    super::push_columns(&mut qb, columns, "true");
    // ON CONFLICT rather than an error: PostgreSQL would log the failed key with its values.
    qb.push(" ON CONFLICT DO NOTHING RETURNING key_id, nonce, ts");
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(|r| Ok((r.try_get("key_id")?, r.try_get("nonce")?, r.try_get("ts")?))).collect()
}

impl Backend {
    /// Records a Hawk request's nonce; `false` if it was recorded before (a replay), by any
    /// process on this database.
    pub(crate) async fn hawk_nonce_first_use(&self, key_id: &str, nonce: &str, ts: i64) -> Result<bool> {
        let (reply, answer) = oneshot::channel();
        let key = (key_id.to_owned(), nonce.to_owned(), ts);
        if self.nonces.queue(&self.write).send((key, reply)).await.is_err() {
            return Err(StoreError::Unavailable(sqlx::Error::PoolClosed));
        }
        answer.await.unwrap_or(Err(StoreError::Unavailable(sqlx::Error::PoolClosed)))
    }
}
