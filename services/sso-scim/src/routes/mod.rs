//! sso-scim's routes: SCIM 2.0 under `/scim/v2` (and `/api/scim/v2`, the seed system's path) and
//! nothing else. Every route needs a SCIM bearer token or, from the seed system's callers, a Hawk
//! signature; errors are RFC 7644 error bodies (a refused Hawk signature answers as the seed
//! system does).

mod discovery;
mod error;
mod users;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use identity_scim::discovery::Capabilities;
use identity_server::auth::{AuthError, Authenticator};
use identity_server::hawk::{self, Hawk};
use identity_server::runner::Running;
use identity_store::{CredentialKind, Store};

use self::error::ScimResponse;
use crate::config::Config;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// The routes' state, behind one `Arc`: axum clones it for every request.
#[derive(Clone)]
struct AppState(std::sync::Arc<Shared>);

struct Shared {
    store: Store,
    auth: Authenticator,
    hawk: Option<Hawk>,
    /// The largest body read, for hashing a signed one.
    max_body: usize,
    /// `…/scim/v2`, for `meta.location` and `Location`.
    base: String,
    caps: Capabilities,
    max_start_index: u64,
    /// PATCHes of one user take turns in this process (`users::patch`).
    patches: users::PatchTurns,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// A SCIM JSON response.
fn scim<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            (status, [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE))], bytes).into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub fn routes(running: &Running, config: &Config) -> Router {
    let store = running.store().clone();
    let scim = &config.scim;
    let state = AppState(std::sync::Arc::new(Shared {
        auth: Authenticator::new(store.clone(), CredentialKind::ScimToken),
        hawk: Hawk::new(&config.hawk, store.clone(), running.plumbing.network.clone()),
        max_body: config.http.max_body_bytes,
        store,
        base: format!("{}/scim/v2", running.base_url),
        caps: Capabilities { max_results: scim.max_results, default_page_size: scim.default_page_size },
        max_start_index: scim.max_start_index,
        patches: users::PatchTurns::default(),
    }));
    // The seed system served SCIM under `/api/scim/v2`: Staff SSO switches by its base URL alone.
    let scim = scim_routes().route_layer(from_fn_with_state(state.clone(), require_token));
    Router::new().nest("/scim/v2", scim.clone()).nest("/api/scim/v2", scim).fallback(not_found).with_state(state)
}

/// SCIM's routes, relative to the base URL.
fn scim_routes() -> Router<AppState> {
    Router::new()
        .route("/Users", get(users::list).post(users::create).fallback(discovery::users_methods))
        .route("/Users/.search", post(users::search).fallback(discovery::post_only))
        // A search of every resource type: User is the only one.
        .route("/.search", post(users::search).fallback(discovery::post_only))
        .route(
            "/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete)
                .fallback(discovery::user_methods),
        )
        .route("/ServiceProviderConfig", get(discovery::service_provider_config).fallback(discovery::get_only))
        .route("/ResourceTypes", get(discovery::resource_types).fallback(discovery::get_only))
        .route("/ResourceTypes/{name}", get(discovery::resource_type).fallback(discovery::get_only))
        .route("/Schemas", get(discovery::schemas).fallback(discovery::get_only))
        .route("/Schemas/{id}", get(discovery::schema).fallback(discovery::get_only))
}

async fn not_found() -> ScimResponse {
    ScimResponse::error(identity_scim::ScimError::not_found("no such endpoint"))
}

async fn require_token(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    if hawk::is_hawk(req.headers()) {
        let answer = hawk::admit(s.hawk.as_ref(), req, s.max_body, &[], |mut req, principal| {
            req.extensions_mut().insert(principal);
            next.run(req)
        })
        .await;
        return answer.unwrap_or_else(|refused| refused);
    }
    match s.auth.verify(req.headers().get(header::AUTHORIZATION)).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(AuthError::Unavailable) => {
            ScimResponse::error(identity_scim::ScimError::new(503, None, "credentials cannot be checked right now"))
                .into_response()
        }
        Err(e) => {
            let mut response =
                ScimResponse::error(identity_scim::ScimError::new(401, None, e.to_string())).into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"sso-scim\""));
            response
        }
    }
}
