//! sso-profile's one route, `GET /api/sso/{id}`, answered from memory. Callers sign with Hawk, as
//! Staff SSO does today, or present a bearer token made with `sso-profile tokens create`. Errors
//! answer as the seed system's did.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use identity_server::auth::{AuthError, Authenticator};
use identity_server::hawk::{self, Hawk};
use identity_server::outage::Outage;
use identity_server::runner::Running;
use identity_store::CredentialKind;
use serde_json::json;

use crate::config::Config;
use crate::SignIns;

#[derive(Clone)]
struct AppState(Arc<Shared>);

struct Shared {
    signins: Arc<SignIns>,
    auth: Authenticator,
    hawk: Option<Hawk>,
    max_body: usize,
}

/// `outage` is shared with the follower: when either finds the database failing, requests stop
/// asking it for a moment.
pub fn routes(running: &Running, config: &Config, signins: Arc<SignIns>, outage: &Outage) -> Router {
    let store = running.store().clone();
    let state = AppState(Arc::new(Shared {
        signins,
        auth: Authenticator::answering_from_memory(store.clone(), CredentialKind::SsoProfileToken, outage.clone()),
        hawk: Hawk::answering_from_memory(&config.hawk, store, running.plumbing.network.clone(), outage.clone()),
        max_body: config.http.max_body_bytes,
    }));
    Router::new()
        .route("/api/sso/{id}", get(sign_in_profile))
        .route_layer(from_fn_with_state(state.clone(), authenticate))
        .fallback(not_found)
        .with_state(state)
}

fn detail(status: StatusCode, detail: &str) -> Response {
    (status, axum::Json(json!({ "detail": detail }))).into_response()
}

async fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not Found")
}

async fn sign_in_profile(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    match s.0.signins.get(&id) {
        Some(body) => (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
            .into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(json!({ "message": "Unable to find user" }))).into_response(),
    }
}

async fn authenticate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if hawk::is_hawk(req.headers()) {
        let answer = hawk::admit(s.0.hawk.as_ref(), req, s.0.max_body, &[], |req, _| next.run(req)).await;
        return answer.unwrap_or_else(|refused| refused);
    }
    match s.0.auth.verify(req.headers().get(header::AUTHORIZATION)).await {
        Ok(_) => next.run(req).await,
        Err(AuthError::Unavailable) => detail(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
        Err(_) => {
            let mut refused = detail(StatusCode::UNAUTHORIZED, "Unauthorized");
            refused
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"sso-profile\""));
            refused
        }
    }
}
