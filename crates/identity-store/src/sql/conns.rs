//! The connections for work that needs no transaction (reads, and PostgreSQL's one-statement
//! SCIM create), reused without a round trip between uses.
//!
//! sqlx's pool pings every connection it gets back (in case a cancelled query left it in the
//! middle of the protocol), so each statement through it costs two round trips to the database:
//! on PostgreSQL the ping was a quarter of the server's work for a SCIM GET by id and took the
//! request rate from 14,000 to 17,000 a second. Here a connection is marked in use while a
//! statement runs and clean again when the statement's result comes back, even an error the
//! database answered with (the driver resynchronises before its next statement). A connection
//! still marked in use when it is let go (the request was cancelled mid-statement, or the
//! connection itself failed) is closed instead of being tested, and the next use opens a fresh
//! one. A connection must not be given back inside a transaction: sqlx only queues the ROLLBACK
//! of a dropped transaction (its ping is what would send it), and the locks would stay held.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::query::Query;
use sqlx::{ConnectOptions as _, Connection as _, Database, Executor as _};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Conn, Db, Row, DIALECT};
use crate::error::{Result, StoreError};

type Options = <Conn as sqlx::Connection>::Options;
type Args<'q> = <Db as Database>::Arguments<'q>;

/// An idle connection older than this is closed rather than lent: a firewall, a proxy or the
/// server's own timeout may have dropped it meanwhile.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long closing a connection may take before it is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the dialect's `session_setup` on a new connection. The transactions' pool runs it too,
/// as its `after_connect`.
pub(crate) async fn set_up(conn: &mut Conn) -> sqlx::Result<()> {
    if let Some(setup) = DIALECT.session_setup() {
        conn.execute(setup).await?;
    }
    Ok(())
}

async fn open(options: &Options) -> sqlx::Result<Conn> {
    let mut conn = options.connect().await?;
    set_up(&mut conn).await?;
    Ok(conn)
}

/// Runs a read with `$fetch` on a lent connection, and once more on a new one if the first
/// connection turned out to be dead.
macro_rules! read_retrying {
    ($conns:ident, $query:ident, $fetch:ident) => {{
        let (sql, args) = parts($query)?;
        let mut retried = false;
        loop {
            let mut conn = $conns.acquire().await?;
            let found = sqlx::query_with(sql, args.clone()).$fetch(conn.start()).await;
            match conn.finish(found) {
                Err(e) if !retried && e.lost_connection() => retried = true,
                done => break done,
            }
        }
    }};
}

/// Up to `max` connections, opened when first needed.
#[derive(Clone)]
pub(crate) struct Conns(Arc<Shared>);

struct Shared {
    options: Options,
    /// With when each was given back.
    idle: Mutex<Vec<(Conn, Instant)>>,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl Conns {
    pub(crate) fn new(options: Options, max: u32, acquire_timeout: Duration) -> Self {
        Self(Arc::new(Shared {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
            acquire_timeout,
        }))
    }

    /// A connection of its own for the caller, waiting at most the acquire timeout for one.
    pub(crate) async fn acquire(&self) -> Result<Leased> {
        let wait = tokio::time::timeout(self.0.acquire_timeout, self.0.permits.clone().acquire_owned());
        let permit = match wait.await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
            Err(_) => return Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        };
        let conn = match self.idle_conn() {
            Some(conn) => conn,
            None => tokio::time::timeout(self.0.acquire_timeout, open(&self.0.options))
                .await
                .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))??,
        };
        Ok(Leased { conn: Some(conn), in_use: false, shared: self.0.clone(), permit: Some(permit) })
    }

    /// The most recently given back idle connection, closing those idle too long.
    fn idle_conn(&self) -> Option<Conn> {
        let mut idle = self.0.idle.lock().ok()?;
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < IDLE_TIMEOUT {
                return Some(conn);
            }
            close_later(conn, None);
        }
        None
    }

    /// Closes every idle connection: one was found dead, and after a server restart or a
    /// failover they all are. Each would otherwise fail one request before it was replaced.
    fn forget_idle(&self) {
        let idle = match self.0.idle.lock() {
            Ok(mut idle) => std::mem::take(&mut *idle),
            Err(_) => return,
        };
        for (conn, _) in idle {
            close_later(conn, None);
        }
    }

    // The `fetch_*` are for reads only: a read whose connection turns out to be dead is sent
    // once more, on a new connection (`read_retrying!`).

    pub(crate) async fn fetch_optional<'q>(&self, query: Query<'q, Db, Args<'q>>) -> Result<Option<Row>> {
        read_retrying!(self, query, fetch_optional)
    }

    pub(crate) async fn fetch_all<'q>(&self, query: Query<'q, Db, Args<'q>>) -> Result<Vec<Row>> {
        read_retrying!(self, query, fetch_all)
    }

    pub(crate) async fn fetch_one<'q>(&self, query: Query<'q, Db, Args<'q>>) -> Result<Row> {
        read_retrying!(self, query, fetch_one)
    }

    /// Refuses new work and closes the idle connections. Work in flight finishes; its
    /// connection is closed when it is let go.
    pub(crate) async fn close(&self) {
        // Under the lock, so that a connection let go meanwhile is either taken here or closed.
        let idle = match self.0.idle.lock() {
            Ok(mut idle) => {
                self.0.permits.close();
                std::mem::take(&mut *idle)
            }
            Err(_) => Vec::new(),
        };
        for (conn, _) in idle {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, conn.close()).await;
        }
    }
}

