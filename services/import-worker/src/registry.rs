//! The teacher registry (DQT): TRN → legal names and date of birth. Two implementations behind
//! one trait: the embedded table in identity's own database (the default, loaded with
//! `import-worker registry load`), and an HTTP client for a remote registry.
//!
//! The remote protocol: `GET {url}/teachers/{trn}` with `Authorization: Bearer {api_key}`
//! answers 200 with `{"trn", "firstName", "middleName", "lastName", "dateOfBirth": "YYYY-MM-DD"}`
//! or 404. Timeouts, connection failures, 429 and 5xx are retried with exponential backoff
//! (honouring `Retry-After`); when the retries run out the registry is `Unavailable`, which
//! stops the job resumably and never marks a row Invalid.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use futures_util::{stream, StreamExt, TryStreamExt};
use identity_core::{DateOfBirth, RegistryRecord, Trn};
use identity_store::Store;
use serde::Deserialize;

use crate::config::RegistryConfig;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Worth trying again later: the job is stopped, not its rows.
    #[error("the teacher registry is unavailable: {0}")]
    Unavailable(String),
    /// The registry answered something this client does not understand.
    #[error("the teacher registry answered unexpectedly: {0}")]
    Protocol(String),
}

pub trait Registry: Send + Sync {
    /// The records of those TRNs that exist.
    fn lookup(&self, trns: &[Trn]) -> impl Future<Output = Result<HashMap<Trn, RegistryRecord>, RegistryError>> + Send;
}

/// The registry table in identity's own database.
#[derive(Debug, Clone)]
pub struct EmbeddedRegistry(pub Store);

impl Registry for EmbeddedRegistry {
    async fn lookup(&self, trns: &[Trn]) -> Result<HashMap<Trn, RegistryRecord>, RegistryError> {
        let found = self.0.registry_get(trns).await.map_err(|e| RegistryError::Unavailable(e.to_string()))?;
        Ok(found.into_iter().map(|r| (r.trn.clone(), r)).collect())
    }
}

/// A remote registry over HTTP.
#[derive(Debug, Clone)]
pub struct RemoteRegistry {
    http: reqwest::Client,
    base: String,
    api_key: String,
    retries: u32,
    backoff: Duration,
    concurrency: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Teacher {
    trn: String,
    first_name: String,
    middle_name: Option<String>,
    last_name: String,
    date_of_birth: chrono::NaiveDate,
}

/// Longest wait a `Retry-After` can ask for before the attempt counts as failed.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

impl RemoteRegistry {
    pub fn new(config: &RegistryConfig) -> Result<Self, RegistryError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| RegistryError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: config.url.trim_end_matches('/').to_owned(),
            api_key: config.api_key.clone(),
            retries: config.retries,
            backoff: Duration::from_millis(config.backoff_ms),
            concurrency: config.concurrency.max(1),
        })
    }

    async fn keyed(&self, trn: Trn) -> Result<(Trn, Option<RegistryRecord>), RegistryError> {
        let found = self.one(&trn).await?;
        Ok((trn, found))
    }

    async fn one(&self, trn: &Trn) -> Result<Option<RegistryRecord>, RegistryError> {
        let url = format!("{}/teachers/{}", self.base, trn.as_str());
        let mut attempt = 0;
        loop {
            let mut request = self.http.get(&url);
            if !self.api_key.is_empty() {
                request = request.bearer_auth(&self.api_key);
            }
            let wait = match request.send().await {
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => return Ok(None),
                Ok(r) if r.status().is_success() => {
                    let t: Teacher = r
                        .json()
                        .await
                        .map_err(|e| RegistryError::Protocol(format!("bad teacher record: {}", e.without_url())))?;
                    return record(t, trn).map(Some);
                }
                Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS || r.status().is_server_error() => {
                    let retry_after = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let why = format!("HTTP {}", r.status());
                    if attempt >= self.retries || retry_after.is_some_and(|d| d > MAX_RETRY_AFTER) {
                        return Err(RegistryError::Unavailable(why));
                    }
                    retry_after.unwrap_or(self.backoff * 2u32.saturating_pow(attempt))
                }
                Ok(r) => return Err(RegistryError::Protocol(format!("HTTP {} for a lookup", r.status()))),
                Err(e) => {
                    if attempt >= self.retries {
                        return Err(RegistryError::Unavailable(e.without_url().to_string()));
                    }
                    self.backoff * 2u32.saturating_pow(attempt)
                }
            };
            attempt += 1;
            tokio::time::sleep(wait).await;
        }
    }
}

fn record(t: Teacher, asked: &Trn) -> Result<RegistryRecord, RegistryError> {
    let trn =
        Trn::parse(&t.trn).map_err(|_| RegistryError::Protocol("a teacher record with a malformed TRN".into()))?;
    if &trn != asked {
        return Err(RegistryError::Protocol("a teacher record for another TRN".into()));
    }
    Ok(RegistryRecord {
        trn,
        first_name: t.first_name,
        middle_name: t.middle_name.filter(|m| !m.trim().is_empty()),
        last_name: t.last_name,
        date_of_birth: DateOfBirth::new(t.date_of_birth),
    })
}

impl Registry for RemoteRegistry {
    async fn lookup(&self, trns: &[Trn]) -> Result<HashMap<Trn, RegistryRecord>, RegistryError> {
        let lookups: Vec<_> = trns.iter().cloned().map(|trn| self.keyed(trn)).collect();
        let found: Vec<(Trn, Option<RegistryRecord>)> =
            stream::iter(lookups).buffer_unordered(self.concurrency).try_collect().await?;
        Ok(found.into_iter().filter_map(|(trn, r)| r.map(|r| (trn, r))).collect())
    }
}

/// The registry the configuration chooses.
#[derive(Debug, Clone)]
pub enum AnyRegistry {
    Embedded(EmbeddedRegistry),
    Remote(RemoteRegistry),
}

impl AnyRegistry {
    pub fn from_config(config: &RegistryConfig, store: &Store) -> Result<Self, RegistryError> {
        if config.url.is_empty() {
            Ok(Self::Embedded(EmbeddedRegistry(store.clone())))
        } else {
            RemoteRegistry::new(config).map(Self::Remote)
        }
    }
}

impl Registry for AnyRegistry {
    async fn lookup(&self, trns: &[Trn]) -> Result<HashMap<Trn, RegistryRecord>, RegistryError> {
        match self {
            Self::Embedded(r) => r.lookup(trns).await,
            Self::Remote(r) => r.lookup(trns).await,
        }
    }
}
