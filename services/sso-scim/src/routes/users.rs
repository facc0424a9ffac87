//! `/Users` and `/Users/{id}`.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use identity_core::query::{Attr, SortOrder};
use identity_core::{CombinedProfile, UserId};
use identity_scim::filter::parse_filter;
use identity_scim::patch::apply_patch;
use identity_scim::user::{
    editable_document, etag, parse_body, user_from_document, user_from_request, IfMatch, Projection, Resource, Stored,
    UserInput,
};
use identity_scim::{discovery, schema, ScimError, ScimType};
use identity_server::auth::Principal;
use identity_store::{Actor, SsoPage, SsoQuery, SsoUser, SsoUserWrite, StoreError};
use uuid::Uuid;

use super::error::ScimResponse;
use super::{scim, AppState};

type Result<T, E = ScimResponse> = std::result::Result<T, E>;

/// How many times a PATCH without `If-Match` re-reads and re-applies when another write got in
/// between its read and its write (another replica's, or a PUT's). Past that the user is
/// changing faster than we can apply a patch: 409, since the client named no version for a 412
/// to be about.
const PATCH_ATTEMPTS: u32 = 10;

/// The wait before a PATCH's second try; it doubles with each try, to at most `MAX_BACKOFF`,
/// and a random part of it is taken so that contending replicas fall out of step.
const FIRST_BACKOFF: Duration = Duration::from_millis(2);
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// Bodies larger than this are parsed and applied on the blocking pool, not on a runtime
/// worker, so that one large request never holds up the others (health checks included).
const BLOCKING_BODY_BYTES: usize = 32 * 1024;

/// PATCHes of the same user take turns in this process: the read, apply and write of each runs
/// alone, so contending patches through one replica never conflict. Users share turns by a hash
/// of their id (64 turns: two users rarely share one, and sharing costs only waiting).
pub struct PatchTurns(Vec<tokio::sync::Mutex<()>>);

impl Default for PatchTurns {
    fn default() -> Self {
        Self((0..64).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl PatchTurns {
    async fn take(&self, id: UserId) -> tokio::sync::MutexGuard<'_, ()> {
        let slot = (id.as_uuid().as_u128() % self.0.len() as u128) as usize;
        self.0[slot].lock().await
    }
}

/// Runs CPU work (parsing, applying a patch) on the blocking pool when its input is large.
async fn compute<T: Send + 'static>(size: usize, work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    if size < BLOCKING_BODY_BYTES {
        return work();
    }
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|_| Err(ScimError::new(500, None, "internal error").into()))
}

/// A random share of `wait`, from the clock's nanoseconds (no need for better randomness).
fn jittered(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    wait.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
}

fn location(s: &AppState, id: UserId) -> String {
    format!("{}/Users/{id}", s.base)
}

fn stored<'a>(u: &'a SsoUser, id: &'a str) -> Stored<'a> {
    Stored {
        id,
        document: &u.attributes,
        active: u.status == identity_core::UserStatus::Active,
        user_name: &u.user_name,
        version: u.version,
        created: u.created_at,
        last_modified: u.updated_at,
    }
}

/// A user as the resource served, projected when the request asks for it.
enum Rendered<'a> {
    Whole(Resource<'a>),
    Projected(serde_json::Value),
}

impl serde::Serialize for Rendered<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Whole(r) => r.serialize(serializer),
            Self::Projected(v) => v.serialize(serializer),
        }
    }
}

/// Ids and locations of users, kept alive while their resources are serialised.
struct Names(Vec<(String, String)>);

impl Names {
    fn of(s: &AppState, users: &[SsoUser]) -> Self {
        Self(users.iter().map(|u| (u.id.to_string(), location(s, u.id))).collect())
    }
}

fn rendered<'a>(
    u: &'a SsoUser,
    names: &'a (String, String),
    projection: &Projection,
    combined: Option<&'a CombinedProfile>,
) -> Rendered<'a> {
    let user = stored(u, &names.0);
    let resource = Resource { user, location: &names.1, combined };
    if projection.is_empty() {
        Rendered::Whole(resource)
    } else {
        Rendered::Projected(projection.apply(serde_json::to_value(resource).unwrap_or_default()))
    }
}

/// A user resource with its ETag (and `Location` when created).
fn user_response(
    s: &AppState,
    status: StatusCode,
    u: &SsoUser,
    projection: &Projection,
    combined: Option<&CombinedProfile>,
) -> Response {
    let names = (u.id.to_string(), location(s, u.id));
    let mut response = scim(status, &rendered(u, &names, projection, combined));
    if let Ok(tag) = HeaderValue::from_str(&etag(u.version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    if status == StatusCode::CREATED {
        if let Ok(loc) = HeaderValue::from_str(&names.1) {
            response.headers_mut().insert(header::LOCATION, loc);
        }
    }
    response
}

/// An id that is not one of ours names no user.
fn user_id(id: &str) -> Result<UserId> {
    id.parse().map_err(|_| ScimError::not_found("no such user").into())
}

/// Requests carry SCIM JSON (`application/json` is accepted as well); no type at all is taken as
/// JSON too, as some clients omit it.
fn check_content_type(headers: &HeaderMap) -> Result<()> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else { return Ok(()) };
    let essence = value.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/scim+json" || essence == "application/json" {
        Ok(())
    } else {
        Err(ScimError::new(415, None, "send application/scim+json (or application/json)").into())
    }
}

