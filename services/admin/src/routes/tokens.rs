//! `GET|POST /admin/v1/tokens`, `DELETE /admin/v1/tokens/{name}`: the tokens admin's callers
//! present, managed by an `admin` as `admin tokens` manages them from the command line.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use identity_server::auth::{self, CredentialError};
use identity_store::{Credential, CredentialKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::AdminError;
use super::{json_body, AppState, Caller};
use crate::role::Role;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: String,
}

/// A token as listed: never its secret, nor the secret's hash.
#[derive(Debug, Serialize)]
struct TokenView {
    id: Uuid,
    name: String,
    /// Absent for a token made with a scope that is no role (it cannot use admin).
    role: Option<&'static str>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<&Credential> for TokenView {
    fn from(c: &Credential) -> Self {
        Self {
            id: c.id,
            name: c.name.clone(),
            role: Role::of_scopes(&c.scopes).map(Role::as_str),
            created_at: c.created_at,
            revoked_at: c.revoked_at,
        }
    }
}

#[derive(Debug, Serialize)]
struct Created {
    #[serde(flatten)]
    view: TokenView,
    /// Shown this once: only its hash is stored.
    token: String,
}

impl From<CredentialError> for AdminError {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::BadName | CredentialError::BadScope { .. } => Self::bad_request(e.to_string()),
            CredentialError::Exists(_) => Self::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            CredentialError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            CredentialError::Store(e) => e.into(),
            CredentialError::Secret(e) => {
                tracing::error!(error = %e, "a token's secret could not be made");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}

pub(super) async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AdminError> {
    caller.may(Role::Admin)?;
    let all = s.store.credentials(CredentialKind::AdminToken).await?;
    let tokens: Vec<TokenView> = all.iter().map(TokenView::from).collect();
    Ok(Json(serde_json::json!({ "tokens": tokens })).into_response())
}

pub(super) async fn create(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, AdminError> {
    caller.may(Role::Admin)?;
    let request: NewToken = json_body(&headers, bytes)?;
    let role: Role = request.role.parse().map_err(AdminError::bad_request)?;
    let created =
        auth::create(&s.store, CredentialKind::AdminToken, &request.name, &[role.as_str().to_owned()], &Role::NAMES)
            .await?;
    tracing::info!(token = %created.credential.id, role = %role, by = %caller.name, "admin token created");
    let location = format!("/admin/v1/tokens/{}", created.credential.name);
    let body = Created { view: TokenView::from(&created.credential), token: created.token };
    // The secret must not stay in any cache between here and the caller.
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location), (header::CACHE_CONTROL, "no-store".to_owned())],
        Json(body),
    )
        .into_response())
}

pub(super) async fn revoke(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Response, AdminError> {
    caller.may(Role::Admin)?;
    auth::revoke(&s.store, CredentialKind::AdminToken, &name).await?;
    tracing::info!(by = %caller.name, "admin token revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}
