use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, Router};
use identity_server::runner::Running;
use serde_json::json;

/// The api's routes (health routes are added by the shared plumbing).
pub fn routes(_running: &Running) -> Router {
    Router::new().fallback(not_found)
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not_found", "message": "no such route"})))
}
