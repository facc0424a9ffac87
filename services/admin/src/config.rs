use identity_server::config::{DatabaseConfig, HttpConfig, LogConfig, NetworkConfig};
use serde::{Deserialize, Serialize};

pub use crate::follower::MatcherConfig;
pub use crate::rederive::PrecedenceConfig;

/// The admin configuration; see `deploy/admin/config.toml` for every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub network: NetworkConfig,
    pub matcher: MatcherConfig,
    pub precedence: PrecedenceConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8084),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            network: NetworkConfig::default(),
            matcher: MatcherConfig::default(),
            precedence: PrecedenceConfig::default(),
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
    fn a_follower_that_could_never_move_is_refused_at_start() {
        assert_eq!(load(&[("IDENTITY_MATCHER__BATCH", "50")]).unwrap().matcher.batch.get(), 50);
        let err = load(&[("IDENTITY_MATCHER__BATCH", "0")]).unwrap_err();
        assert!(err.contains("matcher.batch"), "{err}");
        assert!(!load(&[("IDENTITY_MATCHER__FOLLOW", "false")]).unwrap().matcher.follow);
    }

    #[test]
    fn a_rederivation_that_could_never_move_is_refused_at_start() {
        assert_eq!(load(&[("IDENTITY_PRECEDENCE__CHUNK_PEOPLE", "500")]).unwrap().precedence.chunk_people.get(), 500);
        let err = load(&[("IDENTITY_PRECEDENCE__CHUNK_PEOPLE", "0")]).unwrap_err();
        assert!(err.contains("precedence.chunk_people"), "{err}");
    }
}
