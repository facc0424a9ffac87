//! `/healthz` (the process is up), `/readyz` (the database answers and is migrated, or, for a
//! binary that answers from memory, what it serves is loaded) and `/metrics`. Open to the load
//! balancer's networks, never authenticated: they carry no data.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use identity_store::Store;

use crate::metrics::Metrics;

/// Whether the store is usable: migrations applied. Set once, by start-up or its retry loop.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    migrated: Arc<AtomicBool>,
    memory: Arc<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    /// The binary answers from memory: readiness is `loaded`, not the database.
    answers_from_memory: AtomicBool,
    loaded: AtomicBool,
}

impl Readiness {
    pub fn set_ready(&self) {
        self.migrated.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    /// For a binary that answers from memory (sso-profile): from now on `/readyz` says whether
    /// what it serves is loaded, and stays ready while the database is down, since the binary
    /// goes on answering. The returned handle marks it loaded.
    pub fn answer_from_memory(&self) -> Loaded {
        self.memory.answers_from_memory.store(true, Ordering::Release);
        Loaded(self.memory.clone())
    }
}

/// Marks what a binary answers from memory as loaded (see [`Readiness::answer_from_memory`]).
#[derive(Debug, Clone)]
pub struct Loaded(Arc<Memory>);

impl Loaded {
    pub fn set_loaded(&self) {
        self.0.loaded.store(true, Ordering::Release);
    }
}

#[derive(Clone)]
struct HealthState {
    store: Store,
    ready: Readiness,
    metrics: Arc<Metrics>,
}

const PING_TIMEOUT: Duration = Duration::from_secs(2);

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<HealthState>) -> Response {
    if s.ready.memory.answers_from_memory.load(Ordering::Acquire) {
        // Migrated too: the gate refuses every request until then.
        return if s.ready.is_ready() && s.ready.memory.loaded.load(Ordering::Acquire) {
            (StatusCode::OK, "ready\n").into_response()
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: still loading\n").into_response()
        };
    }
    if !s.ready.is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: database not migrated yet\n").into_response();
    }
    match tokio::time::timeout(PING_TIMEOUT, s.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: database unreachable\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "not ready: database did not answer in time\n").into_response(),
    }
}

async fn metrics(State(s): State<HealthState>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], s.metrics.render())
        .into_response()
}

/// The three routes, ready to be merged into a binary's router.
pub fn routes<S>(store: Store, ready: Readiness, metrics_registry: Arc<Metrics>) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(HealthState { store, ready, metrics: metrics_registry })
}
