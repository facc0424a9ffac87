use identity_server::config::{DatabaseConfig, HttpConfig, LogConfig, NetworkConfig};
use identity_server::runner::ServiceConfig;
use serde::{Deserialize, Serialize};

pub use crate::follower::MatcherConfig;

/// The admin configuration; see `deploy/admin/config.toml` for every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub network: NetworkConfig,
    pub matcher: MatcherConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8084),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            network: NetworkConfig::default(),
            matcher: MatcherConfig::default(),
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