/// A body read within the size limit (checked before it is parsed).
fn body(bytes: std::result::Result<Bytes, BytesRejection>) -> Result<Bytes> {
    bytes.map_err(|e| {
        let status = e.status().as_u16();
        ScimError::new(if status == 413 { 413 } else { 400 }, None, e.body_text()).into()
    })
}

fn write_of(input: UserInput) -> SsoUserWrite {
    SsoUserWrite { user_name: input.user_name, fields: input.fields, attributes: input.document, active: input.active }
}

fn actor(p: &Principal) -> Actor {
    Actor::new(format!("scim:{}", p.name))
}

fn if_match(headers: &HeaderMap) -> Option<IfMatch> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(IfMatch::parse)
}

/// The version a conditional write must find: none without `If-Match`; the current one when
/// the header lists it among several; 412 when it cannot match.
async fn expected_version(s: &AppState, id: UserId, headers: &HeaderMap) -> Result<Option<i64>> {
    match if_match(headers) {
        None | Some(IfMatch::Any) => Ok(None),
        Some(IfMatch::Versions(v)) if v.len() == 1 => Ok(Some(v[0])),
        Some(IfMatch::Versions(listed)) => {
            let current = s.store.sso_get(id).await?.version;
            if listed.contains(&current) {
                Ok(Some(current))
            } else {
                Err(StoreError::VersionMismatch { current }.into())
            }
        }
    }
}

fn projection(params: &HashMap<String, String>) -> Projection {
    Projection::new(param(params, "attributes"), param(params, "excludedAttributes"))
}

/// Query parameters by name, case-insensitively (clients vary).
fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>> {
    param(params, name)
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| ScimError::invalid_value(format!("'{name}' must be an integer")).into())
        })
        .transpose()
}

pub async fn list(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Result<Response> {
    list_users(&s, &params).await
}

const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query parameters of a list, as a JSON body.
pub async fn search(
    State(s): State<AppState>,
    headers: HeaderMap,
    bytes: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    check_content_type(&headers)?;
    let request = parse_body(&body(bytes)?)?;
    let declared = request
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .and_then(|(_, v)| v.as_array())
        .is_some_and(|l| l.iter().any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(SEARCH_SCHEMA))));
    if !declared {
        return Err(ScimError::invalid_syntax(format!("'schemas' must contain \"{SEARCH_SCHEMA}\"")).into());
    }
    let mut params = HashMap::new();
    for (key, value) in request {
        let text = match value {
            serde_json::Value::String(t) => t,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str()).collect::<Vec<_>>().join(","),
            _ => continue,
        };
        params.insert(key, text);
    }
    list_users(&s, &params).await
}

async fn list_users(s: &AppState, params: &HashMap<String, String>) -> Result<Response> {
    let filter = match param(params, "filter").map(str::trim) {
        Some(text) if !text.is_empty() => Some(parse_filter(text)?),
        _ => None,
    };
    let sort = match param(params, "sortBy") {
        Some(name) => {
            let r = schema::resolve(name.trim())
                .ok_or_else(|| ScimError::invalid_value(format!("cannot sort by unknown attribute '{name}'")))?;
            let order = match param(params, "sortOrder").map(str::to_ascii_lowercase).as_deref() {
                None | Some("ascending") => SortOrder::Ascending,
                Some("descending") => SortOrder::Descending,
                Some(other) => {
                    return Err(ScimError::invalid_value(format!(
                        "sortOrder must be ascending or descending, not '{other}'"
                    ))
                    .into())
                }
            };
            Some((Attr { path: r.path(), ty: r.leaf().ty, case_exact: r.leaf().case_exact }, order))
        }
        None => None,
    };
    let count =
        number(params, "count")?.map_or(s.caps.default_page_size, |c| (c.max(0) as u64).min(s.caps.max_results));
    let cursor = param(params, "cursor");
    let start = number(params, "startIndex")?;
    let page = match (cursor, start) {
        (Some(_), Some(_)) => return Err(ScimError::invalid_value("use either startIndex or cursor, not both").into()),
        (Some(c), None) => {
            let after = if c.is_empty() {
                None
            } else {
                Some(Uuid::try_parse(c).map_err(|_| {
                    ScimError::bad_request(ScimType::InvalidCursor, "the cursor is not one this service issued")
                })?)
            };
            SsoPage::Cursor { after, count }
        }
        (None, start) => {
            let start = start.unwrap_or(1).max(1) as u64;
            if start > s.max_start_index {
                return Err(ScimError::bad_request(
                    ScimType::TooMany,
                    format!("startIndex beyond {} is not served; page with cursors instead", s.max_start_index),
                )
                .into());
            }
            SsoPage::Index { start, count }
        }
    };
    let list = s.store.sso_list(&SsoQuery { filter, sort, page }).await?;
    let projection = projection(params);
    let names = Names::of(s, &list.users);
    let combined: HashMap<UserId, CombinedProfile> = if projection.wants_combined() {
        let ids: Vec<UserId> = list.users.iter().map(|u| u.id).collect();
        s.store.people_of(&ids).await?.into_iter().map(|p| (p.user.id, p.combined)).collect()
    } else {
        HashMap::new()
    };
    let resources: Vec<Rendered<'_>> =
        list.users.iter().zip(&names.0).map(|(u, n)| rendered(u, n, &projection, combined.get(&u.id))).collect();
    let (start_index, next) = match page {
        SsoPage::Index { start, .. } => (Some(start), None),
        SsoPage::Cursor { .. } => (None, list.next_cursor.map(|c| c.simple().to_string())),
    };
    Ok(scim(StatusCode::OK, &discovery::list(&resources, list.total, start_index, next.as_deref())))
}

