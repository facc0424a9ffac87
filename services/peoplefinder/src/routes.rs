//! peoplefinder's routes, under `/api/peoplefinder` as the seed system mounts them: people
//! (read, create, full replace), teams (`teams.rs`) and the reference lists. Callers sign with Hawk, as People
//! Finder does today, or present a bearer token made with `peoplefinder tokens create`. Answers
//! are the seed system's (`{"message": …}`, 422 `{"detail": […]}`), except where its behaviour
//! was a plain bug (DECISIONS.md "People Finder").

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use identity_core::{Source, UserId, UserStatus};
use identity_server::auth::{AuthError, Authenticator, Principal};
use identity_server::hawk::{self, Hawk};
use identity_server::runner::Running;
use identity_store::{
    Actor, CredentialKind, LinkHolder, PeopleFinderRefusal, PeopleFinderWrite, ReferenceList, Store, StoreError,
    Uniqueness,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::config::Config;
use crate::reference;
use crate::request::{self, Problem, ProfileRequest};
use crate::teams;

#[derive(Clone)]
pub(crate) struct AppState(pub(crate) Arc<Shared>);

pub(crate) struct Shared {
    pub(crate) store: Store,
    auth: Authenticator,
    hawk: Option<Hawk>,
    max_body: usize,
}

pub fn routes(running: &Running, config: &Config) -> Router {
    let store = running.store().clone();
    let state = AppState(Arc::new(Shared {
        auth: Authenticator::new(store.clone(), CredentialKind::PeopleFinderToken),
        hawk: Hawk::new(&config.hawk, store.clone(), running.plumbing.network.clone()),
        max_body: config.http.max_body_bytes,
        store,
    }));
    Router::new()
        .route("/api/peoplefinder/people", axum::routing::post(create))
        .route("/api/peoplefinder/people/{slug}", get(read).put(replace))
        .route("/api/peoplefinder/reference/{name}", get(reference_list))
        .route("/api/peoplefinder/teams", get(teams::tree).post(teams::create))
        .route("/api/peoplefinder/teams/{slug}", get(teams::read).put(teams::update))
        .route_layer(from_fn_with_state(state.clone(), authenticate))
        .fallback(not_found)
        .with_state(state)
}

const NO_PEOPLEFINDER_PROFILE: &str = "People finder profile does not exist";
const NO_PROFILE: &str = "Profile does not exist";

pub(crate) fn message(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

fn detail(status: StatusCode, detail: &str) -> Response {
    (status, Json(json!({ "detail": detail }))).into_response()
}

pub(crate) fn invalid(problems: &[Problem]) -> Response {
    let detail: Vec<Value> = problems.iter().map(Problem::to_json).collect();
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "detail": detail }))).into_response()
}

async fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not Found")
}

/// A store failure that is not the request's fault: 503 when the database is away, else 500,
/// logged without the request's data.
pub(crate) fn failed(e: &StoreError) -> Response {
    if e.is_unavailable() {
        return message(StatusCode::SERVICE_UNAVAILABLE, "The database is unavailable; try again shortly");
    }
    tracing::error!(error = %e, "a People Finder request failed");
    message(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
}

/// Runs a write in a task of its own, so that a caller who goes away mid-request (a client
/// timeout, a closed connection) does not drop its transaction half-way: it commits or rolls
/// back as it would have, and its connection goes back clean. (On SQLite a transaction dropped
/// mid-statement left the one write connection unable to begin the next.)
pub(crate) async fn detached<T: Send + 'static>(
    write: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::spawn(write).await.unwrap_or_else(|e| Err(StoreError::Commit(format!("the write stopped: {e}"))))
}

fn actor(p: &Principal) -> Actor {
    Actor::new(format!("peoplefinder:{}", p.name))
}

/// Why a request was not carried out.
enum Refused {
    NotJson,
    Invalid(Vec<Problem>),
    Store(StoreError),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            // As the seed system: 400 when the body is not JSON at all.
            Self::NotJson => detail(StatusCode::BAD_REQUEST, "Cannot parse request body"),
            Self::Invalid(problems) => invalid(&problems),
            Self::Store(e) => failed(&e),
        }
    }
}

fn checked(body: &Bytes, create: bool) -> Result<ProfileRequest, Refused> {
    let body: Value = serde_json::from_slice(body).map_err(|_| Refused::NotJson)?;
    request::parse(&body, create).map_err(Refused::Invalid)
}

/// The person whose People Finder profile `slug` names, live or not.
async fn by_slug(store: &Store, slug: &str) -> Result<Option<LinkHolder>, StoreError> {
    match Uuid::try_parse(slug) {
        Ok(slug) => store.link_holder(&Source::PeopleFinder, &slug.to_string()).await,
        // Not a slug People Finder could have made: nobody's (the seed system answered 500).
        Err(_) => Ok(None),
    }
}

/// `GET /people/{slug}`: the profile of an active person (the seed system's minimal answer).
async fn read(State(s): State<AppState>, Path(slug): Path<String>) -> Response {
    let missing = || message(StatusCode::NOT_FOUND, "Unable to find people finder profile");
    let holder = match by_slug(&s.0.store, &slug).await {
        Ok(Some(h)) if h.status == UserStatus::Active => h,
        Ok(_) => return missing(),
        Err(e) => return failed(&e),
    };
    let profiles = match s.0.store.profiles(holder.user).await {
        Ok(p) => p,
        Err(e) => return failed(&e),
    };
    let sso_id = profiles.iter().find(|p| p.source == Source::Sso).and_then(|p| p.external_id.as_deref());
    match profiles.iter().find(|p| p.source == Source::PeopleFinder) {
        Some(p) => Json(request::response(&holder.external_id, sso_id, &p.attributes, false)).into_response(),
        None => missing(),
    }
}

