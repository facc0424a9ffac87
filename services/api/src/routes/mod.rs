//! The api's routes under `/api/v1`, and nothing else. Every route needs an API key; each
//! checks the scope it needs. Keys are rate limited.

mod changes;
mod docs;
pub(crate) mod error;
mod people;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use identity_server::auth::{AuthError, Authenticator, Principal};
use identity_server::hawk::{self, Hawk};
use identity_server::runner::Running;
use identity_store::{CredentialKind, Store};

pub use self::docs::ApiDoc;
use self::error::ApiError;
use crate::config::{ApiConfig, Config};
use crate::ratelimit::RateLimiter;

/// The routes' state, behind one `Arc`: axum clones it for every request.
#[derive(Clone)]
struct AppState(Arc<Shared>);

struct Shared {
    store: Store,
    auth: Authenticator,
    hawk: Option<Hawk>,
    /// The largest body read, for hashing a signed one.
    max_body: usize,
    limiter: RateLimiter,
    config: ApiConfig,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub fn routes(running: &Running, config: &Config) -> Router {
    let store = running.store().clone();
    let api = &config.api;
    let state = AppState(Arc::new(Shared {
        auth: Authenticator::new(store.clone(), CredentialKind::ApiKey),
        hawk: Hawk::new(&config.hawk, store.clone(), running.plumbing.network.clone()),
        max_body: config.http.max_body_bytes,
        store,
        limiter: RateLimiter::new(api.rate_limit_per_second.get(), api.rate_limit_burst.get()),
        config: api.clone(),
    }));
    Router::new()
        .route("/api/v1/people", get(people::list))
        .route("/api/v1/people/{id}", get(people::get))
        .route("/api/v1/people/{id}/profiles", get(people::profiles))
        .route("/api/v1/people/{id}/explain", get(people::explain))
        .route("/api/v1/changes", get(changes::feed))
        .route("/api/v1/openapi.json", get(docs::openapi))
        .route_layer(from_fn_with_state(state.clone(), authenticate))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// Checks the key (or a Hawk signature, which has every scope), then its rate.
async fn authenticate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if hawk::is_hawk(req.headers()) {
        // A signed read runs while its nonce is checked: its token is taken once the nonce
        // proved new, so a replay (refused) charges the caller nothing.
        let mut caller = None;
        let answer = hawk::admit(s.hawk.as_ref(), req, s.max_body, crate::SCOPES, |req, principal| {
            caller = Some(principal.id);
            admitted(&s, req, principal, next, Charge::Later)
        })
        .await;
        return match answer {
            Ok(answer) => {
                if let Some(id) = caller {
                    s.limiter.take(id, Instant::now());
                }
                answer
            }
            Err(refused) => refused,
        };
    }
    match s.auth.verify(req.headers().get(header::AUTHORIZATION)).await {
        Ok(principal) => admitted(&s, req, principal, next, Charge::Now).await,
        Err(AuthError::Unavailable) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "credentials cannot be checked right now")
                .into_response()
        }
        Err(e) => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()).into_response(),
    }
}

/// When a request's token is taken from its caller's bucket.
enum Charge {
    Now,
    /// By the caller of [`admitted`], once the request proved to be no replay; here the bucket
    /// is only looked at.
    Later,
}

/// A caller whose credential is good: refused while its rate is spent, else served.
async fn admitted(s: &AppState, mut req: Request, principal: Principal, next: Next, charge: Charge) -> Response {
    let now = Instant::now();
    let spent = match charge {
        Charge::Now => s.limiter.check(principal.id, now),
        Charge::Later => s.limiter.peek(principal.id, now),
    };
    if let Err(wait) = spent {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "this key is over its request rate; retry later",
        );
        e.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        return e.into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// 403 unless the key has the scope.
fn require(principal: &Principal, scope: &str) -> Result<(), ApiError> {
    if principal.has_scope(scope) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", format!("this key lacks the scope {scope}")))
    }
}

/// Refuses query parameters a route does not know, naming the first.
fn only(params: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    let mut unknown: Vec<&String> = params.keys().filter(|k| !known.contains(&k.as_str())).collect();
    unknown.sort();
    match unknown.first() {
        Some(name) => {
            Err(ApiError::parameter(name, format!("unknown parameter (this route takes: {})", known.join(", "))))
        }
        None => Ok(()),
    }
}
