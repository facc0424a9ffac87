//! The one mapping from errors to SCIM responses (RFC 7644 §3.12).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use identity_scim::{ScimError, ScimType};
use identity_store::{StoreError, Uniqueness};

use super::scim;

/// A handler's failure: an RFC 7644 error body with its status.
#[derive(Debug)]
pub struct ScimResponse(ScimError);

impl ScimResponse {
    pub fn error(e: ScimError) -> Self {
        Self(e)
    }
}

impl From<ScimError> for ScimResponse {
    fn from(e: ScimError) -> Self {
        Self(e)
    }
}

impl From<StoreError> for ScimResponse {
    fn from(e: StoreError) -> Self {
        Self(match e {
            StoreError::NotFound => ScimError::not_found("no such user"),
            StoreError::AlreadyExists(Uniqueness::Email) => {
                ScimError::uniqueness("the primary email address belongs to another user")
            }
            StoreError::AlreadyExists(_) => ScimError::uniqueness("userName is already in use"),
            StoreError::VersionMismatch { current } => ScimError::new(
                412,
                None,
                format!("the user has changed since that version; it is now {}", identity_scim::user::etag(current)),
            ),
            StoreError::Unsupported(what) => {
                ScimError::bad_request(ScimType::InvalidFilter, format!("not supported: {what}"))
            }
            e if e.is_unavailable() => ScimError::new(503, None, "the database is unavailable; try again shortly"),
            other => {
                tracing::error!(error = %other, "SCIM request failed");
                ScimError::new(500, None, "internal error")
            }
        })
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        scim(status, &self.0.to_json())
    }
}