/// The manager `manager_slug` names, or the 422 for it (the seed system answered 404 or 500).
async fn manager(store: &Store, r: &ProfileRequest) -> Result<Option<UserId>, Refused> {
    let Some(slug) = r.manager_slug else { return Ok(None) };
    match store.link_holder(&Source::PeopleFinder, &slug.to_string()).await {
        Ok(Some(p)) if !p.status.is_gone() => Ok(Some(p.user)),
        Ok(_) => Err(Refused::Invalid(vec![Problem::field(
            "manager_slug",
            "value_error",
            "Value error, no People Finder profile has this slug",
        )])),
        Err(e) => Err(Refused::Store(e)),
    }
}

/// `POST /people`: a new profile for the active person Staff SSO knows as `sso_email_id`.
async fn create(State(s): State<AppState>, Extension(p): Extension<Principal>, body: Bytes) -> Response {
    let r = match checked(&body, true) {
        Ok(r) => r,
        Err(refused) => return refused.into_response(),
    };
    let slug = r.slug.map(|u| u.to_string()).unwrap_or_default();
    write(&s, &p, &r, &slug, true).await
}

/// `PUT /people/{slug}`: the profile replaced whole (what the request leaves out is cleared).
async fn replace(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let r = match checked(&body, false) {
        Ok(r) => r,
        Err(refused) => return refused.into_response(),
    };
    match Uuid::try_parse(&slug) {
        Ok(slug) => write(&s, &p, &r, &slug.to_string(), false).await,
        // Not a slug People Finder could have made: nobody's (the seed system answered 500).
        Err(_) => message(StatusCode::NOT_FOUND, NO_PEOPLEFINDER_PROFILE),
    }
}

/// The write, which finds and locks the person and the profile itself (the person named is
/// looked for first, then the profile, as in the seed system). What the request itself gets
/// wrong is answered before: a manager nobody is (422), a slug People Finder never makes (404).
async fn write(s: &AppState, p: &Principal, r: &ProfileRequest, slug: &str, create: bool) -> Response {
    let manager = match manager(&s.0.store, r).await {
        Ok(m) => m,
        Err(refused) => return refused.into_response(),
    };
    let document = Value::Object(r.document.clone());
    let w = PeopleFinderWrite { fields: request::profile_fields(&r.document, manager), document };
    let (store, sso_id, slug_owned, by) = (s.0.store.clone(), r.sso_email_id.clone(), slug.to_owned(), actor(p));
    let put = detached(async move { store.peoplefinder_put(&sso_id, &slug_owned, &w, create, &by).await });
    match put.await {
        Ok(written) => {
            let status = if create { StatusCode::CREATED } else { StatusCode::OK };
            let answer = request::response(slug, Some(&written.sso_id), &written.profile.attributes, true);
            (status, Json(answer)).into_response()
        }
        Err(StoreError::AlreadyExists(Uniqueness::ExternalId)) => {
            message(StatusCode::CONFLICT, "A people finder profile for this user has already been created")
        }
        Err(StoreError::AlreadyExists(Uniqueness::Email)) => {
            message(StatusCode::CONFLICT, "The email address is already someone else's")
        }
        Err(StoreError::PeopleFinderRefused(why)) => match why {
            PeopleFinderRefusal::NoActivePerson => message(StatusCode::NOT_FOUND, NO_PROFILE),
            PeopleFinderRefusal::NoProfile => message(StatusCode::NOT_FOUND, NO_PEOPLEFINDER_PROFILE),
            // The seed system wrote the profile whoever the body named.
            PeopleFinderRefusal::SomeoneElses => invalid(&[Problem::field(
                "sso_email_id",
                "value_error",
                "Value error, this People Finder profile belongs to someone else",
            )]),
        },
        Err(e) => failed(&e),
    }
}

/// `GET /reference/{name}`: one of the lists of choices, `[{"key", "value"}]`, or one of the
/// department's lists (`countries`, `uk_staff_locations`) as last loaded; empty until then.
async fn reference_list(State(s): State<AppState>, Path(name): Path<String>) -> Response {
    if let Some(list) = reference::list(&name) {
        return Json(&list.choices).into_response();
    }
    match ReferenceList::parse(&name) {
        Some(list) => match s.0.store.reference_entries(list).await {
            Ok(entries) => Json(entries).into_response(),
            Err(e) => failed(&e),
        },
        None => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn authenticate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if hawk::is_hawk(req.headers()) {
        let answer = hawk::admit(s.0.hawk.as_ref(), req, s.0.max_body, &[], |mut req, principal| {
            req.extensions_mut().insert(principal);
            next.run(req)
        })
        .await;
        return answer.unwrap_or_else(|refused| refused);
    }
    match s.0.auth.verify(req.headers().get(header::AUTHORIZATION)).await {
        Ok(principal) => {
            let mut req = req;
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(AuthError::Unavailable) => detail(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
        Err(_) => {
            let mut refused = detail(StatusCode::UNAUTHORIZED, "Unauthorized");
            refused
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"peoplefinder\""));
            refused
        }
    }
}
