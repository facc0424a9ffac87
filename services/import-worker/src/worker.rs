//! The worker loop: claims queued jobs (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so any
//! number of workers share the queue) and processes their stored rows chunk by chunk. Each
//! chunk's writes commit together with the job's checkpoint, so a worker killed at any moment
//! leaves the job exactly after its last committed chunk: when its lease runs out another worker
//! (or the same one restarted) resumes there, and no row is applied twice or lost.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use chrono::Utc;
use identity_core::import::result::{join_notes, ResultRow};
use identity_core::import::Header;
use identity_store::{ChunkResults, ImportJob, ImportRowResult, OutcomeCounts, Store, StoreError};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::{watch, Notify};

use crate::config::ImportConfig;
use crate::engine::{Engine, EngineError, InputRow, Target, WouldBeAdded};
use crate::registry::Registry;

/// How many times a chunk is retried when a concurrent writer took one of its people.
const CONFLICT_RETRIES: u32 = 5;

/// Claims in a row that moved a job no further before it fails. A job that stops every worker
/// that takes it (one that exhausts memory, say) would otherwise be taken again at each lease
/// expiry for ever, and hold up the jobs queued behind it. A committed chunk, or resuming the
/// job, starts the count again, so restarts of a job that progresses never fail it.
pub const MAX_CLAIMS: i32 = 10;

/// Waits before a chunk is tried again after the database became unavailable under it (a
/// restart, a failover, an administrator ending the session): nothing of the chunk committed.
/// Past the last the job is left, claimed until its lease runs out, for the next claim.
const OUTAGE_WAITS: [Duration; 6] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// How often a worker looks for uploads that stopped arriving.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub struct Worker<R> {
    pub store: Store,
    /// An upload still receiving after this long was cut off with the process receiving it (an
    /// upload cannot outlast the HTTP request timeout), and its job is failed.
    pub stale_upload_after: Duration,
    pub engine: Engine<R>,
    pub config: ImportConfig,
    /// Names this worker in job claims: host, process and a random suffix.
    pub id: String,
    /// Woken when a job is queued, so an idle worker starts at once instead of at its next poll.
    pub wake: std::sync::Arc<Notify>,
    pub rows_processed: Counter,
}

/// How a job run ended.
enum Ended {
    Done,
    Failed(String),
    /// Shutdown or a lost claim: the job stays claimable.
    Left,
}

fn lease_until(lease: Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30))
}

fn stored_results(results: &[ResultRow]) -> (Vec<ImportRowResult>, OutcomeCounts) {
    let mut counts = OutcomeCounts::default();
    let rows = results
        .iter()
        .map(|r| {
            counts.add(r.outcome);
            ImportRowResult {
                row_number: i64::try_from(r.row_number).unwrap_or_default(),
                outcome: r.outcome,
                notes: join_notes(&r.notes),
                user_id: r.user_id,
            }
        })
        .collect();
    (rows, counts)
}

