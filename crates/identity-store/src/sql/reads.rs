//! The connections reads run on, reused without a round trip between uses.
//!
//! sqlx's pool pings every connection it gets back (in case a cancelled query left it in the
//! middle of the protocol), so each read through it costs two round trips to the database: on
//! PostgreSQL the ping was a quarter of the server's work for a SCIM GET by id and took the
//! request rate from 17,000 to 13,000 a second. A read here marks its connection in use while a
//! statement runs and clean again when the statement's result comes back; a connection still
//! marked in use when it is let go (its statement failed, or the request was cancelled mid-way)
//! is closed instead of being tested, and the next read opens a fresh one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::query::Query;
use sqlx::{ConnectOptions as _, Connection as _, Database};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Conn, Db, Row};
use crate::error::{Result, StoreError};

type Options = <Conn as sqlx::Connection>::Options;
type Args<'q> = <Db as Database>::Arguments<'q>;

/// Up to `max` read connections, opened when first needed.
#[derive(Clone)]
pub(crate) struct Reads(Arc<Shared>);

struct Shared {
    options: Options,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl Reads {
    pub(crate) fn new(options: Options, max: u32, acquire_timeout: Duration) -> Self {
        Self(Arc::new(Shared {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
            acquire_timeout,
        }))
    }

    /// A connection of its own for the caller, waiting at most the acquire timeout for one.
    pub(crate) async fn acquire(&self) -> Result<ReadConn> {
        let wait = tokio::time::timeout(self.0.acquire_timeout, self.0.permits.clone().acquire_owned());
        let permit = match wait.await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
            Err(_) => return Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        };
        let idle = self.0.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => tokio::time::timeout(self.0.acquire_timeout, self.0.options.connect())
                .await
                .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))??,
        };
        Ok(ReadConn { conn: Some(conn), in_use: false, shared: self.0.clone(), _permit: permit })
    }

    pub(crate) async fn fetch_optional<'q>(&self, query: Query<'q, Db, Args<'q>>) -> Result<Option<Row>> {
        let mut conn = self.acquire().await?;
        let found = query.fetch_optional(conn.start()).await;
        conn.finish(found)
    }

    pub(crate) async fn fetch_all<'q>(&self, query: Query<'q, Db, Args<'q>>) -> Result<Vec<Row>> {
        let mut conn = self.acquire().await?;
        let found = query.fetch_all(conn.start()).await;
        conn.finish(found)
    }

    pub(crate) async fn fetch_one<'q>(&self, query: Query<'q, Db, Args<'q>>) -> Result<Row> {
        let mut conn = self.acquire().await?;
        let found = query.fetch_one(conn.start()).await;
        conn.finish(found)
    }

    /// Refuses new reads and closes the idle connections; reads in flight finish first.
    pub(crate) async fn close(&self) {
        self.0.permits.close();
        let idle = self.0.idle.lock().map(|mut idle| std::mem::take(&mut *idle)).unwrap_or_default();
        for conn in idle {
            let _ = conn.close().await;
        }
    }
}

/// One read's connection: back to the idle list when dropped clean, closed otherwise.
pub(crate) struct ReadConn {
    /// Always `Some` until `drop` takes it.
    conn: Option<Conn>,
    in_use: bool,
    shared: Arc<Shared>,
    _permit: OwnedSemaphorePermit,
}

impl ReadConn {
    /// The connection, for statements whose result is then passed to [`ReadConn::finish`].
    pub(crate) fn start(&mut self) -> &mut Conn {
        self.in_use = true;
        match self.conn.as_mut() {
            Some(conn) => conn,
            None => unreachable!("a read connection is only taken when dropped"),
        }
    }

    /// Marks the connection clean if the statements succeeded; after an error it is closed.
    pub(crate) fn finish<T, E: Into<StoreError>>(&mut self, result: std::result::Result<T, E>) -> Result<T> {
        let value = result.map_err(Into::into)?;
        self.in_use = false;
        Ok(value)
    }
}

impl Drop for ReadConn {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if !self.in_use && !self.shared.permits.is_closed() {
            if let Ok(mut idle) = self.shared.idle.lock() {
                idle.push(conn);
                return;
            }
        }
        // Closing says goodbye to the server (PostgreSQL logs a dropped socket as an error);
        // outside a runtime the connection is simply dropped.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = conn.close().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr as _;

    use super::super::DIALECT;
    use super::*;
    use crate::dialect::Dialect;
    use crate::testing::TestDatabase;

    /// A database of this backend, and one-connection reads on it (a temporary table is the
    /// mark of one particular connection: it lives and dies with it).
    async fn one_connection() -> Option<(TestDatabase, Reads)> {
        let (db, url) = match DIALECT {
            Dialect::Postgres => {
                let db = TestDatabase::postgres().await?;
                let url = db.url.clone();
                (db, url)
            }
            Dialect::Sqlite => {
                let db = TestDatabase::sqlite();
                let url = format!("{}?mode=rwc", db.url);
                (db, url)
            }
        };
        Some((db, Reads::new(Options::from_str(&url).unwrap(), 1, Duration::from_millis(200))))
    }

    async fn marked(conn: &mut ReadConn) -> bool {
        let found = sqlx::query("SELECT count(*) FROM mark").fetch_one(conn.start()).await;
        conn.finish(found).is_ok()
    }

    #[tokio::test]
    async fn a_finished_read_gives_its_connection_back_and_an_unfinished_one_closes_it() {
        let Some((db, reads)) = one_connection().await else { return };
        let mut conn = reads.acquire().await.unwrap();
        let made = sqlx::query("CREATE TEMPORARY TABLE mark (x INTEGER)").execute(conn.start()).await;
        conn.finish(made).unwrap();
        drop(conn);
        let mut conn = reads.acquire().await.unwrap();
        assert!(marked(&mut conn).await, "a read that finished left its connection for the next");

        // A statement started and never finished (a cancelled request): the connection is not
        // reused.
        let _ = conn.start();
        drop(conn);
        let mut conn = reads.acquire().await.unwrap();
        assert!(!marked(&mut conn).await, "the next read got a fresh connection");

        // That read failed (no such table): its connection is closed too, and the next works.
        drop(conn);
        let mut conn = reads.acquire().await.unwrap();
        let one = sqlx::query("SELECT 1").fetch_one(conn.start()).await;
        assert!(conn.finish(one).is_ok());
        drop(conn);
        reads.close().await;
        db.drop_now().await;
    }

    #[tokio::test]
    async fn a_read_waits_for_a_connection_only_as_long_as_the_acquire_timeout() {
        let Some((db, reads)) = one_connection().await else { return };
        let held = reads.acquire().await.unwrap();
        let waited = reads.acquire().await;
        assert!(matches!(waited, Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut))), "{:?}", waited.err());
        drop(held);
        assert!(reads.acquire().await.is_ok(), "free again once the holder let go");
        reads.close().await;
        assert!(matches!(reads.acquire().await, Err(StoreError::Unavailable(sqlx::Error::PoolClosed))));
        db.drop_now().await;
    }
}
