use identity_server::config::{DatabaseConfig, HttpConfig, LogConfig, NetworkConfig};
use identity_server::runner::ServiceConfig;
use serde::{Deserialize, Serialize};

/// The api's configuration; see `deploy/api/config.toml` for every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub network: NetworkConfig,
    pub api: ApiConfig,
}

/// Paging and the per-key rate limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Requests per second each API key may make, on average (per process: a key calling N
    /// replicas behind a load balancer gets N times this).
    pub rate_limit_per_second: f64,
    /// Requests a key may make in a burst above the average.
    pub rate_limit_burst: f64,
    /// `limit` when a listing gives none, and the largest allowed.
    pub default_limit: u32,
    pub max_limit: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self { rate_limit_per_second: 100.0, rate_limit_burst: 200.0, default_limit: 100, max_limit: 1000 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8082),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            network: NetworkConfig::default(),
            api: ApiConfig::default(),
        }
    }
}

impl ServiceConfig for Config {
    fn http(&self) -> &HttpConfig {
        &self.http
    }
    fn http_mut(&mut self) -> &mut HttpConfig {
        &mut self.http
    }
    fn database(&self) -> &DatabaseConfig {
        &self.database
    }
    fn log(&self) -> &LogConfig {
        &self.log
    }
    fn network(&self) -> &NetworkConfig {
        &self.network
    }
}