impl<R: Registry> Worker<R> {
    /// Runs until `shutdown` turns true; a job in progress stops after its current chunk.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker.id = %self.id, "import worker started");
        let mut last_sweep: Option<std::time::Instant> = None;
        while !*shutdown.borrow() {
            if last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
                self.sweep_stale_uploads().await;
                last_sweep = Some(std::time::Instant::now());
            }
            match self.store.import_job_claim(&self.id, lease_until(self.config.lease())).await {
                Ok(Some(job)) => self.run_job(job, &shutdown).await,
                Ok(None) => {
                    tokio::select! {
                        () = tokio::time::sleep(self.config.poll()) => {}
                        () = self.wake.notified() => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim import jobs");
                    tokio::time::sleep(self.config.poll()).await;
                }
            }
        }
        tracing::info!(worker.id = %self.id, "import worker stopped");
    }

    async fn sweep_stale_uploads(&self) {
        let cutoff =
            Utc::now() - chrono::Duration::from_std(self.stale_upload_after).unwrap_or(chrono::Duration::hours(1));
        match self
            .store
            .import_jobs_abandon_stale(cutoff, "the upload stopped arriving (the process receiving it stopped)")
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "failed import jobs whose upload stopped arriving"),
            Err(e) => tracing::warn!(error = %e, "cannot look for uploads that stopped arriving"),
        }
    }

    async fn run_job(&self, job: ImportJob, shutdown: &watch::Receiver<bool>) {
        tracing::info!(import.job_id = %job.id, import.rows_done = job.rows_done, import.dry_run = job.dry_run, "processing import job");
        let ended = if job.attempts > MAX_CLAIMS {
            Ended::Failed(format!(
                "{} workers in a row took this job and none moved it on; find out what stopped them (the \
                 worker logs name the job), then resume with POST /imports/{}/resume",
                job.attempts - 1,
                job.id
            ))
        } else {
            match Header::from_line(&job.columns) {
                Err(e) => Ended::Failed(format!("stored header is unreadable: {e}")),
                Ok(header) if job.dry_run => self.dry_run(&job, &header).await,
                Ok(header) => self.apply(&job, &header, shutdown).await,
            }
        };
        let outcome = match &ended {
            Ended::Done => self.store.import_job_finish(job.id, &self.id, None).await,
            Ended::Failed(reason) => {
                tracing::warn!(import.job_id = %job.id, reason = %reason, "import job failed");
                self.store.import_job_finish(job.id, &self.id, Some(reason)).await
            }
            Ended::Left => Ok(()),
        };
        match outcome {
            Ok(()) => tracing::info!(import.job_id = %job.id, "import job ended"),
            Err(e) => tracing::warn!(import.job_id = %job.id, error = %e, "cannot record the end of an import job"),
        }
    }

    async fn next_rows(&self, job: &ImportJob, after: i64) -> Result<Vec<InputRow>, StoreError> {
        let rows = self.store.import_rows(job.id, after, self.config.chunk_rows).await?;
        Ok(rows
            .into_iter()
            .map(|r| InputRow { row_number: r.row_number, source_id: r.source_id, raw: r.raw_data, problem: r.problem })
            .collect())
    }

    async fn apply(&self, job: &ImportJob, header: &Header, shutdown: &watch::Receiver<bool>) -> Ended {
        let actor = format!("import:{}", job.id);
        let target = Target { header, service: &job.service, actor: &actor, job: Some(job.id) };
        let mut after = job.rows_done;
        loop {
            if *shutdown.borrow() {
                // The lease runs out and another worker resumes after `after`.
                return Ended::Left;
            }
            let mut outages = OUTAGE_WAITS.iter();
            let rows = loop {
                match self.next_rows(job, after).await {
                    Ok(rows) => break rows,
                    Err(e) if e.is_unavailable() => {
                        if !self.wait_out(job, &e, outages.next()).await {
                            return Ended::Left;
                        }
                    }
                    Err(e) => return Ended::Failed(format!("cannot read the job's rows: {e}")),
                }
            };
            let Some(last) = rows.last().map(|r| r.row_number) else { return Ended::Done };
            let mut attempt = 0;
            loop {
                match self.apply_chunk(job, target, &rows, after, last).await {
                    Ok(()) => break,
                    Err(ChunkError::Engine(EngineError::Conflict(what))) if attempt < CONFLICT_RETRIES => {
                        attempt += 1;
                        tracing::debug!(import.job_id = %job.id, conflict = ?what, "retrying a chunk after a concurrent write");
                    }
                    Err(ChunkError::Engine(EngineError::Store(StoreError::PrecedenceChanged)))
                        if attempt < CONFLICT_RETRIES =>
                    {
                        attempt += 1;
                        tracing::debug!(import.job_id = %job.id, "retrying a chunk after a new precedence version");
                    }
                    Err(ChunkError::Engine(EngineError::Store(e))) if e.is_unavailable() => {
                        if !self.wait_out(job, &e, outages.next()).await {
                            return Ended::Left;
                        }
                        // A commit whose answer was lost may have gone through.
                        if self.store.import_job(job.id).await.is_ok_and(|j| j.rows_done >= last) {
                            break;
                        }
                    }
                    Err(ChunkError::Engine(EngineError::Registry(e))) => {
                        return Ended::Failed(format!(
                            "{e}. Rows up to {after} are applied; resume with POST /imports/{}/resume",
                            job.id
                        ))
                    }
                    Err(ChunkError::ClaimLost) => {
                        tracing::warn!(import.job_id = %job.id, "another worker took over the job");
                        return Ended::Left;
                    }
                    Err(ChunkError::Engine(e)) => return Ended::Failed(format!("{e}")),
                }
            }
            self.rows_processed.inc_by(rows.len() as u64);
            after = last;
        }
    }

    /// Waits before a try after the database was unavailable; `false` when the waits are used
    /// up (the job is then left to its lease).
    async fn wait_out(&self, job: &ImportJob, e: &StoreError, wait: Option<&Duration>) -> bool {
        let Some(wait) = wait else {
            tracing::warn!(import.job_id = %job.id, error = %e, "the database stayed unavailable; the job goes back to the queue when its lease runs out");
            return false;
        };
        tracing::warn!(import.job_id = %job.id, error = %e, retry_in_ms = wait.as_millis() as u64, "the database is unavailable; retrying the chunk");
        tokio::time::sleep(*wait).await;
        true
    }

    async fn apply_chunk(
        &self,
        job: &ImportJob,
        target: Target<'_>,
        rows: &[InputRow],
        after: i64,
        last: i64,
    ) -> Result<(), ChunkError> {
        let started = std::time::Instant::now();
        let checks = self.engine.check(target.header, rows).await?;
        // A slow registry can take a while: keep the claim before writing.
        if started.elapsed() > self.config.lease() / 3 {
            claimed(self.store.import_job_renew(job.id, &self.id, lease_until(self.config.lease())).await)?;
        }
        let mut session = self.store.import_session().await.map_err(EngineError::from)?;
        let results = self.engine.apply(&mut session, target, rows, &checks).await?;
        let (results, counts) = stored_results(&results);
        let chunk = ChunkResults {
            job_id: job.id,
            worker: self.id.clone(),
            results,
            counts,
            after,
            rows_done: last,
            lease_until: lease_until(self.config.lease()),
        };
        claimed(session.record_results(&chunk).await)?;
        session.commit().await.map_err(EngineError::from)?;
        Ok(())
    }

    /// A dry run decides every row in one transaction that is rolled back, so rows see the
    /// earlier rows' users without anything being kept; the results, spooled to a temporary
    /// file, are stored afterwards, without the ids of the people it would have added (see
    /// [`WouldBeAdded`]). A dry run interrupted by a crash starts again from row one.
    async fn dry_run(&self, job: &ImportJob, header: &Header) -> Ended {
        match self.dry_run_inner(job, header).await {
            Ok(()) => Ended::Done,
            Err(ChunkError::ClaimLost) => Ended::Left,
            // Its transaction is gone: it starts again at the next claim.
            Err(ChunkError::Engine(EngineError::Store(e))) if e.is_unavailable() => {
                tracing::warn!(import.job_id = %job.id, error = %e, "the database became unavailable during a dry run; it starts again at the next claim");
                Ended::Left
            }
            Err(ChunkError::Engine(e)) => Ended::Failed(format!("{e}")),
        }
    }

    async fn dry_run_inner(&self, job: &ImportJob, header: &Header) -> Result<(), ChunkError> {
        if job.rows_done > 0 || job.counts.total() > 0 {
            claimed(self.store.import_job_restart(job.id, &self.id).await)?;
        }
        let spool_path = std::env::temp_dir().join(format!("identity-dry-run-{}.jsonl", job.id));
        let spool_error =
            |e: std::io::Error| ChunkError::Engine(EngineError::Store(StoreError::Corrupt(format!("spool file: {e}"))));
        let mut spool = std::io::BufWriter::new(std::fs::File::create(&spool_path).map_err(spool_error)?);
        let actor = format!("import:{}", job.id);
        let target = Target { header, service: &job.service, actor: &actor, job: Some(job.id) };
        // The transaction can outlast the lease (a big file, a slow registry): the claim is held
        // meanwhile, so no other worker takes the job and runs it a second time.
        let hold = claimed(self.store.import_claim_hold(job.id, &self.id, lease_until(self.config.lease())).await)?;
        let mut session = self.store.import_dry_run_session().await.map_err(EngineError::from)?;
        let mut after = 0;
        let mut would_be_added = WouldBeAdded::default();
        loop {
            let rows = self.next_rows(job, after).await.map_err(EngineError::from)?;
            let Some(last) = rows.last().map(|r| r.row_number) else { break };
            let mut results = self.engine.process(&mut session, target, &rows).await?;
            would_be_added.hide(&mut results);
            for r in stored_results(&results).0 {
                let line =
                    serde_json::json!([r.row_number, r.outcome.as_str(), r.notes, r.user_id.map(|u| u.to_string())]);
                writeln!(spool, "{line}").map_err(spool_error)?;
            }
            self.rows_processed.inc_by(rows.len() as u64);
            after = last;
        }
        session.rollback().await.map_err(EngineError::from)?;
        claimed(hold.release(lease_until(self.config.lease())).await)?;
        spool.flush().map_err(spool_error)?;
        drop(spool);

        let lines = BufReader::new(std::fs::File::open(&spool_path).map_err(spool_error)?).lines();
        let mut batch = Vec::new();
        let mut counts = OutcomeCounts::default();
        let mut lines = lines.peekable();
        let mut after = 0;
        while let Some(line) = lines.next() {
            let line = line.map_err(spool_error)?;
            let (row_number, outcome, notes, user): (i64, String, String, Option<String>) =
                serde_json::from_str(&line).map_err(|e| spool_error(std::io::Error::other(e)))?;
            let outcome = outcome.parse().map_err(|e: String| spool_error(std::io::Error::other(e)))?;
            counts.add(outcome);
            batch.push(ImportRowResult { row_number, outcome, notes, user_id: user.and_then(|u| u.parse().ok()) });
            if batch.len() == self.config.chunk_rows as usize || lines.peek().is_none() {
                let last = batch.last().map_or(0, |r| r.row_number);
                let chunk = ChunkResults {
                    job_id: job.id,
                    worker: self.id.clone(),
                    results: std::mem::take(&mut batch),
                    counts: std::mem::take(&mut counts),
                    after,
                    rows_done: last,
                    lease_until: lease_until(self.config.lease()),
                };
                let mut session = self.store.import_session().await.map_err(EngineError::from)?;
                claimed(session.record_results(&chunk).await)?;
                session.commit().await.map_err(EngineError::from)?;
                after = last;
            }
        }
        let _ = std::fs::remove_file(&spool_path);
        Ok(())
    }
}

enum ChunkError {
    Engine(EngineError),
    /// Another worker holds the job now (this one's lease ran out).
    ClaimLost,
}

impl From<EngineError> for ChunkError {
    fn from(e: EngineError) -> Self {
        Self::Engine(e)
    }
}

/// A store call made under the job's claim: `NotFound` means another worker holds the job now.
fn claimed<T>(result: Result<T, StoreError>) -> Result<T, ChunkError> {
    match result {
        Err(StoreError::NotFound) => Err(ChunkError::ClaimLost),
        other => Ok(other.map_err(EngineError::from)?),
    }
}
