//! The middleware in front of every route, in one pass: a request id, a trace span, the network
//! profile, readiness, and the request metrics. Being outermost, the metrics count every answer:
//! refusals by the network profile, 503s before the database is ready, timeouts and panics.
//!
//! One layer rather than five: each `from_fn` or tower-http layer clones and boxes the rest of
//! the stack for every request, and at tens of thousands of requests a second the stack of them
//! was a tenth of a SCIM GET's CPU.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::health::Readiness;
use crate::metrics::Metrics;
use crate::network::{self, NetworkProfile};

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug)]
pub(crate) struct Gate {
    network: NetworkProfile,
    ready: Readiness,
    metrics: Arc<Metrics>,
    ids: RequestIds,
}

impl Gate {
    pub(crate) fn new(network: NetworkProfile, ready: Readiness, metrics: Arc<Metrics>) -> Self {
        Self { network, ready, metrics, ids: RequestIds::new() }
    }
}

/// Request ids: random per process, then counted. Unique within a process and not guessable
/// across processes, without asking the operating system for randomness per request.
#[derive(Debug)]
struct RequestIds {
    process: u64,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let mut seed = [0u8; 8];
        // Without the OS's randomness the ids are still unique within the process.
        let _ = getrandom::fill(&mut seed);
        Self { process: u64::from_le_bytes(seed), next: AtomicU64::new(0) }
    }

    fn next(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::try_from(format!("{:016x}{n:016x}", self.process)).unwrap_or(HeaderValue::from_static("-"))
    }
}

/// The method as a label: a client may send any token as a method, and each would otherwise
/// become a metric series of its own, kept for the life of the process.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub(crate) async fn gate(State(gate): State<Arc<Gate>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = match req.headers().get(&X_REQUEST_ID) {
        Some(id) => id.clone(),
        None => {
            let id = gate.ids.next();
            req.headers_mut().insert(X_REQUEST_ID.clone(), id.clone());
            id
        }
    };
    // The template is shared (`Arc<str>`): cloning it allocates nothing.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = method_label(req.method());
    // At debug: an info line per request would dominate the logs at tens of thousands a second.
    let span = tracing::debug_span!(
        "request",
        request.id = id.to_str().unwrap_or("-"),
        http.method = method,
        http.route = %route
    );
    let mut response = async {
        if let Some(refused) = gate.network.refusal(&req) {
            return refused;
        }
        // PostgreSQL's text cannot hold a NUL, and no identifier needs one: refused here for every
        // route and both backends alike, before a lookup could reach the database with it.
        if req.uri().path_and_query().is_some_and(|pq| pq.as_str().contains("%00")) {
            let body = r#"{"error":"invalid_request","message":"the URL holds a NUL character (%00)"}"#;
            return (StatusCode::BAD_REQUEST, [("content-type", "application/json")], body).into_response();
        }
        if !gate.ready.is_ready() && !network::is_health_path(req.uri().path()) {
            return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "5")], "not ready: database not migrated yet\n")
                .into_response();
        }
        let response = next.run(req).await;
        tracing::debug!(
            status = response.status().as_u16(),
            duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "answered"
        );
        response
    }
    .instrument(span)
    .await;
    response.headers_mut().entry(&X_REQUEST_ID).or_insert(id);
    // Every 503 (the database unavailable or busy, a timeout) says when to come back, whichever
    // route answered it.
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().entry(axum::http::header::RETRY_AFTER).or_insert(HeaderValue::from_static("1"));
    }
    gate.metrics.observe(method, route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_ones_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap_or(Method::GET)), "other");
    }

    #[test]
    fn request_ids_are_distinct_and_hex() {
        let ids = RequestIds::new();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        let a = a.to_str().unwrap_or_default().to_owned();
        assert!(a.len() == 32 && a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    }
}
