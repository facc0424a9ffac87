//! How small writes commit: SCIM's, and People Finder's. On PostgreSQL each runs in its own
//! transaction on whichever pool connection is free: the server runs them side by side and
//! groups their commits itself. SQLite has one writer at a time, and a commit costs a write of
//! every page it touched: so a writer task takes every small write waiting and commits them
//! together, each in its own savepoint, so a write that fails (a taken `userName`) undoes only
//! itself. Callers still get their answer only once their write is committed; one that stops
//! waiting does not stop its write.

use identity_core::precedence::Precedence;
use sqlx::{Acquire, Pool};
use tokio::sync::{mpsc, oneshot};

use super::peoplefinder::{PeopleFinderPut, Version};
use super::precedence::{in_force, Cache};
use super::queue::{Batches, Queue};
use super::sso::{create_many, SsoWrite};
use super::{Backend, Conn, Db, DIALECT};
use crate::error::{Result, StoreError};
use crate::model::{Actor, PeopleFinderWritten, SsoUser, SsoUserWrite};

/// The most writes committed together.
const MAX_BATCH: usize = 64;

/// A write for SQLite's writer task.
enum Small {
    Sso(SsoWrite),
    PeopleFinder(PeopleFinderPut),
}

/// What a [`Small`] write answers.
enum Done {
    Sso(Option<SsoUser>),
    PeopleFinder(Box<PeopleFinderWritten>),
}

impl Small {
    fn as_create(&self) -> Option<(&SsoUserWrite, &Actor)> {
        match self {
            Self::Sso(w) => w.as_create(),
            Self::PeopleFinder(_) => None,
        }
    }

    async fn run(&self, conn: &mut Conn, precedence: &Precedence) -> Result<Done> {
        match self {
            Self::Sso(w) => w.run(conn, precedence).await.map(Done::Sso),
            Self::PeopleFinder(w) => {
                w.run(conn, Version::Read(precedence)).await.map(|w| Done::PeopleFinder(Box::new(w)))
            }
        }
    }
}

type Reply = oneshot::Sender<Result<Done>>;

/// A write waiting for the writer task.
type Pending = (Small, Reply);

/// The queue in front of SQLite's writer task, started on first use.
#[derive(Clone, Default)]
pub(crate) struct Combiner(Queue<Pending>);

impl Combiner {
    fn queue(&self, pool: &Pool<Db>, precedence: &Cache) -> mpsc::Sender<Pending> {
        let (pool, precedence) = (pool.clone(), precedence.clone());
        self.0.sender(|batches| writer(pool, precedence, batches))
    }
}

async fn writer(pool: Pool<Db>, precedence: Cache, mut queue: Batches<Pending>) {
    while let Some(batch) = queue.next(MAX_BATCH).await {
        commit_batch(&pool, &precedence, batch).await;
    }
}

async fn commit_batch(pool: &Pool<Db>, precedence: &Cache, batch: Vec<Pending>) {
    // Creates go together through multi-row statements: one statement per table for the whole
    // batch. If one of them conflicts the transaction is thrown away and every write is redone
    // in its own savepoint, to find which.
    let creates = batch.iter().filter(|(w, ..)| w.as_create().is_some()).count();
    if creates > 1 {
        match together(pool, precedence, &batch).await {
            Ok(results) => {
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "a batched create conflicted; retrying the batch one write at a time")
            }
        }
    }
    one_by_one(pool, precedence, batch).await;
}

/// The batch in one transaction: the creates in multi-row statements, the other writes each in
/// a savepoint. Fails as a whole if a create fails.
async fn together(pool: &Pool<Db>, precedence: &Cache, batch: &[Pending]) -> Result<Vec<Result<Done>>> {
    let mut tx = pool.begin_with(DIALECT.begin_write()).await?;
    // Read with the one write lock held: no version can be set until the batch commits.
    let precedence = in_force(&mut tx, precedence).await?;
    let precedence = &precedence.precedence;
    let creates: Vec<_> = batch.iter().filter_map(|(w, ..)| w.as_create()).collect();
    let mut created = create_many(&mut tx, &creates, precedence).await?.into_iter();
    let mut results = Vec::with_capacity(batch.len());
    for (write, _) in batch {
        results.push(match write.as_create() {
            Some(_) => Ok(Done::Sso(created.next())),
            None => in_savepoint(&mut tx, write, precedence).await,
        });
    }
    tx.commit().await?;
    Ok(results)
}

