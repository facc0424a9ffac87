use identity_server::config::{DatabaseConfig, HttpConfig, LogConfig, NetworkConfig};
use identity_server::hawk::HawkConfig;
use serde::{Deserialize, Serialize};

/// The sso-profile configuration; see `deploy/sso-profile/config.toml` for every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub network: NetworkConfig,
    /// Staff SSO's signatures (`IDENTITY_HAWK__ID`, `IDENTITY_HAWK__KEY`).
    pub hawk: HawkConfig,
    pub profiles: ProfilesConfig,
}

/// How the profiles in memory are loaded and kept fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesConfig {
    /// How long the follower waits between reads of the change feed when it is caught up: with
    /// the writers numbering changes every 50 ms, a change is served about 100 ms after its write.
    pub poll_ms: u64,
    /// Profiles read per query while loading.
    pub load_page: u32,
}

impl Default for ProfilesConfig {
    fn default() -> Self {
        Self { poll_ms: 50, load_page: 10_000 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8086),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            network: NetworkConfig::default(),
            hawk: HawkConfig::default(),
            profiles: ProfilesConfig::default(),
        }
    }
}

identity_server::service_config!(Config);
