//! import-worker's routes: upload a CSV for a service (a job), read the job, download its
//! results, resume a failed job. Every route needs an import token, and reaches only the jobs
//! of the services the token was made for (see `grant`). Every query string is checked by
//! [`Params`]: a parameter a route does not take, one given twice or a malformed value answers
//! 400 `invalid_query` naming it.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use identity_core::import::result::{ResultRow, RESULT_HEADER};
use identity_core::ServiceName;
use identity_server::auth::{AuthError, Authenticator, Principal};
use identity_server::runner::Running;
use identity_store::{CredentialKind, ImportJob, ImportJobStatus, NewImportJob, NewImportRow, Store, StoreError};
use serde_json::json;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::ImportConfig;
use crate::grant::Grant;
use crate::reader::{CsvInput, FileError};

/// The routes' state, behind one `Arc`: axum clones it for every request.
#[derive(Clone)]
struct AppState(Arc<Shared>);

struct Shared {
    store: Store,
    auth: Authenticator,
    config: ImportConfig,
    wake: Arc<Notify>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The binary's one error type and its one mapping to HTTP: `{"error": code, "message": …}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// 400 `invalid_query`, the message starting with the parameter's name.
    fn parameter(name: &str, why: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", format!("{}: {why}", shown(name)))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", "no such import job"),
            e if e.is_unavailable() => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is unavailable; try again shortly",
            ),
            other => {
                tracing::error!(error = %other, "import-worker request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({"error": self.code, "message": self.message}))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"import-worker\""));
        }
        response
    }
}

/// A name or value from the query as a message shows it: short printable text as it is, anything
/// else quoted with its control characters escaped, and cut to 60 characters.
fn shown(text: &str) -> String {
    const MAX: usize = 60;
    let count = text.chars().count();
    if (1..=MAX).contains(&count) && text.chars().all(|c| c.is_ascii_graphic()) {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX).collect();
    if count > MAX {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// A route's query string, checked: every name is one the route takes, and none is given twice.
/// (axum's `Query` into a struct would answer serde's wording, which names Rust's types.)
struct Params(Vec<(String, String)>);

type RawParams = Result<Query<Vec<(String, String)>>, QueryRejection>;

impl Params {
    fn check(query: RawParams, takes: &[&str]) -> Result<Self, ApiError> {
        let Query(pairs) = query.map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "the query string is not name=value pairs joined by &",
            )
        })?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !takes.contains(&name.as_str()) {
                let known = match takes {
                    [] => "this route takes no parameters".to_owned(),
                    _ => format!("this route takes {}", takes.join(", ")),
                };
                return Err(ApiError::parameter(name, format!("unknown parameter; {known}")));
            }
            if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(ApiError::parameter(name, "given more than once"));
            }
        }
        Ok(Self(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

pub fn routes(running: &Running, config: &ImportConfig, wake: Arc<Notify>) -> Router {
    let store = running.store().clone();
    let state = AppState(Arc::new(Shared {
        auth: Authenticator::new(store.clone(), CredentialKind::ImportToken),
        store,
        config: config.clone(),
        wake,
    }));
    Router::new()
        .route("/imports", post(upload).get(jobs))
        .route("/imports/{id}", get(job))
        .route("/imports/{id}/results", get(results))
        .route("/imports/{id}/resume", post(resume))
        .route_layer(from_fn_with_state(state.clone(), require_token))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn require_token(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    match s.auth.verify(req.headers().get(header::AUTHORIZATION)).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(AuthError::Unavailable) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "credentials cannot be checked right now")
                .into_response()
        }
        Err(e) => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()).into_response(),
    }
}

fn view(job: &ImportJob) -> serde_json::Value {
    json!({
        "id": job.id,
        "service": job.service.as_str(),
        "file_name": job.file_name,
        "dry_run": job.dry_run,
        "status": job.status.as_str(),
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "counts": {
            "None": job.counts.none,
            "UserAdded": job.counts.added,
            "UserUpdated": job.counts.updated,
            "Invalid": job.counts.invalid,
        },
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "links": {"self": format!("/imports/{}", job.id), "results": format!("/imports/{}/results", job.id)},
    })
}

fn job_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_id", "the job id must be a UUID"))
}

/// Refuses a caller whose token does not cover `service`.
fn check_grant(principal: &Principal, service: &ServiceName) -> Result<(), ApiError> {
    let grant = Grant::of(principal);
    if grant.allows(service) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("this token may import for {} only, not {service}", grant.describe()),
    ))
}

/// The job `id` names, if the caller's token covers its service. Another service's job answers
/// as an unknown one would: a token learns nothing of jobs it may not see.
async fn granted_job(s: &AppState, principal: &Principal, id: &str) -> Result<ImportJob, ApiError> {
    let job = s.store.import_job(job_id(id)?).await?;
    if !Grant::of(principal).allows(&job.service) {
        return Err(StoreError::NotFound.into());
    }
    Ok(job)
}

