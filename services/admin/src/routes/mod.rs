//! admin's routes under `/admin/v1`, and nothing else. Every route needs a token; each checks
//! the role it needs: `viewer` reads, `reviewer` also merges and decides, `admin` also undoes
//! merges and manages tokens.

mod error;
mod merges;
mod people;
mod reviews;
mod tokens;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use identity_server::auth::{AuthError, Authenticator, Principal};
use identity_server::runner::Running;
use identity_store::{Actor, CredentialKind, Store};
use serde::de::DeserializeOwned;

use self::error::AdminError;
use crate::role::Role;

#[derive(Clone)]
struct AppState(Arc<Shared>);

struct Shared {
    store: Store,
    auth: Authenticator,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub fn routes(running: &Running) -> Router {
    let store = running.store().clone();
    let state =
        AppState(Arc::new(Shared { auth: Authenticator::new(store.clone(), CredentialKind::AdminToken), store }));
    Router::new()
        .route("/admin/v1/merges", post(merges::create))
        .route("/admin/v1/merges/{id}", get(merges::get))
        .route("/admin/v1/merges/{id}/undo", post(merges::undo))
        .route("/admin/v1/people/{id}/history", get(people::history))
        .route("/admin/v1/people/{id}/export", get(people::export))
        .route("/admin/v1/people/{id}/erase", post(people::erase))
        .route("/admin/v1/reviews", get(reviews::list))
        .route("/admin/v1/reviews/{id}", get(reviews::get))
        .route("/admin/v1/reviews/{id}/decision", post(reviews::decide))
        .route("/admin/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/admin/v1/tokens/{name}", delete(tokens::revoke))
        .route_layer(from_fn_with_state(state.clone(), authenticate))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> AdminError {
    AdminError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// The caller, with the role its token grants.
#[derive(Debug, Clone)]
struct Caller {
    name: String,
    role: Role,
}

impl Caller {
    /// 403 unless the caller's role is at least `needed`.
    fn may(&self, needed: Role) -> Result<(), AdminError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(AdminError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this needs the {needed} role; the token has {}", self.role),
            ))
        }
    }

    /// Recorded as who made a merge or decision.
    fn actor(&self) -> Actor {
        Actor::new(format!("admin:{}", self.name))
    }
}

async fn authenticate(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let principal: Principal = match s.auth.verify(req.headers().get(header::AUTHORIZATION)).await {
        Ok(p) => p,
        Err(AuthError::Unavailable) => {
            return AdminError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "credentials cannot be checked right now",
            )
            .into_response()
        }
        Err(e) => return AdminError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()).into_response(),
    };
    let Some(role) = Role::of_scopes(&principal.scopes) else {
        return AdminError::new(StatusCode::FORBIDDEN, "forbidden", "this token has no role").into_response();
    };
    req.extensions_mut().insert(Caller { name: principal.name, role });
    next.run(req).await
}

/// A JSON body: within the size limit (checked before it is read), `application/json`, and of
/// the route's shape (unknown fields refused; serde_json bounds the nesting it will parse).
fn json_body<T: DeserializeOwned>(headers: &HeaderMap, bytes: Result<Bytes, BytesRejection>) -> Result<T, AdminError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if essence.as_deref() != Some("application/json") {
        return Err(AdminError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json",
        ));
    }
    let bytes = bytes.map_err(|e| {
        let status = if e.status() == StatusCode::PAYLOAD_TOO_LARGE { e.status() } else { StatusCode::BAD_REQUEST };
        AdminError::new(status, "invalid_request", e.body_text())
    })?;
    serde_json::from_slice(&bytes).map_err(|e| AdminError::bad_request(format!("the body is not valid: {e}")))
}

/// A reason given in a body (a merge's, an erasure's), trimmed: 400 when blank or longer than
/// `max` characters.
fn reason(text: &str, max: usize) -> Result<&str, AdminError> {
    let reason = text.trim();
    if reason.is_empty() || reason.chars().count() > max {
        return Err(AdminError::bad_request(format!("reason must be 1 to {max} characters")));
    }
    Ok(reason)
}

/// Refuses query parameters a route does not know, naming the first and those it takes.
fn only(params: &HashMap<String, String>, known: &[&str]) -> Result<(), AdminError> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => {
            Err(AdminError::bad_request(format!("unknown parameter {unknown} (this route takes {})", known.join(", "))))
        }
        None => Ok(()),
    }
}

/// A page size: `limit`, 1 to `max`, or `default` when absent.
fn limit(params: &HashMap<String, String>, default: u32, max: u32) -> Result<u32, AdminError> {
    match params.get("limit") {
        None => Ok(default),
        Some(l) => l
            .parse()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| AdminError::bad_request(format!("limit must be 1 to {max}"))),
    }
}

/// A path id that must be a UUID.
fn uuid_param(text: &str, what: &str) -> Result<uuid::Uuid, AdminError> {
    text.parse().map_err(|_| AdminError::bad_request(format!("{what} must be a UUID")))
}
