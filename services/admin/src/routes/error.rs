//! admin's one error type and its one mapping to HTTP: a JSON body `{"error": code, "message"}`,
//! as the api answers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use identity_core::review::DecisionError;
use identity_store::{StoreError, Uniqueness};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    body: ErrorBody,
}

impl AdminError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self { status, body: ErrorBody { error, message: message.into() } }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }

    /// A store error of a route about `what` (a merge, a review item): its `NotFound` says so.
    pub fn about(what: &'static str) -> impl Fn(StoreError) -> Self {
        move |e| match e {
            StoreError::NotFound => Self::not_found(what),
            other => other.into(),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("person"),
            StoreError::Refused(why) => Self::new(StatusCode::CONFLICT, "conflict", why.to_string()),
            StoreError::Undecidable(why @ DecisionError::Decided) => {
                Self::new(StatusCode::CONFLICT, "conflict", why.to_string())
            }
            StoreError::Undecidable(why) => Self::bad_request(why.to_string()),
            StoreError::AlreadyExists(Uniqueness::Email) => {
                Self::new(StatusCode::CONFLICT, "conflict", "the email address is held by another person")
            }
            StoreError::AlreadyExists(Uniqueness::ExternalId) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "the row's ID, or its TRN, is linked to another person already",
            ),
            // Another write to one of the same people at the same moment.
            StoreError::AlreadyExists(_) | StoreError::VersionMismatch { .. } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "someone else changed one of these people at the same moment; read them again and retry",
            ),
            e if e.is_unavailable() => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is unavailable; try again shortly",
            ),
            other => {
                tracing::error!(error = %other, "admin request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"admin\""));
        }
        response
    }
}
