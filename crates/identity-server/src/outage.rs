//! For a binary that answers from memory (sso-profile): remembers that the database just failed,
//! so that requests stop asking it (each would wait for the pool's acquire timeout, seconds) until
//! a moment later, and asks it for at most a quarter of a second when it does.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use identity_store::StoreError;

/// How long the database is left alone after it failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest a request waits for the database.
const PATIENCE: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Default)]
pub struct Outage(Arc<AtomicI64>);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Outage {
    /// Whether the database failed less than a moment ago.
    pub fn is_down(&self) -> bool {
        now_ms() < self.0.load(Ordering::Relaxed)
    }

    /// Records that the database failed (the follower calls it too).
    pub fn failed(&self) {
        let until = now_ms() + i64::try_from(RETRY_AFTER.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_max(until, Ordering::Relaxed);
    }

    /// Runs `call` unless the database is taken as down, for at most [`PATIENCE`]: `None` when it
    /// was not asked, did not answer in time, or failed (anything but `NotFound`, which is an
    /// answer).
    pub async fn ask<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Option<Result<T, StoreError>> {
        if self.is_down() {
            return None;
        }
        match tokio::time::timeout(PATIENCE, call).await {
            Ok(Err(StoreError::NotFound)) => Some(Err(StoreError::NotFound)),
            Ok(Ok(answer)) => Some(Ok(answer)),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "the database failed; answering from memory for a moment");
                self.failed();
                None
            }
            Err(_) => {
                self.failed();
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_or_a_slow_answer_leaves_the_database_alone_for_a_moment() {
        let outage = Outage::default();
        assert_eq!(outage.ask(async { Ok::<_, StoreError>(1) }).await.map(Result::ok), Some(Some(1)));
        assert!(matches!(
            outage.ask(async { Err::<(), _>(StoreError::NotFound) }).await,
            Some(Err(StoreError::NotFound))
        ));
        assert!(!outage.is_down());
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, StoreError>(2)
        };
        assert!(outage.ask(slow).await.is_none(), "given up on after the patience, not awaited");
        assert!(outage.is_down());
        let mut asked = false;
        let skipped = outage
            .ask(async {
                asked = true;
                Ok::<_, StoreError>(3)
            })
            .await;
        assert!(skipped.is_none() && !asked, "not asked while down");
    }
}