pub async fn create(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    bytes: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    check_content_type(&headers)?;
    let bytes = body(bytes)?;
    let input = compute(bytes.len(), move || Ok(user_from_request(&bytes)?)).await?;
    let created = s.store.sso_create(&write_of(input), &actor(&principal)).await?;
    tracing::info!(user.id = %created.id, actor = %principal.name, "SCIM user created");
    Ok(user_response(&s, StatusCode::CREATED, &created, &Projection::default(), None))
}

pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    let user = s.store.sso_get(user_id(&id)?).await?;
    let tag = etag(user.version);
    let projection = projection(&params);
    // The ETag is the SSO document's version: the combined profile changes without it, so a GET
    // that asks for it is answered whole.
    if !projection.wants_combined()
        && headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    // Read after the user: a combined profile a moment newer than the SSO document is still one
    // identity served.
    let combined = if projection.wants_combined() { Some(s.store.person(user.id).await?.combined) } else { None };
    Ok(user_response(&s, StatusCode::OK, &user, &projection, combined.as_ref()))
}

pub async fn replace(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let id = user_id(&id)?;
    check_content_type(&headers)?;
    let bytes = body(bytes)?;
    let input = compute(bytes.len(), move || Ok(user_from_request(&bytes)?)).await?;
    let expected = expected_version(&s, id, &headers).await?;
    let user = s.store.sso_replace(id, &write_of(input), expected, &actor(&principal)).await?;
    Ok(user_response(&s, StatusCode::OK, &user, &Projection::default(), None))
}

pub async fn patch(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let id = user_id(&id)?;
    check_content_type(&headers)?;
    let bytes = body(bytes)?;
    let size = bytes.len();
    let request = std::sync::Arc::new(compute(size, move || Ok(serde_json::Value::Object(parse_body(&bytes)?))).await?);
    let pinned = expected_version(&s, id, &headers).await?;
    let _turn = s.patches.take(id).await;
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=PATCH_ATTEMPTS {
        let current = s.store.sso_get(id).await?;
        if let Some(v) = pinned {
            if v != current.version {
                return Err(StoreError::VersionMismatch { current: current.version }.into());
            }
        }
        let doc = editable_document(&current.attributes, current.status == identity_core::UserStatus::Active);
        let patch = request.clone();
        let input = compute(size, move || {
            let mut doc = doc;
            apply_patch(&mut doc, &patch)?;
            Ok(user_from_document(doc)?)
        })
        .await?;
        match s.store.sso_replace(id, &write_of(input), Some(current.version), &actor(&principal)).await {
            Ok(user) => return Ok(user_response(&s, StatusCode::OK, &user, &Projection::default(), None)),
            // Someone wrote between our read and our write: apply the patch to what they wrote.
            Err(StoreError::VersionMismatch { .. }) if pinned.is_none() && attempt < PATCH_ATTEMPTS => {
                tokio::time::sleep(jittered(backoff)).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(StoreError::VersionMismatch { .. }) if pinned.is_none() => break,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ScimError::new(409, None, "the user kept changing while the patch was applied; retry it").into())
}

pub async fn delete(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let id = user_id(&id)?;
    let expected = expected_version(&s, id, &headers).await?;
    s.store.sso_archive(id, expected, &actor(&principal)).await?;
    tracing::info!(user.id = %id, actor = %principal.name, "SCIM user archived");
    Ok(StatusCode::NO_CONTENT.into_response())
}
