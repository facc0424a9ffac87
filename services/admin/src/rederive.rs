//! The re-derivation after a new precedence (DESIGN.md §7.2, `[precedence]`): every combined
//! profile derived again with the version in force, a chunk per transaction, a change appended
//! only where a value changed. `serve` runs it whenever it sees a new version (and at start, to
//! finish one a stopped process left); `admin precedence rederive` runs it once with progress.
//! One process at a time holds its lease; each chunk commits with its place, so one stopped
//! anywhere (shutdown, kill -9) resumes where its last chunk committed.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::Utc;
use identity_server::metrics::Metrics;
use identity_store::{Rederived, Store, StoreError};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// `[precedence]` in admin's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecedenceConfig {
    /// Whether `serve` re-derives after a new version (one replica at a time does).
    pub rederive: bool,
    /// People per transaction (at most 30,000: more is taken as 30,000).
    pub chunk_people: NonZeroU32,
    /// How often `serve` looks for a new version.
    pub check_every_ms: u64,
    /// How long a process's hold on the re-derivation lasts without a committed chunk; another
    /// takes over after it (a process killed mid-way is replaced this long after).
    pub lease_ms: u64,
}

impl Default for PrecedenceConfig {
    fn default() -> Self {
        Self {
            rederive: true,
            chunk_people: NonZeroU32::MIN.saturating_add(4999),
            check_every_ms: 5000,
            lease_ms: 60_000,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// The version everyone is now derived with.
    pub version: i64,
    pub people: u64,
    pub changed: u64,
    pub held_back: u64,
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "precedence version {}: {} people derived again, {} changed",
            self.version, self.people, self.changed
        )?;
        if self.held_back > 0 {
            write!(
                f,
                ", {} kept as they were (their new email address is someone else's: see DECISIONS.md)",
                self.held_back
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RederiveError {
    #[error("another process is deriving (its lease lasts up to [precedence] lease_ms after its last chunk)")]
    Held,
    #[error("another process took the re-derivation over (this one stalled for longer than its lease)")]
    Lost,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for RederiveError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::Lost,
            e => Self::Store(e),
        }
    }
}

/// What `/metrics` shows.
#[derive(Clone, Default)]
pub struct RederiveMetrics {
    people: Counter,
    changed: Counter,
    held_back: Counter,
    failures: Counter,
    /// The version every combined profile is derived with, as far as this process knows.
    derived: Gauge,
}

impl RederiveMetrics {
    pub fn register(&self, metrics: &mut Metrics) {
        metrics.register(
            "precedence_rederived_people",
            "People whose combined profile was derived again after a new precedence",
            self.people.clone(),
        );
        metrics.register(
            "precedence_rederive_changed",
            "Combined profiles a new precedence changed",
            self.changed.clone(),
        );
        metrics.register(
            "precedence_rederive_held_back",
            "Combined profiles kept as they were because their new address is someone else's",
            self.held_back.clone(),
        );
        metrics.register(
            "precedence_rederive_failures",
            "Re-derivations that stopped on an error",
            self.failures.clone(),
        );
        metrics.register(
            "precedence_derived_version",
            "The precedence version every combined profile was last seen derived with",
            self.derived.clone(),
        );
    }
}

pub struct Rederivation {
    pub store: Store,
    pub config: PrecedenceConfig,
    /// Names this process in the lease.
    pub holder: String,
    pub metrics: RederiveMetrics,
}

impl Rederivation {
    fn lease_until(&self) -> chrono::DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(i64::try_from(self.config.lease_ms).unwrap_or(60_000))
    }

    /// Derives everyone again with the version in force, to the end or until `stop` turns
    /// true; `progress` sees the totals after each chunk. The lease is given up at the end.
    pub async fn run_once(
        &self,
        stop: &watch::Receiver<bool>,
        mut progress: impl FnMut(&Totals),
    ) -> Result<Totals, RederiveError> {
        if !self.store.rederive_lease(&self.holder, self.lease_until()).await? {
            return Err(RederiveError::Held);
        }
        let done = self.chunks(stop, &mut progress).await;
        if let Err(e) = self.store.rederive_release(&self.holder).await {
            tracing::debug!(error = %e, "cannot give the re-derivation's lease up; it runs out");
        }
        done
    }

    async fn chunks(
        &self,
        stop: &watch::Receiver<bool>,
        progress: &mut impl FnMut(&Totals),
    ) -> Result<Totals, RederiveError> {
        let mut totals = Totals::default();
        let mut stop = stop.clone();
        while !*stop.borrow() {
            match self.store.rederive_step(&self.holder, self.config.chunk_people.get(), self.lease_until()).await? {
                Rederived::UpToDate { version } => {
                    totals.version = version;
                    self.metrics.derived.set(version);
                    break;
                }
                Rederived::Chunk(chunk) => {
                    if chunk.version != totals.version && totals.version != 0 {
                        // A version set meanwhile: everyone again, with it.
                        totals = Totals::default();
                    }
                    totals.version = chunk.version;
                    totals.people += chunk.people;
                    totals.changed += chunk.changed;
                    totals.held_back += chunk.held_back;
                    self.metrics.people.inc_by(chunk.people);
                    self.metrics.changed.inc_by(chunk.changed);
                    self.metrics.held_back.inc_by(chunk.held_back);
                    progress(&totals);
                }
                Rederived::Settling { at, .. } => {
                    // The lease must outlast the wait (a few seconds at most).
                    self.store.rederive_lease(&self.holder, self.lease_until()).await?;
                    let wait = (at - Utc::now()).to_std().unwrap_or_default();
                    if identity_server::runner::pause(&mut stop, wait).await {
                        break;
                    }
                }
            }
        }
        Ok(totals)
    }

    /// Re-derives at start (finishing what a stopped process left) and whenever the version in
    /// force is not the one last derived, until `shutdown`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut derived = None;
        loop {
            let current = self.store.precedence().await.map(|p| p.version);
            if let Err(e) = &current {
                self.metrics.failures.inc();
                tracing::warn!(error = %e, "cannot read the precedence in force; looking again at the next check");
            }
            if current.as_ref().is_ok_and(|v| Some(*v) != derived) {
                match self.run_once(&shutdown, |_| {}).await {
                    Ok(_) if *shutdown.borrow() => return,
                    Ok(totals) => {
                        if totals.people > 0 {
                            tracing::info!(
                                precedence.version = totals.version,
                                precedence.people = totals.people,
                                precedence.changed = totals.changed,
                                precedence.held_back = totals.held_back,
                                "combined profiles derived again"
                            );
                        }
                        derived = Some(totals.version);
                    }
                    Err(RederiveError::Held) => tracing::debug!("another process holds the re-derivation"),
                    Err(e) => {
                        self.metrics.failures.inc();
                        tracing::warn!(error = %e, "the re-derivation stopped; the next one resumes where it left off");
                    }
                }
            }
            if identity_server::runner::pause(&mut shutdown, Duration::from_millis(self.config.check_every_ms)).await {
                return;
            }
        }
    }
}
