//! The SQLite backend: the embedded default, nothing to install.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::columns::{Column, Columns};
use crate::dialect::Dialect;
use crate::error::{Result, StoreError};
use crate::PoolConfig;

pub(crate) type Db = sqlx::Sqlite;
pub(crate) const DIALECT: Dialect = Dialect::Sqlite;
pub(crate) const MIGRATIONS: crate::migrations::Embedded = crate::migrations::SQLITE;

// The same query modules, compiled against this backend's driver (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;
pub(crate) use sql::{Backend, ClaimHold, Conns, Session};

/// Rows as a row source: a `VALUES` list (see `columns.rs`), `WHERE filter`. Callers keep to
/// SQLite's 32,766 bound values.
pub(crate) fn push_columns(qb: &mut sqlx::QueryBuilder<'static, Db>, columns: Columns, filter: &str) {
    crate::columns::push_values(qb, columns, filter);
}

/// `expr` is one of `values`, as `expr IN (SELECT …)`.
pub(crate) fn push_in(qb: &mut sqlx::QueryBuilder<'static, Db>, expr: &str, values: Column) {
    qb.push(format!("{expr} IN ("));
    crate::columns::push_values(qb, Columns(vec![values]), "true");
    qb.push(")");
}

/// Opens the read connections (`sql/conns.rs`) and a one-connection write pool. SQLite has one writer at a time: queueing
/// writers in the pool is cheaper and fairer than letting them collide on the file lock (the
/// floor measured write p99 rising from 12 to 78 ms with more writers and no more throughput).
pub(crate) fn connect(url: &str, config: &PoolConfig) -> Result<Backend> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Url(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL loses no committed data on a process crash, only on power loss.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        // Other processes (the three binaries can share one file) may hold the write lock.
        .busy_timeout(Duration::from_secs(10))
        // Read pages through a memory map and keep more of them per connection: without these a
        // read costs read(2) calls for pages another connection already had (measured: the
        // store's reads doubled in rate with them).
        .pragma("mmap_size", "268435456")
        .pragma("cache_size", "-32768")
        // Savepoints (the writer task's, see sql/commit.rs) journal the pages they change: in
        // memory, not in temporary files.
        .pragma("temp_store", "memory");
    let conns = Conns::new(options.clone(), config.max_connections.unwrap_or(4), config.acquire_timeout);
    // The write that fills the WAL past SQLite's 1,000 pages copies them into the database
    // before its commit returns: an import chunk's commit took 2.7 ms at the median and up to
    // 398 ms with one (BENCHMARKS.md). A task checkpoints instead, on its own connection beside
    // the writer; the writer checkpoints only past 64 MiB, should the task fall behind.
    let runtime = tokio::runtime::Handle::try_current().ok();
    let writer_options =
        if runtime.is_some() { options.clone().pragma("wal_autocheckpoint", "16384") } else { options.clone() };
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        .test_before_acquire(false)
        .after_connect(|conn, _| Box::pin(sql::set_up(conn)))
        // A transaction dropped mid-way (its request cancelled by a client that went away)
        // leaves the connection in it, its rollback only queued; the next `BEGIN IMMEDIATE` on
        // it would fail, and so would every write after it on the one write connection. Such a
        // connection is closed when it comes back (SQLite ends the transaction) and a new one
        // opened.
        .after_release(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
        .connect_lazy_with(writer_options);
    if let Some(runtime) = runtime {
        runtime.spawn(checkpoint_beside(options, writer.clone()));
    }
    Ok(Backend::new(conns, writer))
}

/// How often the WAL is checkpointed beside the writer.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies the WAL's committed pages into the database every [`CHECKPOINT_EVERY`], without
/// waiting for readers or the writer (`PASSIVE`: what a reader still needs stays in the WAL for
/// the next round), until the store is closed. Failures (another process checkpointing, say)
/// wait for the next round.
async fn checkpoint_beside(options: SqliteConnectOptions, writer: sqlx::Pool<Db>) {
    use sqlx::{ConnectOptions as _, Connection as _};
    let mut conn: Option<sqlx::SqliteConnection> = None;
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if writer.is_closed() {
            if let Some(c) = conn.take() {
                let _ = c.close().await;
            }
            return;
        }
        if conn.is_none() {
            conn = options.connect().await.ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *c).await {
            tracing::debug!(error = %e, "a WAL checkpoint did not run; trying again");
            if let Some(c) = conn.take() {
                let _ = c.close().await;
            }
        }
    }
}

/// users rebuilt with 'erased' among its statuses (migration 0008's change of its CHECK
/// constraint), with the indexes of every migration since (dropped with the old table): SQLite's documented steps for a change ALTER TABLE cannot make, in one
/// transaction, with foreign keys off around it so that dropping the old table touches no row
/// that refers to it.
const USERS_WITH_ERASED: &str = "BEGIN IMMEDIATE;
CREATE TABLE users_rebuilt (
    id          BLOB PRIMARY KEY NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'archived', 'erased')),
    merged_into BLOB REFERENCES users (id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO users_rebuilt (id, status, merged_into, created_at, updated_at)
    SELECT id, status, merged_into, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_merged_into ON users (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX users_archived ON users (updated_at, id) WHERE status = 'archived' AND merged_into IS NULL;
CREATE TRIGGER users_kept_delete BEFORE DELETE ON users
BEGIN
    SELECT RAISE(ABORT, 'users are never deleted and their ids never change');
END;
CREATE TRIGGER users_kept_id BEFORE UPDATE OF id ON users WHEN old.id IS NOT new.id
BEGIN
    SELECT RAISE(ABORT, 'users are never deleted and their ids never change');
END;
COMMIT;";

/// Changes the migrations cannot make on SQLite, made once after them: sqlx runs every migration
/// in a transaction, and SQLite switches foreign keys off only outside one. Each checks whether
/// it is needed first, so every start after the first does nothing.
pub(crate) async fn after_migrations(conn: &mut sqlx::SqliteConnection) -> Result<()> {
    let users: Option<String> =
        sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'users'")
            .fetch_optional(&mut *conn)
            .await?;
    if users.is_none_or(|sql| sql.contains("'erased'")) {
        return Ok(());
    }
    sqlx::raw_sql("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
    let rebuilt = sqlx::raw_sql(USERS_WITH_ERASED).execute(&mut *conn).await;
    if rebuilt.is_err() {
        // Fails harmlessly when BEGIN itself failed and there is nothing to undo.
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    }
    sqlx::raw_sql("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
    rebuilt?;
    Ok(())
}