/// `POST /imports`'s query, checked.
struct UploadQuery {
    service: ServiceName,
    dry_run: bool,
    file_name: String,
}

impl UploadQuery {
    const TAKES: &[&str] = &["service", "dry_run", "file_name"];

    fn parse(query: RawParams) -> Result<Self, ApiError> {
        let params = Params::check(query, Self::TAKES)?;
        let service = params.get("service").ok_or_else(|| {
            ApiError::parameter("service", "required: the source service the file comes from, as service=NAME")
        })?;
        let service = ServiceName::new(service)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_service", format!("service: {e}")))?;
        let dry_run = match params.get("dry_run") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(ApiError::parameter("dry_run", format!("true or false, not {}", shown(other)))),
        };
        let file_name = params.get("file_name").unwrap_or("upload.csv").to_owned();
        if file_name.chars().count() > 255 || file_name.chars().any(char::is_control) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_file_name",
                "file_name: at most 255 printable characters",
            ));
        }
        Ok(Self { service, dry_run, file_name })
    }
}

/// Rows written to the database per statement batch while an upload streams in.
const UPLOAD_BATCH: usize = 1000;

/// `POST /imports?service=NAME[&dry_run=true][&file_name=…]` with the CSV as the body.
async fn upload(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: RawParams,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let UploadQuery { service, dry_run, file_name } = UploadQuery::parse(query)?;
    check_grant(&principal, &service)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence != "text/csv" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the file with Content-Type: text/csv (got {content_type:?})"),
        ));
    }
    let max = s.config.max_upload_bytes;
    let too_large =
        || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("the file is larger than {max} bytes"));
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }

    let mut upload = Upload {
        store: s.store.clone(),
        job: None,
        settled: false,
        service,
        file_name,
        submitted_by: principal.name,
        dry_run,
    };
    if let Err(e) = receive(&mut upload, body, max).await {
        upload.abandon(&e.message).await;
        return Err(if e.status == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { e });
    }
    upload.settled = true;
    let job = upload
        .job
        .take()
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "no_rows", FileError::NoRows.to_string()))?;
    s.wake.notify_one();
    tracing::info!(import.job_id = %job.id, import.rows = job.rows_total, "import job queued");
    let location = HeaderValue::from_str(&format!("/imports/{}", job.id))
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"))?;
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(view(&job))).into_response())
}

struct Upload {
    store: Store,
    job: Option<ImportJob>,
    /// The job was queued or abandoned: nothing is left for `Drop` to clean up.
    settled: bool,
    service: ServiceName,
    file_name: String,
    submitted_by: String,
    dry_run: bool,
}

impl Upload {
    /// Stores rows, creating the job with the first ones (its header is known by then).
    async fn store_rows(&mut self, csv: &CsvInput, rows: &mut Vec<crate::engine::InputRow>) -> Result<(), ApiError> {
        if rows.is_empty() {
            return Ok(());
        }
        let job_id = match &self.job {
            Some(job) => job.id,
            None => {
                let columns = csv.header().map(|h| h.to_line()).unwrap_or_default();
                let new = NewImportJob {
                    service: self.service.clone(),
                    file_name: self.file_name.clone(),
                    submitted_by: self.submitted_by.clone(),
                    dry_run: self.dry_run,
                    columns,
                };
                let job = self.store.import_job_create(&new).await?;
                let id = job.id;
                self.job = Some(job);
                id
            }
        };
        let batch: Vec<NewImportRow> = rows
            .drain(..)
            .map(|r| NewImportRow {
                row_number: r.row_number,
                source_id: r.source_id,
                raw_data: r.raw,
                problem: r.problem,
            })
            .collect();
        self.store.import_rows_append(job_id, &batch).await?;
        Ok(())
    }

    async fn abandon(&mut self, why: &str) {
        self.settled = true;
        if let Some(job) = &self.job {
            abandon(&self.store, job.id, why).await;
        }
    }
}

/// A client that disconnects mid-upload makes axum drop the handler at whatever it awaits: the
/// job it started must not stay `receiving` for ever.
impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(job) = self.job.take().filter(|_| !self.settled) {
            let store = self.store.clone();
            tokio::spawn(async move { abandon(&store, job.id, "the upload broke off").await });
        }
    }
}

async fn abandon(store: &Store, job_id: Uuid, why: &str) {
    if let Err(e) = store.import_job_abandon(job_id, why).await {
        tracing::warn!(import.job_id = %job_id, error = %e, "cannot mark an interrupted upload failed");
    }
}

