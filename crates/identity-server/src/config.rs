//! Layered configuration: built-in defaults → a TOML file (`--config FILE`; the deploy images pass
//! `deploy/<binary>/config.toml`) → `IDENTITY_<SECTION>__<KEY>` environment variables →
//! `DATABASE_URL`. Unknown keys are refused, so a typo fails at start with its name instead of
//! being silently ignored.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The HTTP server of a binary.
/// Each binary has its own default port, so there is no `Default`: the loader fills missing keys
/// from the binary's defaults before deserialising.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    /// The externally visible base URL (`https://sso-scim.example.gov.uk`), used in `Location`
    /// headers and SCIM `meta.location`. Defaults to `http://<bind>`.
    pub public_url: Option<String>,
    /// Requests taking longer are answered 503 (the timeout), never left hanging.
    pub request_timeout_ms: u64,
    /// The largest request body read, checked before any parsing.
    pub max_body_bytes: usize,
    /// A request's head must arrive within this, from its first byte (or, on a new connection,
    /// from the connection's opening): slow and trickled heads are cut off.
    pub header_timeout_ms: u64,
    /// A kept-alive connection with no request for this long is closed. Longer than the load
    /// balancer's own idle timeout (60 s on an ALB), so that it is the balancer that closes.
    pub idle_timeout_ms: u64,
    /// Open connections at most (lowered to stay below the process's descriptor limit); past it
    /// new connections wait, and a warning is logged.
    pub max_connections: usize,
}

impl HttpConfig {
    pub fn with_port(port: u16) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], port)),
            public_url: None,
            request_timeout_ms: 30_000,
            max_body_bytes: 1024 * 1024,
            header_timeout_ms: 10_000,
            idle_timeout_ms: 75_000,
            max_connections: 10_000,
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The base URL links are built from, without a trailing slash.
    pub fn base_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

/// The database. `DATABASE_URL` overrides `url`; without either, a SQLite file in the working
/// directory is used.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    /// Connections for reads and single statements; absent, the backend's default (8 on PostgreSQL, 4 on SQLite).
    /// Transactions have as many again on PostgreSQL and one on SQLite.
    pub max_connections: Option<u32>,
    pub acquire_timeout_ms: u64,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://identity.db";

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: DEFAULT_DATABASE_URL.to_owned(), max_connections: None, acquire_timeout_ms: 3_000 }
    }
}

impl DatabaseConfig {
    /// The URL with any password replaced, for logs.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    pub fn pool(&self, application_name: &str) -> identity_store::PoolConfig {
        identity_store::PoolConfig {
            max_connections: self.max_connections,
            acquire_timeout: Duration::from_millis(self.acquire_timeout_ms),
            application_name: application_name.to_owned(),
        }
    }
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.redacted_url())
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .finish()
    }
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum LogFormat {
    /// Human-readable on a terminal, JSON otherwise (a container's log driver).
    Auto,
    Human,
    Json,
}

