//! The matcher following the change feed: for each batch of changes, the people whose names,
//! date of birth, email or TRN changed (or who were created, or un-merged) are compared with the
//! people sharing their blocking keys, and the pairs worth a review are queued. The keys live in
//! the store (`match_keys`), kept here, so a candidate is found by an index lookup, not a scan.
//!
//! Resumable and safe with several replicas: one holds the lease at a time, and a batch's keys,
//! pairs and the new feed position are written in one transaction that checks the lease and the
//! position, so a batch is applied once whoever crashes where.

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::time::Duration;

use chrono::Utc;
use identity_core::change::{Change, ChangeKind};
use identity_core::matcher::{self, Person};
use identity_core::nicknames::Nicknames;
use identity_core::profile::Field;
use identity_core::UserId;
use identity_store::{Store, StoreError};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::matching;

/// `[matcher]` in admin's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatcherConfig {
    /// Follow the change feed (one replica at a time does, whatever this says on the others).
    pub follow: bool,
    /// Changes read per batch (at least 1).
    pub batch: NonZeroU32,
    /// How long a replica's hold on the feed lasts without renewal; another takes over after it.
    pub lease_ms: u64,
    /// How long to wait when the feed has nothing new.
    pub idle_ms: u64,
}

impl Default for MatcherConfig {
    fn default() -> Self {
        Self { follow: true, batch: NonZeroU32::MIN.saturating_add(999), lease_ms: 30_000, idle_ms: 1000 }
    }
}

/// What one batch found.
#[derive(Debug, Default, PartialEq)]
pub struct Batch {
    pub keys: Vec<(UserId, Vec<String>)>,
    pub pairs: Vec<identity_store::NewPeopleReview>,
}

/// Whether a change can make its person someone else's duplicate.
fn worth_comparing(c: &Change) -> bool {
    const MATCHED: [Field; 5] = [Field::FirstName, Field::LastName, Field::DateOfBirth, Field::Email, Field::Trn];
    match c.kind {
        ChangeKind::Created | ChangeKind::Unmerged => true,
        ChangeKind::ProfileUpdated => c.fields.iter().any(|f| MATCHED.contains(f)),
        ChangeKind::StatusChanged
        | ChangeKind::Archived
        | ChangeKind::Linked
        | ChangeKind::Merged
        | ChangeKind::Erased => false,
    }
}

/// The keys and pairs of one batch of changes.
pub async fn batch(store: &Store, nicknames: &Nicknames, changes: &[Change]) -> Result<Batch, StoreError> {
    let touched: Vec<UserId> = changes.iter().map(|c| c.user_id).collect::<BTreeSet<_>>().into_iter().collect();
    let subjects: BTreeSet<UserId> = changes.iter().filter(|c| worth_comparing(c)).map(|c| c.user_id).collect();
    let now = store.people_of(&touched).await?;
    let mut keys = Vec::with_capacity(now.len());
    let mut people: Vec<(UserId, Person)> = Vec::new();
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for p in &now {
        if p.user.status.is_gone() {
            keys.push((p.user.id, Vec::new()));
            continue;
        }
        let person = Person::from_combined(&p.combined);
        let own = matcher::blocking_keys(&person);
        if subjects.contains(&p.user.id) {
            wanted.extend(own.iter().cloned());
            people.push((p.user.id, person));
        }
        keys.push((p.user.id, own));
    }
    let subject_count = people.len();
    let wanted: Vec<String> = wanted.into_iter().collect();
    let except: Vec<UserId> = people.iter().map(|(id, _)| *id).collect();
    let max_per_key = u32::try_from(matching::MAX_BLOCK).unwrap_or(u32::MAX);
    for found in store.match_candidates(&wanted, max_per_key, &except).await? {
        people.push((found.user.id, Person::from_combined(&found.combined)));
    }
    let (pairs, _) =
        matching::pairs(people.len(), |i| people[i].0, |i| people[i].1.clone(), |i| i < subject_count, nicknames);
    Ok(Batch { keys, pairs })
}

/// What the follower shows on `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct FollowerMetrics {
    /// Changes read and applied (by this replica).
    pub changes: Counter,
    /// Pairs queued for review.
    pub queued: Counter,
    /// The feed position this replica last moved to: behind the feed's newest `seq` by the
    /// follower's lag.
    pub position: Gauge,
}

impl FollowerMetrics {
    pub fn register(&self, metrics: &mut identity_server::metrics::Metrics) {
        metrics.register("matcher_changes_followed", "Changes the matcher has followed", self.changes.clone());
        metrics.register("matcher_pairs_queued", "Pairs the matcher has queued for review", self.queued.clone());
        metrics.register("matcher_feed_position", "The change feed seq the matcher has reached", self.position.clone());
    }
}

/// Follows the feed until `shutdown` turns true. Errors (the database away, say) are logged and
/// the loop goes on after a pause: the position is only moved with a batch's results.
pub async fn follow(
    store: Store,
    config: MatcherConfig,
    holder: String,
    metrics: FollowerMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let nicknames = Nicknames::built_in();
    let idle = Duration::from_millis(config.idle_ms);
    let lease = chrono::Duration::milliseconds(i64::try_from(config.lease_ms).unwrap_or(i64::MAX));
    let mut held = None;
    while !*shutdown.borrow() {
        let pause = match step(&store, nicknames, &config, &holder, lease, &mut held, &metrics).await {
            Ok(true) => Duration::ZERO,
            Ok(false) => idle,
            Err(e) => {
                held = None;
                tracing::warn!(error = %e, "the matcher could not follow the change feed; trying again");
                idle
            }
        };
        if !pause.is_zero() {
            identity_server::runner::pause(&mut shutdown, pause).await;
        }
    }
}

/// The lease this replica holds: the feed position it has reached and when the lease runs out.
struct Held {
    after: i64,
    until: chrono::DateTime<Utc>,
}

/// One batch; `true` if there may be more right away.
async fn step(
    store: &Store,
    nicknames: &Nicknames,
    config: &MatcherConfig,
    holder: &str,
    lease: chrono::Duration,
    held: &mut Option<Held>,
    metrics: &FollowerMetrics,
) -> Result<bool, StoreError> {
    // The lease is renewed (a write) only once half of it has run: an idle follower reads the
    // feed, it does not write every round. A lease still half-run is this replica's for sure;
    // `matcher_advance` checks it anyway.
    let now = Utc::now();
    let after = match held {
        Some(h) if now + lease / 2 < h.until => h.after,
        _ => {
            let Some(after) = store.matcher_lease(holder, now + lease).await? else {
                *held = None;
                return Ok(false);
            };
            *held = Some(Held { after, until: now + lease });
            after
        }
    };
    let changes = store.changes_after(after, config.batch.get()).await?;
    let Some(last) = changes.last().map(|c| c.seq) else { return Ok(false) };
    let found = batch(store, nicknames, &changes).await?;
    match store.matcher_advance(holder, after, last, &found.keys, &found.pairs).await {
        Ok(queued) => {
            if let Some(h) = held {
                h.after = last;
            }
            metrics.changes.inc_by(changes.len() as u64);
            metrics.queued.inc_by(queued);
            metrics.position.set(last);
            if queued > 0 {
                tracing::info!(queued, through = last, "the matcher queued pairs for review");
            }
            Ok(changes.len() == config.batch.get() as usize)
        }
        // Another replica took the lease meanwhile: the batch is its to do.
        Err(StoreError::NotFound) => {
            *held = None;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
