//! The start-up every binary shares: load config, start logs, open the store, bind, serve with
//! the shared layers until SIGTERM, with an optional background task (the import worker loop)
//! that is told to stop at shutdown and awaited.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use identity_store::Store;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

use crate::app::Plumbing;
use crate::cli::{fail, ServeArgs, ServerArgs, Serving};
use crate::config::{self, DatabaseConfig, HttpConfig, LogConfig, NetworkConfig, DEFAULT_DATABASE_URL};
use crate::health::Readiness;
use crate::metrics::Metrics;
use crate::serve::{serve, shutdown_signal};
use crate::startup::{open_store, open_store_now, serve_while_migrating};
use crate::telemetry;

/// The sections every binary's configuration has.
pub trait ServiceConfig: DeserializeOwned + Serialize + Default {
    fn http(&self) -> &HttpConfig;
    fn http_mut(&mut self) -> &mut HttpConfig;
    fn database(&self) -> &DatabaseConfig;
    fn log(&self) -> &LogConfig;
    fn network(&self) -> &NetworkConfig;
}

/// Implements [`ServiceConfig`] for a binary's configuration struct with the fields `http`,
/// `database`, `log` and `network` (every binary's sections besides its own).
#[macro_export]
macro_rules! service_config {
    ($config:ty) => {
        impl $crate::runner::ServiceConfig for $config {
            fn http(&self) -> &$crate::config::HttpConfig {
                &self.http
            }
            fn http_mut(&mut self) -> &mut $crate::config::HttpConfig {
                &mut self.http
            }
            fn database(&self) -> &$crate::config::DatabaseConfig {
                &self.database
            }
            fn log(&self) -> &$crate::config::LogConfig {
                &self.log
            }
            fn network(&self) -> &$crate::config::NetworkConfig {
                &self.network
            }
        }
    };
}

/// Loads the configuration (with `--bind` applied), starts logging and builds the async
/// runtime; on a bad configuration prints one line naming the key and returns the exit status
/// to end with.
pub fn boot<C: ServiceConfig>(
    binary: &str,
    args: &ServerArgs,
    serve: &ServeArgs,
    command: Serving<'_>,
) -> Result<(C, tokio::runtime::Runtime), ExitCode> {
    let bind = serve.bind(command).map_err(|e| fail(binary, e))?;
    let mut config: C = config::load(args.config.as_deref()).map_err(|e| fail(binary, e))?;
    if let Some(bind) = bind {
        config.http_mut().bind = bind;
    }
    telemetry::init(config.log());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(binary, format!("cannot start the async runtime: {e}")))?;
    Ok((config, runtime))
}

/// What a binary's router builder gets.
#[derive(Debug, Clone)]
pub struct Running {
    pub plumbing: Plumbing,
    /// The address actually bound (port 0 resolved).
    pub addr: SocketAddr,
    /// `http.public_url`, or `http://<addr>`.
    pub base_url: String,
    /// Becomes `true` at shutdown.
    pub shutdown: watch::Receiver<bool>,
    /// Becomes `true` once the server has answered its last request.
    pub drained: watch::Receiver<bool>,
}

impl Running {
    pub fn store(&self) -> &Store {
        &self.plumbing.store
    }
}

/// Serves a binary until SIGTERM. `build` returns the binary's own routes (with their fallback)
/// and a background task, which must return once `shutdown` turns true.
pub async fn serve_binary<C, F, B>(binary: &'static str, config: &C, metrics: Metrics, build: F) -> Result<(), String>
where
    C: ServiceConfig,
    F: FnOnce(&Running) -> (Router, B),
    B: Future<Output = ()>,
{
    let ready = Readiness::default();
    let store = open_store(config.database(), binary, &ready).await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(config.http().bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.http().bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let plumbing =
        Plumbing::new(store.clone(), ready.clone(), metrics, config.network().clone(), config.http().clone());
    let (stop, shutdown) = watch::channel(false);
    let (drain, drained) = watch::channel(false);
    let running =
        Running { plumbing: plumbing.clone(), addr, base_url: config.http().base_url(addr), shutdown, drained };
    let limits = crate::serve::ConnectionLimits::of(config.http());
    let (routes, background) = build(&running);
    let app = plumbing.wrap(routes);
    let stopping = shutdown_signal();
    tracing::info!(http.addr = %addr, service = binary, "listening");

    let signal = async move {
        stopping.await;
        let _ = stop.send(true);
    };
    let serving = async move {
        let served = serve(listener, app, limits, signal).await;
        let _ = drain.send(true);
        served
    };
    let server = async {
        let (served, ()) = tokio::join!(serving, background);
        served
    };
    serve_while_migrating(server, &store, &ready).await.map_err(|e| format!("server failed: {e}"))?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `BIN migrate`: applies migrations and exits.
pub async fn migrate(binary: &str, database: &DatabaseConfig) -> Result<(), String> {
    let store = open_store_now(database, binary).await.map_err(|e| e.to_string())?;
    store.close().await;
    eprintln!("{binary}: database migrated ({})", database.redacted_url());
    Ok(())
}

/// Opens the store for a one-shot command.
pub async fn store_for_command(binary: &str, database: &DatabaseConfig) -> Result<Store, String> {
    // A command run where no database was meant would otherwise make a new identity.db there
    // without a word. Standard error, so that standard output stays the command's answer.
    if database.url == DEFAULT_DATABASE_URL {
        eprintln!("{binary}: using {DEFAULT_DATABASE_URL} in the working directory (the default database)");
    }
    open_store_now(database, binary).await.map_err(|e| e.to_string())
}

/// Names this process among a binary's replicas, for leases (import jobs, the matcher's feed):
/// the host (`fallback` without one), the process id and a random part, so a restarted
/// process never takes up the lease its predecessor held.
pub fn replica_id(fallback: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| fallback.to_owned());
    format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// How often a writer numbers the change log's new rows: the change feed's lag behind writes.
/// Short, because a run's cost grows with the rows waiting: under 8,000 SCIM creates a second,
/// numbering every 200 ms stalled PostgreSQL long enough to lift the creates' p99 from 7 ms to
/// 9-11 ms (BENCHMARKS.md); an idle run is one indexed read.
pub const SEQUENCE_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// Numbers the change log's new rows (see `Store::sequence_changes`) until `shutdown` turns true.
/// Every binary that writes runs it; several at once are safe (they take turns). Follow it with
/// [`sequence_last_changes`] once everything that writes has stopped.
pub async fn sequence_changes(store: Store, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(e) = store.sequence_changes().await {
            tracing::warn!(error = %e, "cannot number the change log");
        }
        if pause(&mut shutdown, SEQUENCE_EVERY).await {
            return;
        }
    }
}

/// Sleeps for `duration` between two rounds of a background loop; true when shutdown has begun
/// (before or meanwhile), so that the loop ends.
pub async fn pause(shutdown: &mut watch::Receiver<bool>, duration: std::time::Duration) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(duration) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

/// Numbers the last writes before shutdown, once the server has answered its last request
/// (`drained`): a request still in flight when shutdown began commits after the loop's last run.
pub async fn sequence_last_changes(store: &Store, mut drained: watch::Receiver<bool>) {
    let _ = drained.wait_for(|drained| *drained).await;
    if let Err(e) = store.sequence_changes().await {
        tracing::warn!(error = %e, "cannot number the last changes before shutdown");
    }
}
