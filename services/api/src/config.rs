use identity_server::config::{DatabaseConfig, HttpConfig, LogConfig, NetworkConfig};
use identity_server::hawk::HawkConfig;
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
    /// The seed system's callers' signatures (`IDENTITY_HAWK__ID`, `IDENTITY_HAWK__KEY`); a
    /// signed caller has every scope.
    pub hawk: HawkConfig,
}

/// Paging and the per-key rate limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Requests per second each API key may make, on average (per process: a key calling N
    /// replicas behind a load balancer gets N times this).
    pub rate_limit_per_second: Positive,
    /// Requests a key may make in a burst above the average.
    pub rate_limit_burst: Positive,
    /// `limit` when a listing gives none, and the largest allowed.
    pub default_limit: u32,
    pub max_limit: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            rate_limit_per_second: Positive(100.0),
            rate_limit_burst: Positive(200.0),
            default_limit: 100,
            max_limit: 1000,
        }
    }
}

/// A finite number of at least 1: a rate or a burst that lets a key make some requests, so a
/// typo (0, a negative) fails at start rather than refusing every request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Positive(f64);

impl Positive {
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Positive {
    type Error = String;

    fn try_from(n: f64) -> Result<Self, String> {
        if n.is_finite() && n >= 1.0 {
            Ok(Self(n))
        } else {
            Err(format!("must be a number of at least 1, not {n}"))
        }
    }
}

impl From<Positive> for f64 {
    fn from(p: Positive) -> Self {
        p.0
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
            hawk: HawkConfig::default(),
        }
    }
}

identity_server::service_config!(Config);

#[cfg(test)]
mod tests {
    use identity_server::config::load_from;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let env = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        load_from(None, env.into_iter()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_rate_that_would_refuse_everyone_is_refused_at_start() {
        assert_eq!(
            load(&[("IDENTITY_API__RATE_LIMIT_PER_SECOND", "2.5")]).unwrap().api.rate_limit_per_second.get(),
            2.5
        );
        for bad in ["0", "-1", "0.5", "NaN", "inf"] {
            let err = load(&[("IDENTITY_API__RATE_LIMIT_PER_SECOND", bad)]).unwrap_err();
            assert!(err.contains("rate_limit_per_second") && err.contains("at least 1"), "{bad}: {err}");
        }
        assert!(load(&[("IDENTITY_API__RATE_LIMIT_BURST", "0")]).unwrap_err().contains("rate_limit_burst"));
    }
}
