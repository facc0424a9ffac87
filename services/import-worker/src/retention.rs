//! The retention sweep (DESIGN.md §7.9, `[retention]`): removes the raw data of import rows of
//! jobs finished long enough ago, and the values the history of people archived long enough ago
//! still holds. `serve` runs it every `sweep_every_s` beside the worker loop; `import-worker
//! retention sweep` runs it once. One worker at a time holds its lease; each chunk commits with
//! the sweep's place, so a sweep stopped at any point (shutdown, kill -9) resumes where its last
//! chunk committed and redacts nothing twice.

use std::time::{Duration, Instant};

use chrono::Utc;
use identity_server::metrics::Metrics;
use identity_store::{Store, StoreError};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::watch;

use crate::config::RetentionConfig;

/// How long the sweep's lease lasts without a committed chunk: a worker that dies mid-sweep is
/// replaced after this.
const LEASE: Duration = Duration::from_secs(60);

/// Archived people per transaction, for each import row: a person's history is a handful of
/// statements where a row is one.
const PEOPLE_PER_ROW_CHUNK: u32 = 100;

/// What one run of the sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub import_rows: u64,
    pub import_jobs: u64,
    pub archived_people: u64,
}

impl std::fmt::Display for Swept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
        write!(
            f,
            "{} import {} of {} {}, and the history of {} archived {}",
            self.import_rows,
            plural(self.import_rows, "row", "rows"),
            self.import_jobs,
            plural(self.import_jobs, "job", "jobs"),
            self.archived_people,
            plural(self.archived_people, "person", "people"),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("another worker is sweeping (its lease lasts up to {}s after its last chunk)", LEASE.as_secs())]
    Held,
    #[error("another worker took the sweep over (this one stalled for longer than its lease)")]
    Lost,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SweepError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::Lost,
            e => Self::Store(e),
        }
    }
}

/// What `/metrics` shows of the sweep.
#[derive(Clone, Default)]
pub struct SweepMetrics {
    rows: Counter,
    jobs: Counter,
    people: Counter,
    runs: Counter,
    failures: Counter,
    /// Unix time of the last sweep that finished.
    last: Gauge,
}

impl SweepMetrics {
    pub fn register(&self, metrics: &mut Metrics) {
        metrics.register(
            "retention_import_rows_redacted",
            "Import rows whose raw data the retention sweep removed",
            self.rows.clone(),
        );
        metrics.register(
            "retention_import_jobs_redacted",
            "Import jobs the retention sweep finished with",
            self.jobs.clone(),
        );
        metrics.register(
            "retention_archived_people_redacted",
            "Archived people whose history's values the retention sweep removed",
            self.people.clone(),
        );
        metrics.register("retention_sweeps", "Retention sweeps that finished", self.runs.clone());
        metrics.register(
            "retention_sweep_failures",
            "Retention sweeps that stopped on an error",
            self.failures.clone(),
        );
        metrics.register(
            "retention_last_sweep_timestamp_seconds",
            "When the last retention sweep finished (Unix time)",
            self.last.clone(),
        );
    }
}

pub struct Sweep {
    pub store: Store,
    pub config: RetentionConfig,
    /// Names this worker in the lease: host, process and a random suffix.
    pub holder: String,
    pub metrics: SweepMetrics,
}

fn days_ago(days: u32) -> chrono::DateTime<Utc> {
    Utc::now() - chrono::Duration::days(i64::from(days))
}

fn lease_until() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::seconds(60))
}

impl Sweep {
    /// Sweeps once to the end, or until `stop` turns true; `progress` sees the totals after each
    /// chunk. The lease is given up at the end.
    pub async fn run_once(
        &self,
        stop: &watch::Receiver<bool>,
        mut progress: impl FnMut(&Swept),
    ) -> Result<Swept, SweepError> {
        if !self.store.retention_lease(&self.holder, lease_until()).await? {
            return Err(SweepError::Held);
        }
        let swept = self.chunks(stop, &mut progress).await;
        if let Err(e) = self.store.retention_release(&self.holder).await {
            tracing::debug!(error = %e, "cannot give the retention lease up; it runs out");
        }
        swept
    }

    async fn chunks(
        &self,
        stop: &watch::Receiver<bool>,
        progress: &mut impl FnMut(&Swept),
    ) -> Result<Swept, SweepError> {
        let mut swept = Swept::default();
        let rows_before = days_ago(self.config.import_rows_days);
        let chunk = self.config.chunk_rows.get();
        while !*stop.borrow() {
            let Some(done) = self.store.retention_import_rows(&self.holder, rows_before, chunk, lease_until()).await?
            else {
                break;
            };
            swept.import_rows += done.rows;
            self.metrics.rows.inc_by(done.rows);
            if done.job_done {
                swept.import_jobs += 1;
                self.metrics.jobs.inc();
            }
            progress(&swept);
        }
        let archived_before = days_ago(self.config.archived_history_days);
        let people = (chunk / PEOPLE_PER_ROW_CHUNK).max(1);
        while !*stop.borrow() {
            let Some(done) =
                self.store.retention_archived(&self.holder, archived_before, people, lease_until()).await?
            else {
                break;
            };
            swept.archived_people += done;
            self.metrics.people.inc_by(done);
            progress(&swept);
        }
        Ok(swept)
    }

    /// Sweeps every `sweep_every_s` until `shutdown` turns true; a sweep in progress stops after
    /// its current chunk, and the next one resumes there.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let started = Instant::now();
            match self.run_once(&shutdown, |_| {}).await {
                Ok(_) if *shutdown.borrow() => return,
                Ok(swept) => {
                    self.metrics.runs.inc();
                    self.metrics.last.set(Utc::now().timestamp());
                    tracing::info!(
                        retention.import_rows = swept.import_rows,
                        retention.import_jobs = swept.import_jobs,
                        retention.archived_people = swept.archived_people,
                        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "retention sweep done"
                    );
                }
                Err(SweepError::Held) => tracing::debug!("another worker holds the retention sweep"),
                Err(e) => {
                    self.metrics.failures.inc();
                    tracing::warn!(error = %e, "the retention sweep stopped; the next one resumes where it left off");
                }
            }
            if identity_server::runner::pause(&mut shutdown, self.config.sweep_every()).await {
                return;
            }
        }
    }
}
