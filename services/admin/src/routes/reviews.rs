//! `GET /admin/v1/reviews`, `GET /admin/v1/reviews/{id}`, `POST /admin/v1/reviews/{id}/decision`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use identity_core::review::{Decision, Kind};
use identity_core::{ServiceName, UserId};
use identity_store::ReviewQuery;
use serde::{Deserialize, Serialize};

use super::error::AdminError;
use super::{json_body, limit, only, uuid_param, AppState, Caller};
use crate::role::Role;
use crate::views::ItemView;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

#[derive(Debug, Serialize)]
struct ItemsPage {
    items: Vec<ItemView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<uuid::Uuid>,
}

pub(super) async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    caller.may(Role::Viewer)?;
    only(&params, &["status", "kind", "service", "cursor", "limit"])?;
    let open = match params.get("status").map(String::as_str) {
        None | Some("open") => true,
        Some("decided") => false,
        Some(_) => return Err(AdminError::bad_request("status must be open or decided")),
    };
    let kind = params
        .get("kind")
        .map(|k| Kind::parse(k).ok_or_else(|| AdminError::bad_request("kind must be import_row or people")))
        .transpose()?;
    let service = params
        .get("service")
        .map(|v| ServiceName::new(v).map_err(|e| AdminError::bad_request(format!("service: {e}"))))
        .transpose()?;
    let after = params.get("cursor").map(|c| uuid_param(c, "cursor")).transpose()?;
    let limit = limit(&params, DEFAULT_LIMIT, MAX_LIMIT)?;
    let page = s.store.review_list(&ReviewQuery { open, kind, service, after, limit }).await?;
    Ok(Json(ItemsPage { items: page.items.into_iter().map(ItemView::from).collect(), next_cursor: page.next })
        .into_response())
}

pub(super) async fn get(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    caller.may(Role::Viewer)?;
    let item = s.store.review_get(uuid_param(&id, "the item id")?).await.map_err(AdminError::about("review item"))?;
    Ok(Json(ItemView::from(item)).into_response())
}

/// `{"decision": "same", "survivor"|"person": UUID}` or `{"decision": "different"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    decision: String,
    survivor: Option<UserId>,
    person: Option<UserId>,
}

impl DecisionRequest {
    fn decision(self) -> Result<Decision, AdminError> {
        match (self.decision.as_str(), self.survivor, self.person) {
            ("different", None, None) => Ok(Decision::Different),
            ("same", Some(survivor), None) => Ok(Decision::Merge { survivor }),
            ("same", None, Some(person)) => Ok(Decision::Link { person }),
            ("same", ..) => {
                Err(AdminError::bad_request("\"same\" takes a survivor (people) or a person (an import row)"))
            }
            ("different", ..) => Err(AdminError::bad_request("\"different\" takes no survivor or person")),
            _ => Err(AdminError::bad_request("decision must be \"same\" or \"different\"")),
        }
    }
}

pub(super) async fn decide(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, AdminError> {
    caller.may(Role::Reviewer)?;
    let id = uuid_param(&id, "the item id")?;
    let decision = json_body::<DecisionRequest>(&headers, bytes)?.decision()?;
    let decided =
        s.store.review_decide(id, decision, &caller.actor()).await.map_err(AdminError::about("review item"))?;
    tracing::info!(item = %decided.id, by = %caller.name, "review item decided");
    Ok((StatusCode::OK, Json(ItemView::from(decided))).into_response())
}