/// Read by hand so that a wrong value is answered with the right ones (serde's own message
/// names the Rust type instead).
impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "auto" => Ok(Self::Auto),
            "human" => Ok(Self::Human),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?} is not a log format: expected one of \"auto\", \"human\", \"json\"")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter: `info`, `identity=debug,sqlx=warn`. `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Auto, level: "info".to_owned() }
    }
}

/// Which clients may reach the binary, mirroring its ECS security group (defence in depth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Client networks allowed to call the binary's routes.
    pub allowed_networks: Vec<IpNet>,
    /// Networks whose `X-Forwarded-For` is believed (the load balancer's subnets). A request from
    /// anywhere else is judged by its own address, whatever headers it carries.
    pub trusted_proxies: Vec<IpNet>,
    /// Extra networks allowed on `/healthz`, `/readyz` and `/metrics` only (the load balancer's
    /// health checks, the metrics scraper).
    pub health_networks: Vec<IpNet>,
}

impl Default for NetworkConfig {
    /// Loopback only: safe when a binary is started without configuration, whatever it binds.
    fn default() -> Self {
        let loopback = ["127.0.0.0/8", "::1/128"].iter().filter_map(|n| n.parse().ok()).collect();
        Self { allowed_networks: loopback, trusted_proxies: Vec::new(), health_networks: Vec::new() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Loads a binary's configuration. `T::default()` holds the built-in defaults.
pub fn load<T>(file: Option<&Path>) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    load_from(file, std::env::vars())
}

/// [`load`] with the environment given, so tests do not touch the process's.
pub fn load_from<T>(file: Option<&Path>, env: impl Iterator<Item = (String, String)>) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let defaults = config::Config::try_from(&T::default()).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let mut builder = config::Config::builder().add_source(defaults);
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::File { path: path.display().to_string(), reason: "not found".into() });
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    // Only `IDENTITY_<SECTION>__<KEY>` variables are configuration: other IDENTITY_* variables
    // (a test's database, say) must not trip the unknown-key check.
    let mut vars = config::Map::new();
    let mut database_url = None;
    for (key, value) in env {
        if key == "DATABASE_URL" {
            database_url = Some(value);
        } else if let Some(rest) = key.strip_prefix("IDENTITY_") {
            if rest.contains("__") {
                vars.insert(format!("IDENTITY_{rest}"), value);
            }
        }
    }
    builder = builder.add_source(
        config::Environment::with_prefix("IDENTITY")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(Some(vars)),
    );
    if let Some(url) = database_url {
        builder = builder.set_override("database.url", url).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    }
    let built = builder.build().map_err(|e| describe(e, file))?;
    built.try_deserialize::<T>().map_err(|e| describe(e, file))
}

fn describe(e: config::ConfigError, file: Option<&Path>) -> ConfigError {
    match file {
        Some(path) => ConfigError::File { path: path.display().to_string(), reason: e.to_string() },
        None => ConfigError::Invalid(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_log_format_is_answered_with_the_right_ones() {
        let env = [("IDENTITY_LOG__FORMAT".to_owned(), "xml".to_owned())];
        let err = load_from::<Sample>(None, env.into_iter()).unwrap_err().to_string();
        assert!(err.contains("\"xml\" is not a log format: expected one of \"auto\", \"human\", \"json\""), "{err}");
        assert!(err.contains("log.format"), "the key is named: {err}");
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        http: HttpConfig,
        database: DatabaseConfig,
        log: LogConfig,
        network: NetworkConfig,
    }

    impl Default for Sample {
        fn default() -> Self {
            Self {
                http: HttpConfig::with_port(8080),
                database: DatabaseConfig::default(),
                log: LogConfig::default(),
                network: NetworkConfig::default(),
            }
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>().into_iter()
    }

    fn write(text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("identity-config-{}.toml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn no_configuration_gives_the_defaults() {
        let c: Sample = load_from(None, env(&[])).unwrap();
        assert_eq!(c, Sample::default());
        assert_eq!(c.database.url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn file_then_environment_then_database_url_override() {
        let path =
            write("[http]\nbind = \"0.0.0.0:9000\"\nmax_body_bytes = 10\n[database]\nurl = \"sqlite://file.db\"\n");
        let c: Sample = load_from(Some(&path), env(&[("IDENTITY_HTTP__MAX_BODY_BYTES", "20")])).unwrap();
        assert_eq!(c.http.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(c.http.max_body_bytes, 20, "environment beats the file");
        assert_eq!(c.database.url, "sqlite://file.db");
        let c: Sample = load_from(Some(&path), env(&[("DATABASE_URL", "postgres://u:p@h/db")])).unwrap();
        assert_eq!(c.database.url, "postgres://u:p@h/db");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn unrelated_identity_variables_are_ignored() {
        let c: Sample =
            load_from(None, env(&[("IDENTITY_TEST_POSTGRES_URL", "x"), ("IDENTITY_REQUIRE_POSTGRES", "1")])).unwrap();
        assert_eq!(c, Sample::default());
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = load_from::<Sample>(None, env(&[("IDENTITY_HTTP__BIND", "not-an-address")])).unwrap_err().to_string();
        assert!(err.contains("bind"), "{err}");
        let path = write("[http]\nport = 1\n");
        let err = load_from::<Sample>(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("port") && err.contains(&path.display().to_string()), "{err}");
        std::fs::remove_file(path).unwrap();
        let path = write("[network]\nallowed_networks = [\"10.0.0.0/33\"]\n");
        let err = load_from::<Sample>(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("allowed_networks") || err.contains("network"), "{err}");
        std::fs::remove_file(path).unwrap();
        let missing = load_from::<Sample>(Some(Path::new("/nonexistent/identity.toml")), env(&[])).unwrap_err();
        assert!(missing.to_string().contains("not found"));
    }

    #[test]
    fn passwords_never_reach_debug_output() {
        let db = DatabaseConfig { url: "postgres://app:s3cret@db:5432/identity".into(), ..DatabaseConfig::default() };
        let shown = format!("{db:?}");
        assert!(!shown.contains("s3cret") && shown.contains("app:***@db"), "{shown}");
        assert_eq!(redact_url("sqlite://identity.db"), "sqlite://identity.db");
    }
}
