//! People: by id, their source profiles, lookups and listing.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use identity_core::{Source, SourceProfile, Trn, UserId, UserStatus};
use identity_server::auth::Principal;
use identity_store::{PeopleQuery, Person};
use uuid::Uuid;

use super::error::ApiError;
use super::{only, require, AppState};
use crate::views::{
    ExplainView, FieldExplanationView, MergedProfileView, MergedView, PeoplePage, PersonView, ProfilesView,
    SourceProfileView,
};

fn query(q: Result<Query<HashMap<String, String>>, QueryRejection>) -> Result<HashMap<String, String>, ApiError> {
    q.map(|Query(q)| q).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", e.body_text()))
}

fn person_id(text: &str) -> Result<UserId, ApiError> {
    text.parse().map_err(|_| ApiError::parameter("id", "must be a UUID"))
}

/// A strong ETag of the body itself: anything in the answer changing changes it.
fn etag_of(body: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

/// A JSON answer with `ETag` and `Cache-Control: private`, or 304 when the client has it.
fn cacheable<T: serde::Serialize>(headers: &HeaderMap, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"))?;
    let tag = etag_of(&body);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let cache = [(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"))];
    let etag = HeaderValue::from_str(&tag)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"))?;
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, cache, [(header::ETAG, etag)]).into_response());
    }
    Ok((cache, [(header::ETAG, etag), (header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
        .into_response())
}

/// A person by id: their combined profile with the source of each field, status and links.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}",
    tag = "people",
    params(("id" = Uuid, Path, description = "The person's identity id")),
    responses(
        (status = 200, description = "The person", body = PersonView, headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        (status = 308, description = "Merged into another person: follow Location", body = MergedView),
        (status = 400, description = "Malformed id", body = super::error::ErrorBody),
        (status = 404, description = "No such person", body = super::error::ErrorBody),
        (status = 410, description = "Archived: no personal data is returned", body = super::error::ErrorBody),
    ),
    security(("api_key" = ["people:read"]))
)]
pub async fn get(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require(&principal, "people:read")?;
    only(&query(q)?, &[])?;
    let person = s.store.person(person_id(&id)?).await?;
    if let Some(survivor) = person.user.merged_into {
        let location = HeaderValue::from_str(&format!("/api/v1/people/{survivor}"))
            .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"))?;
        let body = MergedView {
            error: "merged",
            message: format!("this person was merged into {survivor}"),
            merged_into: *survivor.as_uuid(),
        };
        return Ok((StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)], Json(body)).into_response());
    }
    gone(&person)?;
    cacheable(&headers, &PersonView::of(&person))
}

/// The id of a person a `profiles:read` route answers for: a live one, and a request with no
/// query parameters.
async fn live_for_profiles(
    s: &AppState,
    principal: &Principal,
    id: &str,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<UserId, ApiError> {
    require(principal, "profiles:read")?;
    only(&query(q)?, &[])?;
    let id = person_id(id)?;
    gone(&s.store.person(id).await?)?;
    Ok(id)
}

/// Every source profile of a person as stored: the "why this value" view.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}/profiles",
    tag = "people",
    params(("id" = Uuid, Path, description = "The person's identity id")),
    responses(
        (status = 200, description = "The source profiles", body = ProfilesView),
        (status = 403, description = "The key lacks profiles:read", body = super::error::ErrorBody),
        (status = 404, description = "No such person", body = super::error::ErrorBody),
        (status = 410, description = "Archived", body = super::error::ErrorBody),
    ),
    security(("api_key" = ["profiles:read"]))
)]
pub async fn profiles(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = live_for_profiles(&s, &principal, &id, q).await?;
    let profiles = s.store.profiles(id).await?.into_iter().map(SourceProfileView::of).collect();
    let merged_profiles = s
        .store
        .merged_profiles(id)
        .await?
        .into_iter()
        .map(|(person, p)| MergedProfileView { person: *person.as_uuid(), profile: SourceProfileView::of(p) })
        .collect();
    cacheable(&headers, &ProfilesView { id: *id.as_uuid(), profiles, merged_profiles })
}

/// Why each field of a person's combined profile has its value: the winning source, when it set
/// it, the precedence list that decided, and every other source's value.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}/explain",
    tag = "people",
    params(("id" = Uuid, Path, description = "The person's identity id")),
    responses(
        (status = 200, description = "Each field's explanation", body = ExplainView),
        (status = 400, description = "Malformed id, or a query parameter (this route takes none)", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks profiles:read", body = super::error::ErrorBody),
        (status = 404, description = "No such person", body = super::error::ErrorBody),
        (status = 410, description = "Archived or erased", body = super::error::ErrorBody),
    ),
    security(("api_key" = ["profiles:read"]))
)]
pub async fn explain(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = live_for_profiles(&s, &principal, &id, q).await?;
    let ranked = s.store.ranked_profiles(id).await?;
    let own: Vec<SourceProfile> = ranked.own.iter().map(SourceProfile::from).collect();
    let absorbed: Vec<(UserId, SourceProfile)> =
        ranked.absorbed.iter().map(|(who, p)| (*who, SourceProfile::from(p))).collect();
    let precedence = s.store.precedence().await?;
    let fields = identity_core::combined::explain(&own, &absorbed, &precedence.precedence)
        .into_iter()
        .map(FieldExplanationView::of)
        .collect();
    cacheable(&headers, &ExplainView { id: *id.as_uuid(), precedence_version: precedence.version, fields })
}

