use identity_server::config::{DatabaseConfig, HttpConfig, LogConfig, NetworkConfig};
use identity_server::hawk::HawkConfig;
use serde::{Deserialize, Serialize};

/// The sso-scim configuration; see `deploy/sso-scim/config.toml` for every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub network: NetworkConfig,
    pub scim: ScimConfig,
    /// The seed system's callers' signatures (`IDENTITY_HAWK__ID`, `IDENTITY_HAWK__KEY`).
    pub hawk: HawkConfig,
}

/// SCIM limits, advertised in `/ServiceProviderConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimConfig {
    /// The most users one page returns; a larger `count` is capped to it.
    pub max_results: u64,
    /// The page size when a client gives no `count`.
    pub default_page_size: u64,
    /// The deepest `startIndex` served; deeper walks must use cursors (an offset that deep
    /// makes the database skip that many rows for every page).
    pub max_start_index: u64,
}

impl Default for ScimConfig {
    fn default() -> Self {
        Self { max_results: 1000, default_page_size: 100, max_start_index: 100_000 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8081),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            network: NetworkConfig::default(),
            scim: ScimConfig::default(),
            hawk: HawkConfig::default(),
        }
    }
}

identity_server::service_config!(Config);
