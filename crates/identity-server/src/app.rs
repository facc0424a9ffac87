//! What every binary's router gets: the health routes and the shared layers.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use identity_store::Store;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::{HttpConfig, NetworkConfig};
use crate::health::{self, Readiness};
use crate::metrics::{self, Metrics};
use crate::network::{self, NetworkProfile};

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
        let own = routes.layer(from_fn_with_state(self.ready.clone(), require_ready));
        let app = own.merge(health::routes(self.store.clone(), self.ready.clone(), self.metrics.clone()));
        // Outermost first: a request id for everything; then the trace span (per request at
        // debug: at tens of thousands of requests a second an info line each would dominate);
        // then the network profile, so a refused client costs nothing more; panics become 500s;
        // a slow request is cut off; bodies are bounded before any extractor reads them.
        app.layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request| {
                            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                            let route = req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |m| m.as_str());
                            tracing::debug_span!("request", request.id = %id, http.method = %req.method(), http.route = %route)
                        })
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(from_fn_with_state(self.network.clone(), network::enforce))
                .layer(CatchPanicLayer::custom(|_| {
                    tracing::error!("a request handler panicked");
                    (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "application/json")], "{\"error\":\"internal error\"}")
                        .into_response()
                }))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, self.http.request_timeout()))
                .layer(DefaultBodyLimit::max(self.http.max_body_bytes))
                .layer(from_fn_with_state(self.metrics.clone(), metrics::track)),
        )
    }
}

/// Until migrations have run, the binary's own routes answer 503 (its health routes still work).
async fn require_ready(State(ready): State<Readiness>, req: Request, next: Next) -> Response {
    if ready.is_ready() {
        next.run(req).await
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "5")], "not ready: database not migrated yet\n")
            .into_response()
    }
}
