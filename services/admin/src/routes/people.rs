//! `GET /admin/v1/people/{id}/history`: what happened to a person, newest first.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use identity_core::change::Change;
use identity_core::merge::Merge;
use identity_core::UserId;
use serde::Serialize;

use super::error::AdminError;
use super::{limit, only, uuid_param, AppState, Caller};
use crate::role::Role;

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

#[derive(Debug, Serialize)]
struct ChangeView {
    seq: i64,
    kind: String,
    source: String,
    actor: String,
    fields: Vec<String>,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    survivor: Option<UserId>,
    at: DateTime<Utc>,
}

impl From<Change> for ChangeView {
    fn from(c: Change) -> Self {
        Self {
            seq: c.seq,
            kind: c.kind.to_string(),
            source: c.source.to_string(),
            actor: c.actor,
            fields: c.fields.iter().map(ToString::to_string).collect(),
            status: c.status.to_string(),
            survivor: c.survivor,
            at: c.at,
        }
    }
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