/// A query's text and arguments, so that it can be sent again.
fn parts<'q>(mut query: Query<'q, Db, Args<'q>>) -> Result<(&'q str, Args<'q>)> {
    use sqlx::Execute as _;
    let args = query.take_arguments().map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
    Ok((query.sql(), args.unwrap_or_default()))
}

/// A connection lent out: back to the idle list when dropped clean, closed otherwise.
pub(crate) struct Leased {
    /// Always `Some` until `drop` takes it.
    conn: Option<Conn>,
    in_use: bool,
    shared: Arc<Shared>,
    /// Held until the connection is back or closed, so that no more than `max` are ever open.
    permit: Option<OwnedSemaphorePermit>,
}

impl Leased {
    /// The connection, for statements whose result is then passed to [`Leased::finish`].
    pub(crate) fn start(&mut self) -> &mut Conn {
        self.in_use = true;
        match self.conn.as_mut() {
            Some(conn) => conn,
            None => unreachable!("a lent connection is only taken when dropped"),
        }
    }

    /// Marks the connection clean once the statements have answered, unless the error says the
    /// connection itself is gone or out of step (it is then closed when let go).
    pub(crate) fn finish<T, E: Into<StoreError>>(&mut self, result: std::result::Result<T, E>) -> Result<T> {
        let result = result.map_err(Into::into);
        self.in_use = matches!(&result, Err(e) if !leaves_connection_usable(e));
        if matches!(&result, Err(e) if e.lost_connection()) {
            Conns(self.shared.clone()).forget_idle();
        }
        result
    }
}

/// Whether an error leaves its connection fit for the next statement: the server answered (a
/// constraint, a bad statement, no row) or the answer did not decode. A connection error, a
/// server shutting the session down (both `Unavailable`) or a driver out of step with the server
/// do not.
fn leaves_connection_usable(e: &StoreError) -> bool {
    match e {
        StoreError::NotFound | StoreError::AlreadyExists(_) | StoreError::Corrupt(_) => true,
        StoreError::Database(sqlx::Error::Database(_)) => true,
        // (`RowNotFound` arrives as `NotFound`.)
        StoreError::Database(
            sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::TypeNotFound { .. },
        ) => true,
        _ => false,
    }
}

/// Closes a connection in the background (closing says goodbye to the server, which otherwise
/// logs a dropped socket as an error), keeping its permit until it is closed. Outside a runtime
/// the connection is simply dropped.
fn close_later(conn: Conn, permit: Option<OwnedSemaphorePermit>) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, conn.close()).await;
            drop(permit);
        });
    }
}

impl Drop for Leased {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let permit = self.permit.take();
        if !self.in_use {
            if let Ok(mut idle) = self.shared.idle.lock() {
                // Checked under the lock `close` empties the list under.
                if !self.shared.permits.is_closed() {
                    idle.push((conn, Instant::now()));
                    return;
                }
            }
        }
        close_later(conn, permit);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr as _;

    use sqlx::Row as _;

    use super::super::DIALECT;
    use super::*;
    use crate::dialect::Dialect;
    use crate::testing::TestDatabase;

    /// A database of this backend, and one connection lent on it (a temporary table is the
    /// mark of one particular connection: it lives and dies with it).
    async fn one_connection() -> Option<(TestDatabase, Conns)> {
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
        Some((db, Conns::new(Options::from_str(&url).unwrap(), 1, Duration::from_millis(200))))
    }

