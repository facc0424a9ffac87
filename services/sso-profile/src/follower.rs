//! Loads every active SSO user's sign-in profile at start and then follows the change feed: each
//! change names a user, whose sign-in profile is read again (or dropped when they no longer have
//! one). Loading reads where the feed ends first, so a write made while loading is read again
//! from the feed and nothing is missed. While the database cannot be reached the profiles held
//! go on being served; `/metrics` shows how stale they are.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use identity_server::health::Loaded;
use identity_server::outage::Outage;
use identity_server::runner;
use identity_store::{Store, StoreError};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use tokio::sync::watch;

use crate::config::ProfilesConfig;
use crate::SignIns;

/// Changes read per query while catching up.
const FEED_PAGE: u32 = 1_000;
/// How long to wait after the database failed before trying again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// What `/metrics` shows about the profiles in memory.
#[derive(Clone)]
pub struct FeedMetrics {
    users: Gauge,
    staleness: Gauge<f64, AtomicU64>,
    delay: Histogram,
    errors: Counter,
}

impl FeedMetrics {
    pub fn register(metrics: &mut identity_server::metrics::Metrics) -> Self {
        let this = Self {
            users: Gauge::default(),
            staleness: Gauge::default(),
            delay: Histogram::new(exponential_buckets(0.005, 2.0, 12)),
            errors: Counter::default(),
        };
        metrics.register(
            "sso_profile_users",
            "Active SSO users whose sign-in profile is in memory",
            this.users.clone(),
        );
        metrics.register(
            "sso_profile_staleness_seconds",
            "Seconds since the change feed was last read to its end (0 while the follower keeps up)",
            this.staleness.clone(),
        );
        metrics.register(
            "sso_profile_change_delay_seconds",
            "From a change's write to its sign-in profile being served",
            this.delay.clone(),
        );
        metrics.register("sso_profile_feed_errors", "Reads of the database that failed", this.errors.clone());
        this
    }
}

pub struct Follower {
    store: Store,
    signins: Arc<SignIns>,
    metrics: FeedMetrics,
    config: ProfilesConfig,
    /// Told when the database fails, so requests stop asking it at once.
    outage: Outage,
}

impl Follower {
    pub fn new(
        store: Store,
        signins: Arc<SignIns>,
        metrics: FeedMetrics,
        config: ProfilesConfig,
        outage: Outage,
    ) -> Self {
        Self { store, signins, metrics, config, outage }
    }

    /// Loads, marks `loaded`, then follows the feed until `shutdown` turns true.
    pub async fn run(self, loaded: Loaded, mut shutdown: watch::Receiver<bool>) {
        let started = Instant::now();
        let mut cursor = loop {
            match self.load().await {
                Ok(cursor) => break cursor,
                Err(e) => {
                    self.metrics.errors.inc();
                    tracing::warn!(error = %e, "cannot load the sign-in profiles yet; trying again");
                }
            }
            if runner::pause(&mut shutdown, RETRY_EVERY).await {
                return;
            }
        };
        loaded.set_loaded();
        self.metrics.users.set(i64::try_from(self.signins.len()).unwrap_or(i64::MAX));
        tracing::info!(
            users = self.signins.len(),
            duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "sign-in profiles loaded"
        );

        let mut fresh_at = Instant::now();
        let mut failing = false;
        loop {
            let pause = match self.catch_up(&mut cursor).await {
                Ok(()) => {
                    if failing {
                        tracing::info!("the database answers again; following the change feed");
                        failing = false;
                    }
                    fresh_at = Instant::now();
                    Duration::from_millis(self.config.poll_ms)
                }
                Err(e) => {
                    self.metrics.errors.inc();
                    self.outage.failed();
                    if !failing {
                        tracing::warn!(error = %e, "cannot read the change feed; serving the profiles held");
                        failing = true;
                    }
                    RETRY_EVERY
                }
            };
            self.metrics.staleness.set(fresh_at.elapsed().as_secs_f64());
            self.metrics.users.set(i64::try_from(self.signins.len()).unwrap_or(i64::MAX));
            if runner::pause(&mut shutdown, pause).await {
                return;
            }
        }
    }

    /// Reads every active SSO user's sign-in profile; returns where the feed ended before.
    async fn load(&self) -> Result<i64, StoreError> {
        let expected = self.store.sso_profiles_count().await?;
        self.signins.clear(usize::try_from(expected).unwrap_or(0));
        let end = self.store.changes_end().await?;
        let mut after = None;
        loop {
            let (page, last) = self.store.sign_ins_page(after, self.config.load_page).await?;
            self.signins.add(&page);
            match last {
                Some(last) => after = Some(last),
                None => return Ok(end),
            }
        }
    }

    /// Applies every change after `cursor`, moving it on.
    async fn catch_up(&self, cursor: &mut i64) -> Result<(), StoreError> {
        loop {
            let changes = self.store.changes_after(*cursor, FEED_PAGE).await?;
            let Some(last) = changes.last() else { return Ok(()) };
            let mut users: Vec<_> = changes.iter().map(|c| c.user_id).collect();
            users.sort_unstable_by_key(|u| *u.as_uuid());
            users.dedup();
            let now = self.store.sign_ins_of(&users).await?;
            self.signins.replace(&users, &now);
            let served = chrono::Utc::now();
            for change in &changes {
                self.metrics.delay.observe((served - change.at).to_std().unwrap_or_default().as_secs_f64());
            }
            *cursor = last.seq;
            if changes.len() < FEED_PAGE as usize {
                return Ok(());
            }
        }
    }
}
