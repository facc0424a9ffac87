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
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        .test_before_acquire(false)
        .after_connect(|conn, _| Box::pin(sql::set_up(conn)))
        .connect_lazy_with(options);
    Ok(Backend::new(conns, writer))
}
