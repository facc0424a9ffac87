//! A token bucket per API key: `rate` requests a second on average, `burst` at once. Kept in
//! the process: each replica limits its own share, which is what protects it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `rate` and `burst` are at least 1 (the configuration refuses less).
    pub fn new(rate: f64, burst: f64) -> Self {
        Self { rate: rate.max(1.0), burst: burst.max(1.0), buckets: Mutex::default() }
    }

    /// Takes a token for `key` at `now`; when there is none, how long until there is.
    pub fn check(&self, key: Uuid, now: Instant) -> Result<(), Duration> {
        self.with(key, now, |bucket| {
            let there = self.wait(bucket);
            if there.is_ok() {
                bucket.tokens -= 1.0;
            }
            there
        })
    }

    /// Whether `key` has a token at `now`, taking none.
    pub fn peek(&self, key: Uuid, now: Instant) -> Result<(), Duration> {
        self.with(key, now, |bucket| self.wait(bucket))
    }

    /// Takes a token for `key` at `now` after [`RateLimiter::peek`] let its request through:
    /// requests let through together may leave the bucket owing (never more than a burst), and
    /// the next wait until it is paid back.
    pub fn take(&self, key: Uuid, now: Instant) {
        self.with(key, now, |bucket| bucket.tokens = (bucket.tokens - 1.0).max(-self.burst));
    }

    fn wait(&self, bucket: &Bucket) -> Result<(), Duration> {
        if bucket.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }

    /// Runs `f` on `key`'s bucket, refilled up to `now`.
    fn with<T>(&self, key: Uuid, now: Instant, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: self.burst, at: now });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.at = now;
        f(bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = RateLimiter::new(10.0, 3.0);
        let key = Uuid::new_v4();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(key, t0).is_ok());
        }
        let wait = limiter.check(key, t0).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100), "{wait:?}");
        assert!(limiter.check(key, t0 + Duration::from_millis(100)).is_ok());
        // Keys do not share buckets.
        assert!(limiter.check(Uuid::new_v4(), t0).is_ok());
    }

    #[test]
    fn a_peek_takes_nothing_and_a_take_may_leave_the_bucket_owing() {
        let limiter = RateLimiter::new(1.0, 2.0);
        let key = Uuid::new_v4();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limiter.peek(key, t0).is_ok());
        }
        // Three let through together by their peeks, then taken: one owed.
        for _ in 0..3 {
            limiter.take(key, t0);
        }
        assert!(limiter.peek(key, t0).is_err());
        // Owing one, the next token comes after two seconds, not one.
        assert!(limiter.peek(key, t0 + Duration::from_millis(1500)).is_err());
        assert!(limiter.check(key, t0 + Duration::from_millis(2000)).is_ok());
        // Never owing more than a burst.
        for _ in 0..10 {
            limiter.take(key, t0 + Duration::from_millis(2000));
        }
        assert!(limiter.peek(key, t0 + Duration::from_millis(4900)).is_err());
        assert!(limiter.peek(key, t0 + Duration::from_millis(5100)).is_ok());
    }
}
