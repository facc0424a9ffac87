//! `POST /admin/v1/merges`, `GET /admin/v1/merges/{id}`, `POST /admin/v1/merges/{id}/undo`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use identity_core::UserId;
use identity_store::NewMerge;
use serde::Deserialize;

use super::error::AdminError;
use super::{json_body, reason, uuid_param, AppState, Caller};
use crate::role::Role;

/// The longest reason kept with a merge.
const MAX_REASON: usize = 2000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeRequest {
    survivor: UserId,
    merged: UserId,
    reason: String,
}

pub(super) async fn create(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, AdminError> {
    caller.may(Role::Reviewer)?;
    let request: MergeRequest = json_body(&headers, bytes)?;
    let reason = reason(&request.reason, MAX_REASON)?;
    let new = NewMerge { survivor: request.survivor, merged: request.merged, reason: reason.to_owned() };
    let done = s.store.merge(&new, &caller.actor()).await?;
    tracing::info!(merge = %done.id, survivor = %done.survivor, merged = %done.merged, by = %caller.name, "merged");
    let location = format!("/admin/v1/merges/{}", done.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(done)).into_response())
}

pub(super) async fn get(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    caller.may(Role::Viewer)?;
    let merge = s.store.merge_get(uuid_param(&id, "the merge id")?).await.map_err(AdminError::about("merge"))?;
    Ok(Json(merge).into_response())
}

pub(super) async fn undo(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    caller.may(Role::Admin)?;
    let undone = s
        .store
        .undo_merge(uuid_param(&id, "the merge id")?, &caller.actor())
        .await
        .map_err(AdminError::about("merge"))?;
    tracing::info!(merge = %undone.id, by = %caller.name, "merge undone");
    Ok(Json(undone).into_response())
}