async fn receive(upload: &mut Upload, body: Body, max: u64) -> Result<(), ApiError> {
    let file_error = |e: FileError| ApiError::new(StatusCode::BAD_REQUEST, "invalid_file", e.to_string());
    let mut csv = CsvInput::new();
    let mut rows = Vec::new();
    let mut received: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece: Bytes = piece.map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "upload_interrupted", format!("the upload broke off: {e}"))
        })?;
        received += piece.len() as u64;
        if received > max {
            return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "too large"));
        }
        csv.feed(&piece, &mut rows).map_err(file_error)?;
        if rows.len() >= UPLOAD_BATCH {
            upload.store_rows(&csv, &mut rows).await?;
        }
    }
    csv.finish(&mut rows).map_err(file_error)?;
    upload.store_rows(&csv, &mut rows).await?;
    if let Some(job) = &upload.job {
        upload.job = Some(upload.store.import_job_queue(job.id, csv.rows()).await?);
    }
    Ok(())
}

/// The most jobs `GET /imports` lists, and how many unless `limit` says otherwise.
const MAX_JOBS_LISTED: u32 = 200;
const JOBS_LISTED: u32 = 50;

/// `GET /imports[?limit=N]`: the newest jobs first (50 unless `limit` says otherwise).
async fn jobs(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: RawParams,
) -> Result<Json<serde_json::Value>, ApiError> {
    let params = Params::check(query, &["limit"])?;
    let limit = match params.get("limit") {
        None => JOBS_LISTED,
        Some(text) => text.parse().ok().filter(|n| (1..=MAX_JOBS_LISTED).contains(n)).ok_or_else(|| {
            ApiError::parameter(
                "limit",
                format!("a whole number from 1 to {MAX_JOBS_LISTED} (default {JOBS_LISTED}), not {}", shown(text)),
            )
        })?,
    };
    let grant = Grant::of(&principal);
    let jobs: Vec<_> = s.store.import_jobs_recent(limit, grant.services()).await?.iter().map(view).collect();
    Ok(Json(json!({ "jobs": jobs })))
}

async fn job(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    query: RawParams,
) -> Result<Json<serde_json::Value>, ApiError> {
    Params::check(query, &[])?;
    Ok(Json(view(&granted_job(&s, &principal, &id).await?)))
}

async fn resume(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    query: RawParams,
) -> Result<Response, ApiError> {
    Params::check(query, &[])?;
    let id = granted_job(&s, &principal, &id).await?.id;
    match s.store.import_job_resume(id).await {
        Ok(job) => {
            s.wake.notify_one();
            Ok((StatusCode::ACCEPTED, Json(view(&job))).into_response())
        }
        Err(StoreError::NotFound) => Err(not_resumable(&s.store.import_job(id).await?)),
        Err(e) => Err(e.into()),
    }
}

/// Why the store would not queue `job` again.
fn not_resumable(job: &ImportJob) -> ApiError {
    match job.status {
        // Only an upload that broke off fails with no rows: the job was never queued.
        ImportJobStatus::Failed if job.rows_total == 0 => ApiError::new(
            StatusCode::CONFLICT,
            "upload_broke_off",
            "the upload of this job broke off before the whole file arrived, so the job has no rows to run and \
             cannot be resumed: upload the file again",
        ),
        // It was resumed by someone else, and failed again, between the two reads.
        ImportJobStatus::Failed => {
            ApiError::new(StatusCode::CONFLICT, "not_failed", "the job changed while it was being resumed; try again")
        }
        other => ApiError::new(
            StatusCode::CONFLICT,
            "not_failed",
            format!("only a failed job can be resumed; this one is {}", other.as_str()),
        ),
    }
}

/// Rows per page read while streaming a result file.
const RESULT_PAGE: u32 = 1000;

async fn results(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    query: RawParams,
) -> Result<Response, ApiError> {
    Params::check(query, &[])?;
    let job = granted_job(&s, &principal, &id).await?;
    if job.status != ImportJobStatus::Done {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_done",
            format!("the job is {}; its results are available once it is done", job.status.as_str()),
        ));
    }
    let head =
        futures_util::stream::once(async { Ok::<Bytes, StoreError>(Bytes::from(format!("{RESULT_HEADER}\r\n"))) });
    let store = s.store.clone();
    let pages = futures_util::stream::try_unfold(Some(0_i64), move |after| {
        let store = store.clone();
        async move {
            let Some(after) = after else { return Ok(None) };
            let rows = store.import_rows(job.id, after, RESULT_PAGE).await?;
            let Some(last) = rows.last().map(|r| r.row_number) else { return Ok(None) };
            let mut text = String::new();
            for r in rows {
                let line = ResultRow {
                    row_number: u64::try_from(r.row_number).unwrap_or_default(),
                    id: r.source_id,
                    user_id: r.user_id,
                    outcome: r.outcome.unwrap_or(identity_core::import::Outcome::Invalid),
                    notes: r.notes.into_iter().filter(|n| !n.is_empty()).collect(),
                    raw: r.raw_data,
                };
                text.push_str(&line.to_csv_line());
            }
            Ok(Some((Bytes::from(text), Some(last))))
        }
    });
    let body = Body::from_stream(head.chain(pages));
    let disposition = format!("attachment; filename=\"{}-results.csv\"", job.id);
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response())
}
