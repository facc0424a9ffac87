use identity_server::config::{DatabaseConfig, HttpConfig, LogConfig, NetworkConfig};
use identity_server::hawk::HawkConfig;
use serde::{Deserialize, Serialize};

/// The peoplefinder configuration; see `deploy/peoplefinder/config.toml` for every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub network: NetworkConfig,
    /// People Finder's signatures (`IDENTITY_HAWK__ID`, `IDENTITY_HAWK__KEY`).
    pub hawk: HawkConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8085),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            network: NetworkConfig::default(),
            hawk: HawkConfig::default(),
        }
    }
}

identity_server::service_config!(Config);
