//! A person: `GET /admin/v1/people/{id}/history` (what happened to them, newest first),
//! `GET …/export` (everything held about them) and `POST …/erase` (all of it removed).

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use identity_core::merge::Merge;
use identity_core::UserId;
use serde::{Deserialize, Serialize};

use super::error::AdminError;
use super::{json_body, limit, only, reason, uuid_param, AppState, Caller};
use crate::role::Role;
use crate::views::ChangeView;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Serialize)]
struct History {
    person: UserId,
    /// Newest first; pass `next_before` as `before` for the page after.
    changes: Vec<ChangeView>,
    next_before: Option<i64>,
    /// Every merge the person took part in, either side, newest first.
    merges: Vec<Merge>,
}

pub(super) async fn history(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    caller.may(Role::Viewer)?;
    only(&params, &["before", "limit"])?;
    let id = UserId::from_uuid(uuid_param(&id, "the person id")?);
    let limit = limit(&params, DEFAULT_LIMIT, MAX_LIMIT)?;
    let before = params
        .get("before")
        .map(|v| v.parse().map_err(|_| AdminError::bad_request("before must be a whole number")))
        .transpose()?;
    s.store.person(id).await?;
    let changes = s.store.changes_of(id, before, limit).await?;
    let next_before = if changes.len() == limit as usize { changes.last().map(|c| c.seq) } else { None };
    let merges = s.store.merges_of(id).await?;
    let history =
        History { person: id, changes: changes.into_iter().map(ChangeView::from).collect(), next_before, merges };
    Ok(Json(history).into_response())
}

/// Everything held about the person, streamed (`crate::export`). Admin role only: it is all of
/// their personal data in one answer.
pub(super) async fn export(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    caller.may(Role::Admin)?;
    only(&params, &[])?;
    let id = UserId::from_uuid(uuid_param(&id, "the person id")?);
    let pieces = crate::export::export(s.store.clone(), id).await.map_err(AdminError::about("person"))?;
    tracing::info!(person = %id, by = %caller.name, "exported");
    let body = Body::from_stream(pieces.map(|piece| piece.map(Bytes::from).map_err(std::io::Error::other)));
    let headers = [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")];
    Ok((StatusCode::OK, headers, body).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseRequest {
    reason: String,
}

/// The longest reason kept: a request's reference and grounds, not a case file.
const MAX_REASON: usize = 500;

#[derive(Serialize)]
struct ErasureView {
    person: UserId,
    /// Every record erased: the person and the records merged into it.
    erased: Vec<UserId>,
    by: String,
    at: DateTime<Utc>,
    reason: String,
}

/// Erases the person, and every record merged into them, in one transaction. Admin role only.
/// 200 with the erasure; the same for a person erased before (nothing is done again).
pub(super) async fn erase(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, AdminError> {
    caller.may(Role::Admin)?;
    let id = UserId::from_uuid(uuid_param(&id, "the person id")?);
    let request: EraseRequest = json_body(&headers, bytes)?;
    let reason = reason(&request.reason, MAX_REASON)?;
    let done = s.store.erase(id, reason, &caller.actor()).await.map_err(AdminError::about("person"))?;
    // Ids only: the reason may name the request, never log it.
    tracing::info!(person = %done.person, records = done.people.len(), now = done.erased_now, by = %caller.name, "erased");
    let view = ErasureView { person: done.person, erased: done.people, by: done.by, at: done.at, reason: done.reason };
    Ok(Json(view).into_response())
}