const CURSOR_PREFIX: &str = "p1.";

fn encode_cursor(id: Uuid) -> String {
    format!("{CURSOR_PREFIX}{}", id.simple())
}

fn decode_cursor(text: &str) -> Result<Uuid, ApiError> {
    text.strip_prefix(CURSOR_PREFIX)
        .and_then(|hex| Uuid::try_parse(hex).ok())
        .ok_or_else(|| ApiError::parameter("cursor", "not a cursor this API issued"))
}

/// Looks a person up by email, TRN or a source's id, or lists people in pages.
#[utoipa::path(
    get,
    path = "/api/v1/people",
    tag = "people",
    params(
        ("email" = Option<String>, Query, description = "Find the person holding this address (case-insensitive)"),
        ("trn" = Option<String>, Query, description = "Find the person with this teacher reference number"),
        ("source" = Option<String>, Query, description = "With external_id: find the person a source's id is linked to (`sso`, `registry`, `import:<service>`)"),
        ("external_id" = Option<String>, Query, description = "With source"),
        ("status" = Option<String>, Query, description = "Listing: only people with this status (active, inactive, archived); archived are left out unless asked for"),
        ("updated_since" = Option<DateTime<Utc>>, Query, description = "Listing: only people changed at or after this time (RFC 3339)"),
        ("limit" = Option<u32>, Query, description = "Listing: page size, 1 to the configured maximum (1000)"),
        ("cursor" = Option<String>, Query, description = "Listing: next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "Matching people (a lookup finds at most one)", body = PeoplePage),
        (status = 400, description = "A parameter is malformed, unknown, or lookups and listing are mixed", body = super::error::ErrorBody),
    ),
    security(("api_key" = ["people:read"]))
)]
pub async fn list(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    require(&principal, "people:read")?;
    let q = query(q)?;
    only(&q, &["email", "trn", "source", "external_id", "status", "updated_since", "limit", "cursor"])?;
    let lookup = ["email", "trn", "source", "external_id"].iter().any(|k| q.contains_key(*k));
    if lookup {
        if let Some(listing) = ["status", "updated_since", "limit", "cursor"].iter().find(|k| q.contains_key(**k)) {
            return Err(ApiError::parameter(
                listing,
                "cannot be combined with a lookup (email, trn, source/external_id)",
            ));
        }
        let given: Vec<&str> = ["email", "trn", "source"].into_iter().filter(|k| q.contains_key(*k)).collect();
        if given.len() > 1 {
            return Err(ApiError::parameter(
                given[1],
                format!("look up by one of email, trn or source/external_id, not also {}", given[0]),
            ));
        }
        let found = if let Some(email) = q.get("email") {
            if email.trim().is_empty() {
                return Err(ApiError::parameter("email", "must not be empty"));
            }
            s.store.person_by_email(email).await?
        } else if let Some(trn) = q.get("trn") {
            let trn = Trn::parse(trn).map_err(|_| ApiError::parameter("trn", "must be a 7 digit number"))?;
            s.store.person_by_trn(&trn).await?
        } else {
            let source: Source = q
                .get("source")
                .ok_or_else(|| ApiError::parameter("source", "is required with external_id"))?
                .parse()
                .map_err(|e| ApiError::parameter("source", format!("{e}")))?;
            let external_id =
                q.get("external_id").ok_or_else(|| ApiError::parameter("external_id", "is required with source"))?;
            s.store.person_by_link(&source, external_id).await?
        };
        let people = found.iter().filter(|p| !p.user.status.is_gone()).map(PersonView::of).collect();
        return Ok(Json(PeoplePage { people, next_cursor: None }).into_response());
    }

    let status = q
        .get("status")
        .map(|v| {
            v.parse::<UserStatus>().map_err(|_| ApiError::parameter("status", "must be active, inactive or archived"))
        })
        .transpose()?;
    let updated_since = q
        .get("updated_since")
        .map(|v| {
            DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                ApiError::parameter("updated_since", "must be an RFC 3339 time, e.g. 2026-01-31T09:00:00Z")
            })
        })
        .transpose()?;
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
    let after = q.get("cursor").map(|c| decode_cursor(c)).transpose()?;
    let page = s.store.list_people(&PeopleQuery { status, updated_since, after, limit }).await?;
    // Archived people are listed only when asked for (and then without personal data).
    let people = page.items.iter().map(PersonView::of).collect();
    Ok(Json(PeoplePage { people, next_cursor: page.next.map(encode_cursor) }).into_response())
}

/// 410 for a person archived or erased: no data, only which.
fn gone(person: &Person) -> Result<(), ApiError> {
    match person.user.status {
        UserStatus::Archived => Err(ApiError::new(StatusCode::GONE, "gone", "this person was archived")),
        UserStatus::Erased => Err(ApiError::new(StatusCode::GONE, "gone", "this person was erased")),
        UserStatus::Active | UserStatus::Inactive => Ok(()),
    }
}
