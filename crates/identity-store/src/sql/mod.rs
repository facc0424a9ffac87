//! The queries, shared by both backends: this module is compiled once inside `postgres` and once
//! inside `sqlite`, where `Db` and `DIALECT` name that backend's driver and SQL dialect.

mod changes;
mod commit;
mod conns;
mod credentials;
mod filter;
mod imports;
mod leases;
mod matcher;
mod merges;
mod nonces;
mod people;
mod peoplefinder;
mod personal;
mod precedence;
mod queue;
mod reference;
mod registry;
mod retention;
mod reviews;
mod rows;
mod sign_ins;
mod sso;
mod teams;
mod write;

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use sqlx::{Connection, Pool};

use super::{push_columns, push_in, Db, DIALECT, MIGRATIONS};
use crate::error::Result;

pub(crate) use conns::{set_up, Conns};
pub(crate) use imports::{ClaimHold, Session};

type Tx = sqlx::Transaction<'static, Db>;
type Conn = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

#[derive(Clone)]
pub(crate) struct Backend {
    /// Reads and single statements (`conns.rs`).
    conns: Conns,
    /// Transactions; on SQLite a pool of one connection (SQLite has one writer at a time).
    write: Pool<Db>,
    combiner: commit::Combiner,
    /// The change log's horizon (`Dialect::sequencer`), shared by this process's sequencers.
    horizon: Arc<AtomicI64>,
    /// Hawk nonces waiting to be recorded together (`nonces.rs`).
    nonces: nonces::Batcher,
    /// The precedence version in force, as last read (`precedence.rs`).
    precedence: precedence::Cache,
}

impl Backend {
    pub(crate) fn new(conns: Conns, write: Pool<Db>) -> Self {
        Self {
            conns,
            write,
            combiner: commit::Combiner::default(),
            horizon: Arc::default(),
            nonces: Default::default(),
            precedence: Default::default(),
        }
    }

    pub(crate) async fn migrate(&self) -> Result<()> {
        let mut conn = self.write.acquire().await?;
        crate::migrations::migrator(MIGRATIONS).run(&mut *conn).await?;
        super::after_migrations(&mut conn).await
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        // A connection that fails its ping is dead (the server restarted): `finish` closes it,
        // and the next read opens a fresh one.
        let mut conn = self.conns.acquire().await?;
        let pong = conn.start().ping().await;
        conn.finish(pong)
    }

    pub(crate) async fn close(&self) {
        self.conns.close().await;
        self.write.close().await;
    }

    /// A writing transaction. The pool tests a connection when it comes back, not when it goes
    /// out (a round trip per request), so after a server restart its idle connections are dead:
    /// a BEGIN that fails on one did nothing, and the next connection is tried.
    async fn begin_write(&self) -> Result<Tx> {
        let mut attempts = 0;
        loop {
            match self.write.begin_with(DIALECT.begin_write()).await.map_err(crate::error::StoreError::from) {
                Err(e) if e.lost_connection() && attempts <= self.write.options().get_max_connections() => {
                    attempts += 1;
                }
                done => return done,
            }
        }
    }
}

/// Ends `tx` as `result` says: committed if it is `Ok`, else rolled back now, not when dropped:
/// sqlx only queues a dropped transaction's ROLLBACK, and the connection may go back to be lent
/// with its locks still held.
async fn ended<T>(tx: sqlx::Transaction<'_, Db>, result: Result<T>) -> Result<T> {
    match result {
        Ok(done) => {
            tx.commit().await?;
            Ok(done)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}