async fn in_savepoint(tx: &mut sqlx::Transaction<'static, Db>, write: &Small, precedence: &Precedence) -> Result<Done> {
    let mut savepoint = tx.begin().await?;
    match write.run(&mut savepoint, precedence).await {
        Ok(out) => {
            savepoint.commit().await?;
            Ok(out)
        }
        Err(e) => {
            let _ = savepoint.rollback().await;
            Err(e)
        }
    }
}

/// The error each writer of a batch gets when the batch's BEGIN or COMMIT fails.
fn shared_failure(error: StoreError) -> impl Fn() -> StoreError {
    let busy = error.is_unavailable();
    let reason = error.to_string();
    move || if busy { StoreError::Busy(reason.clone()) } else { StoreError::Commit(reason.clone()) }
}

async fn one_by_one(pool: &Pool<Db>, precedence: &Cache, batch: Vec<Pending>) {
    let begun = match pool.begin_with(DIALECT.begin_write()).await {
        Ok(mut tx) => in_force(&mut tx, precedence).await.map(|p| (tx, p)),
        Err(e) => Err(e.into()),
    };
    let (mut tx, precedence) = match begun {
        Ok(begun) => begun,
        Err(e) => {
            let failure = shared_failure(e);
            for (_, reply) in batch {
                let _ = reply.send(Err(failure()));
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(batch.len());
    for (write, reply) in batch {
        let result = in_savepoint(&mut tx, &write, &precedence.precedence).await;
        done.push((reply, result));
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, result) in done {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            let failure = shared_failure(e.into());
            for (reply, result) in done {
                let _ = reply.send(result.and(Err(failure())));
            }
        }
    }
}

impl Backend {
    /// Hands a write to SQLite's writer task and waits for it to be committed.
    async fn combined(&self, write: Small) -> Result<Done> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Commit("the writer has stopped".into());
        self.combiner.queue(&self.write, &self.precedence).send((write, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Commits People Finder's write through SQLite's writer task.
    pub(super) async fn commit_peoplefinder(&self, write: PeopleFinderPut) -> Result<PeopleFinderWritten> {
        match self.combined(Small::PeopleFinder(write)).await? {
            Done::PeopleFinder(written) => Ok(*written),
            Done::Sso(_) => Err(StoreError::Commit("the writer answered another write".into())),
        }
    }

    /// Runs a SCIM write and commits it (see the module's comment for how).
    pub(super) async fn commit_sso(&self, write: SsoWrite) -> Result<Option<SsoUser>> {
        if DIALECT.combines_writes() {
            match self.combined(Small::Sso(write)).await? {
                Done::Sso(user) => Ok(user),
                Done::PeopleFinder(_) => Err(StoreError::Commit("the writer answered another write".into())),
            }
        } else {
            // A write the server refused because it ended the session did not commit: it is
            // sent once more, on a new connection. (One whose connection just broke may have
            // committed, and is not.)
            match self.write_once(&write).await {
                Err(e) if e.server_ended_session() => self.write_once(&write).await,
                done => done,
            }
        }
    }

    async fn write_once(&self, write: &SsoWrite) -> Result<Option<SsoUser>> {
        if write.as_create().is_some() && DIALECT.merges_statements() {
            // A create is a single merged statement (see `write::Batch`), atomic on its own: no
            // BEGIN and COMMIT round trips, and no transaction pool. It derives with the version
            // this process read at most a second ago, and is written moments later: well
            // before the re-derivation's pass begins after a new one (`precedence.rs`).
            // Read before the connection is taken: the read may need a connection of its own.
            let precedence = self.precedence().await?;
            let mut conn = self.conns.acquire().await?;
            let created = write.run(conn.start(), &precedence.precedence).await;
            conn.finish(created)
        } else {
            let mut tx = self.begin_write().await?;
            // The person a replace or an archive writes is locked before the version is read
            // (the write locks them again, a no-op): a version set after this reaches them by
            // the re-derivation, which waits for the lock.
            if let Some(person) = write.person() {
                super::write::lock_users(&mut tx, &[person]).await?;
            }
            let precedence = in_force(&mut tx, &self.precedence).await?;
            let out = write.run(&mut tx, &precedence.precedence).await?;
            tx.commit().await?;
            Ok(out)
        }
    }
}
