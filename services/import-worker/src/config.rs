use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use identity_server::config::{DatabaseConfig, HttpConfig, LogConfig, NetworkConfig};
use serde::{Deserialize, Serialize};

/// The import-worker configuration; see `deploy/import-worker/config.toml` for every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub network: NetworkConfig,
    pub import: ImportConfig,
    pub registry: RegistryConfig,
    pub retention: RetentionConfig,
}

/// How jobs are received and processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportConfig {
    /// The largest upload accepted, checked against Content-Length and while reading.
    pub max_upload_bytes: u64,
    /// Rows applied (and committed with the job's checkpoint) together.
    pub chunk_rows: u32,
    /// Whether `serve` also runs the worker loop (turn off for an upload-only task).
    pub worker: bool,
    /// How long a worker's claim on a job lasts without a committed chunk; a worker that dies
    /// is replaced after this.
    pub lease_ms: u64,
    /// How often an idle worker looks for queued jobs.
    pub poll_ms: u64,
}

impl ImportConfig {
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }

    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self { max_upload_bytes: 256 * 1024 * 1024, chunk_rows: 1000, worker: true, lease_ms: 30_000, poll_ms: 500 }
    }
}

/// How long identity keeps what it no longer needs (DESIGN.md §7.9; DECISIONS.md "Retention"
/// gives the reasons for the defaults). A worker's sweep, one worker at a time, removes:
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days after a job finished that its rows keep their raw CSV lines, service ids and notes
    /// (the result file needs them); its counts, outcomes and users stay.
    pub import_rows_days: u32,
    /// Days after a person was archived (deleted by its owner) that the values their history
    /// holds stay: import rows naming them, review items, their merges' undo values.
    pub archived_history_days: u32,
    /// How often a worker runs the sweep.
    pub sweep_every_s: NonZeroU64,
    /// Import rows (or archived people, a hundredth of it) per transaction.
    pub chunk_rows: NonZeroU32,
    /// Whether `serve` runs the sweep (`import-worker retention sweep` runs it once either way).
    pub enabled: bool,
}

impl RetentionConfig {
    pub fn sweep_every(&self) -> Duration {
        Duration::from_secs(self.sweep_every_s.get())
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            import_rows_days: 90,
            archived_history_days: 365,
            sweep_every_s: NonZeroU64::new(3600).unwrap_or(NonZeroU64::MIN),
            chunk_rows: NonZeroU32::new(10_000).unwrap_or(NonZeroU32::MIN),
            enabled: true,
        }
    }
}

/// The teacher registry (DQT): the embedded table (`import-worker registry load`), or a remote
/// service.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Base URL of a remote registry; empty means the embedded table.
    pub url: String,
    /// Sent as a bearer token to the remote registry. Set it from the environment
    /// (IDENTITY_REGISTRY__API_KEY), never in a file.
    pub api_key: String,
    pub timeout_ms: u64,
    /// Attempts after the first, with exponential backoff, on timeouts, 429 and 5xx.
    pub retries: u32,
    pub backoff_ms: u64,
    /// Lookups in flight at once.
    pub concurrency: usize,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            api_key: String::new(),
            timeout_ms: 5_000,
            retries: 4,
            backoff_ms: 200,
            concurrency: 8,
        }
    }
}

impl std::fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("url", &self.url)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "***" })
            .field("timeout_ms", &self.timeout_ms)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            // Uploads of large files take a while; the rest of the routes answer at once.
            http: HttpConfig { request_timeout_ms: 600_000, ..HttpConfig::with_port(8083) },
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            network: NetworkConfig::default(),
            import: ImportConfig::default(),
            registry: RegistryConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

identity_server::service_config!(Config);
