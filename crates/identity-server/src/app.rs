//! What every binary's router gets: the health routes and the shared layers.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::Router;
use identity_store::Store;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::{HttpConfig, NetworkConfig};
use crate::gate::{self, Gate};
use crate::health::{self, Readiness};
use crate::metrics::Metrics;
use crate::network::NetworkProfile;

/// The shared state of a running binary's plumbing.
#[derive(Debug, Clone)]
pub struct Plumbing {
    pub store: Store,
    pub ready: Readiness,
    pub metrics: Arc<Metrics>,
    pub network: NetworkProfile,
    pub http: HttpConfig,
}

impl Plumbing {
    pub fn new(store: Store, ready: Readiness, metrics: Metrics, network: NetworkConfig, http: HttpConfig) -> Self {
        Self { store, ready, metrics: Arc::new(metrics), network: NetworkProfile::new(network), http }
    }

    /// Wraps a binary's own routes (with their fallback) in the shared layers and adds the
    /// health routes. Layers apply only to routes already added, so this runs last.
    pub fn wrap(&self, routes: Router) -> Router {
        let app = routes.merge(health::routes(self.store.clone(), self.ready.clone(), self.metrics.clone()));
        let gate = Gate::new(self.network.clone(), self.ready.clone(), self.metrics.clone());
        // Outermost first: the gate (request id, span, network profile, readiness, metrics), so
        // a refused client costs nothing more and every answer is counted; panics become 500s;
        // a slow request is cut off; bodies are bounded before any extractor reads them.
        app.layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(Arc::new(gate), gate::gate))
                .layer(CatchPanicLayer::custom(|_| {
                    tracing::error!("a request handler panicked");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        [("content-type", "application/json")],
                        "{\"error\":\"internal error\"}",
                    )
                        .into_response()
                }))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, self.http.request_timeout()))
                .layer(DefaultBodyLimit::max(self.http.max_body_bytes)),
        )
    }
}
