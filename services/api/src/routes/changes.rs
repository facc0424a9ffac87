//! The change feed: every write, in order, for consumers keeping a copy in sync.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use identity_server::auth::Principal;

use super::error::ApiError;
use super::{only, require, AppState};
use crate::views::{ChangeView, ChangesPage};

/// Changes after a position, in order. A consumer that resumes after the last `seq` it saw
/// misses nothing and sees nothing twice, however writers interleave. `seq` may skip numbers (a
/// PostgreSQL sequence gives up the numbers of a crash or a rolled-back run), but it never goes
/// back and never repeats: compare positions, never count them.
#[utoipa::path(
    get,
    path = "/api/v1/changes",
    tag = "changes",
    params(
        ("after" = Option<i64>, Query, description = "The last seq already seen (0 or absent: from the start)"),
        ("limit" = Option<u32>, Query, description = "At most this many changes, 1 to the configured maximum (1000)"),
    ),
    responses(
        (status = 200, description = "The next changes", body = ChangesPage),
        (status = 400, description = "A malformed or unknown parameter", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks changes:read", body = super::error::ErrorBody),
    ),
    security(("api_key" = ["changes:read"]))
)]
pub async fn feed(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ChangesPage>, ApiError> {
    require(&principal, "changes:read")?;
    let q =
        q.map(|Query(q)| q).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", e.body_text()))?;
    only(&q, &["after", "limit"])?;
    let after = match q.get("after") {
        None => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => return Err(ApiError::parameter("after", "must be a seq: a whole number, 0 or more")),
        },
    };
    let limit = match q.get("limit") {
        None => s.config.default_limit,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=s.config.max_limit).contains(&n) => n,
            _ => {
                return Err(ApiError::parameter(
                    "limit",
                    format!("must be a whole number from 1 to {}", s.config.max_limit),
                ))
            }
        },
    };
    let changes: Vec<ChangeView> = s.store.changes_after(after, limit).await?.into_iter().map(ChangeView::of).collect();
    let next_after = changes.last().map_or(after, |c| c.seq);
    Ok(Json(ChangesPage { changes, next_after }))
}