    /// Both kinds of connection, lent here and pooled for transactions, run the session setup.
    #[tokio::test]
    async fn new_connections_flush_evicted_pages_early_on_postgres() {
        let Dialect::Postgres = DIALECT else { return };
        let Some(db) = TestDatabase::postgres().await else { return };
        let backend = super::super::super::connect(&db.url, &crate::PoolConfig::default()).unwrap();
        let show = "SHOW backend_flush_after";
        // The server's own default differs, or this test would pass without the setup.
        let mut plain = Options::from_str(&db.url).unwrap().connect().await.unwrap();
        let default: String = sqlx::query(show).fetch_one(&mut plain).await.unwrap().get(0);
        assert_ne!(default, "256kB");
        plain.close().await.unwrap();
        let lent: String = backend.conns.fetch_one(sqlx::query(show)).await.unwrap().get(0);
        let pooled: String = sqlx::query(show).fetch_one(&backend.write).await.unwrap().get(0);
        assert_eq!((lent.as_str(), pooled.as_str()), ("256kB", "256kB"));
        backend.close().await;
        db.drop_now().await;
    }

    async fn marked(conn: &mut Leased) -> bool {
        let found = sqlx::query("SELECT count(*) FROM mark").fetch_one(conn.start()).await;
        conn.finish(found).is_ok()
    }

    #[tokio::test]
    async fn a_finished_statement_gives_its_connection_back_and_an_unfinished_one_closes_it() {
        let Some((db, conns)) = one_connection().await else { return };
        let mut conn = conns.acquire().await.unwrap();
        let made = sqlx::query("CREATE TEMPORARY TABLE mark (x INTEGER)").execute(conn.start()).await;
        conn.finish(made).unwrap();
        drop(conn);
        let mut conn = conns.acquire().await.unwrap();
        assert!(marked(&mut conn).await, "a statement that finished left its connection for the next");

        // A statement the database refused: the connection stays, and works.
        let refused = sqlx::query("SELECT x FROM no_such_table").fetch_all(conn.start()).await;
        assert!(conn.finish(refused).is_err());
        drop(conn);
        let mut conn = conns.acquire().await.unwrap();
        assert!(marked(&mut conn).await, "kept after an error the database answered with");

        // A statement started and never finished (a cancelled request): the connection is not
        // reused.
        let _ = conn.start();
        drop(conn);
        let mut conn = conns.acquire().await.unwrap();
        assert!(!marked(&mut conn).await, "the next use got a fresh connection");
        drop(conn);
        conns.close().await;
        db.drop_now().await;
    }

    /// PostgreSQL restarting or an administrator ending the session: the connection that finds
    /// out is closed, and the next caller gets a working one.
    #[tokio::test]
    async fn a_connection_the_server_ended_is_not_lent_again() {
        if DIALECT != Dialect::Postgres {
            return;
        }
        let Some((db, conns)) = one_connection().await else { return };
        let mut conn = conns.acquire().await.unwrap();
        let pid = sqlx::query("SELECT pg_backend_pid()").fetch_one(conn.start()).await;
        let pid: i32 = sqlx::Row::get(&conn.finish(pid).unwrap(), 0);
        drop(conn);
        let mut admin = sqlx::PgConnection::connect(&crate::testing::postgres_url()).await.unwrap();
        sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(&mut admin).await.unwrap();
        let _ = admin.close().await;

        let mut conn = conns.acquire().await.unwrap();
        let ended = sqlx::query("SELECT 1").fetch_one(conn.start()).await;
        assert!(conn.finish(ended).is_err(), "the ended session fails its next statement");
        drop(conn);
        let mut conn = conns.acquire().await.unwrap();
        let fresh = sqlx::query("SELECT 1").fetch_one(conn.start()).await;
        assert!(conn.finish(fresh).is_ok(), "and is not lent again");
        drop(conn);
        conns.close().await;
        db.drop_now().await;
    }

    #[tokio::test]
    async fn a_caller_waits_for_a_connection_only_as_long_as_the_acquire_timeout() {
        let Some((db, conns)) = one_connection().await else { return };
        let held = conns.acquire().await.unwrap();
        let waited = conns.acquire().await;
        assert!(matches!(waited, Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut))), "{:?}", waited.err());
        drop(held);
        assert!(conns.acquire().await.is_ok(), "free again once the holder let go");
        conns.close().await;
        assert!(matches!(conns.acquire().await, Err(StoreError::Unavailable(sqlx::Error::PoolClosed))));
        db.drop_now().await;
    }
}
