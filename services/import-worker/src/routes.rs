//! import-worker's routes: upload a CSV for a service (a job), read the job, download its
//! results, resume a failed job, and the OpenAPI document describing them (`docs`). Every route
//! needs an import token, and reaches only the jobs of the services the token was made for (see
//! `grant`). Every query string is checked by [`Params`]: a parameter a route does not take, one
//! given twice or a malformed value answers 400 `invalid_query` naming it.

mod docs;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use identity_core::import::result::{ResultRow, RESULT_HEADER};
use identity_core::ServiceName;
use identity_server::auth::{AuthError, Authenticator, Principal};
use identity_server::runner::Running;
use identity_store::{CredentialKind, ImportJob, ImportJobStatus, NewImportJob, NewImportRow, Store, StoreError};
use serde::Serialize;
use tokio::sync::Notify;
use utoipa::ToSchema;
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

/// An error answer's body: every error these routes answer has it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `invalid_query`, `invalid_service`, `invalid_file`, `unauthorized`,
    /// `forbidden`, `not_found`, `not_done`, `not_failed`, `upload_broke_off`, `too_large`, …
    pub error: &'static str,
    /// What is wrong, for a person; for `invalid_query` it starts with the parameter's name.
    pub message: String,
}

/// The binary's one error type and its one mapping to HTTP: `{"error": code, "message": …}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, body: ErrorBody { error: code, message: message.into() } }
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
        let mut response = (self.status, Json(self.body)).into_response();
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
        .route("/imports/openapi.json", get(docs::openapi))
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

/// A job's status: `receiving` (the upload is arriving) → `queued` → `running` → `done`, or
/// `failed` (`error` says why).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum JobStatus {
    Receiving,
    Queued,
    Running,
    Done,
    Failed,
}

impl From<ImportJobStatus> for JobStatus {
    fn from(s: ImportJobStatus) -> Self {
        match s {
            ImportJobStatus::Receiving => Self::Receiving,
            ImportJobStatus::Queued => Self::Queued,
            ImportJobStatus::Running => Self::Running,
            ImportJobStatus::Done => Self::Done,
            ImportJobStatus::Failed => Self::Failed,
        }
    }
}

/// How many rows had each outcome so far.
#[derive(Debug, Serialize, ToSchema)]
struct CountsView {
    #[serde(rename = "None")]
    none: i64,
    #[serde(rename = "UserAdded")]
    added: i64,
    #[serde(rename = "UserUpdated")]
    updated: i64,
    #[serde(rename = "Invalid")]
    invalid: i64,
}

#[derive(Debug, Serialize, ToSchema)]
struct JobLinks {
    /// The job: `/imports/{id}`.
    #[serde(rename = "self")]
    this: String,
    /// Its result file: `/imports/{id}/results`.
    results: String,
}

/// An import job, as every route answers it.
#[derive(Debug, Serialize, ToSchema)]
struct JobView {
    id: Uuid,
    /// The service the file came from; its rows are the source `import:<service>`.
    service: String,
    file_name: String,
    /// A dry run decides every row and changes nothing.
    dry_run: bool,
    status: JobStatus,
    /// Data rows in the file: 0 until the whole file has arrived (and for an upload that broke off).
    rows_total: i64,
    /// Rows processed so far; a resumed job continues after them.
    rows_done: i64,
    counts: CountsView,
    /// Why the job failed.
    error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    /// When the retention sweep began removing its rows' raw data, service ids and notes
    /// (`[retention] import_rows_days` after it finished); its results can no longer be
    /// downloaded, nor the job resumed.
    data_removed_at: Option<DateTime<Utc>>,
    links: JobLinks,
}

impl JobView {
    fn of(job: &ImportJob) -> Self {
        Self {
            id: job.id,
            service: job.service.as_str().to_owned(),
            file_name: job.file_name.clone(),
            dry_run: job.dry_run,
            status: job.status.into(),
            rows_total: job.rows_total,
            rows_done: job.rows_done,
            counts: CountsView {
                none: job.counts.none,
                added: job.counts.added,
                updated: job.counts.updated,
                invalid: job.counts.invalid,
            },
            error: job.error.clone(),
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            data_removed_at: job.data_removed_at,
            links: JobLinks { this: format!("/imports/{}", job.id), results: format!("/imports/{}/results", job.id) },
        }
    }
}

/// The newest jobs first.
#[derive(Debug, Serialize, ToSchema)]
struct JobsPage {
    jobs: Vec<JobView>,
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

/// Upload a CSV file: its rows are stored and a job is queued to import them.
#[utoipa::path(
    post,
    path = "/imports",
    tag = "imports",
    params(
        ("service" = String, Query, description = "Required: the service the file comes from; its rows become the source `import:<service>`. Lower-case letters, digits, `-` and `_`; the token must be made for it"),
        ("dry_run" = Option<bool>, Query, description = "`true`: decide every row and store the results, change nothing (default `false`)"),
        ("file_name" = Option<String>, Query, description = "Recorded with the job: at most 255 printable characters (default `upload.csv`)"),
    ),
    request_body(content = String, content_type = "text/csv", description = "The import file: RFC 4180 CSV in UTF-8, the header `ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH` (in any order) and one row per person"),
    responses(
        (status = 202, description = "The file is stored and its job queued", body = JobView, headers(("Location" = String, description = "The job: `/imports/{id}`"))),
        (status = 400, description = "`invalid_query` (a missing, unknown, repeated or malformed parameter), `invalid_service`, `invalid_file_name`, `invalid_file` (the header is wrong, or there are no data rows; no job is made) or `upload_interrupted`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid import token", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token is not made for this service", body = ErrorBody),
        (status = 413, description = "`too_large`: the file is larger than `[import] max_upload_bytes`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as `text/csv`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached; try again shortly", body = ErrorBody),
    ),
    security(("import_token" = []))
)]
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
        upload.abandon(&e.body.message).await;
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
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(JobView::of(&job))).into_response())
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

/// The newest jobs of the token's services first.
#[utoipa::path(
    get,
    path = "/imports",
    tag = "imports",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "At most this many jobs, 1 to 200 (default 50)")),
    responses(
        (status = 200, description = "The newest jobs first", body = JobsPage),
        (status = 400, description = "`invalid_query`: an unknown, repeated or malformed parameter", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid import token", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached; try again shortly", body = ErrorBody),
    ),
    security(("import_token" = []))
)]
async fn jobs(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: RawParams,
) -> Result<Json<JobsPage>, ApiError> {
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
    let jobs = s.store.import_jobs_recent(limit, grant.services()).await?.iter().map(JobView::of).collect();
    Ok(Json(JobsPage { jobs }))
}

/// A job: its status, progress and counts.
#[utoipa::path(
    get,
    path = "/imports/{id}",
    tag = "imports",
    params(("id" = Uuid, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "`invalid_id` (not a UUID) or `invalid_query` (this route takes no parameters)", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid import token", body = ErrorBody),
        (status = 404, description = "`not_found`: no such job, or one of a service the token is not made for", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached; try again shortly", body = ErrorBody),
    ),
    security(("import_token" = []))
)]
async fn job(
    State(s): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    query: RawParams,
) -> Result<Json<JobView>, ApiError> {
    Params::check(query, &[])?;
    Ok(Json(JobView::of(&granted_job(&s, &principal, &id).await?)))
}

/// Queue a failed job again: it continues after `rows_done` (a dry run starts again from the
/// first row).
#[utoipa::path(
    post,
    path = "/imports/{id}/resume",
    tag = "imports",
    params(("id" = Uuid, Path, description = "The job's id")),
    responses(
        (status = 202, description = "The job, queued again", body = JobView),
        (status = 400, description = "`invalid_id` (not a UUID) or `invalid_query` (this route takes no parameters)", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid import token", body = ErrorBody),
        (status = 404, description = "`not_found`: no such job, or one of a service the token is not made for", body = ErrorBody),
        (status = 409, description = "`not_failed`: only a failed job can be resumed; `upload_broke_off`: the job failed because its upload broke off, so it has no rows to run: upload the file again; `data_removed`: the retention sweep removed its rows", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached; try again shortly", body = ErrorBody),
    ),
    security(("import_token" = []))
)]
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
            Ok((StatusCode::ACCEPTED, Json(JobView::of(&job))).into_response())
        }
        Err(StoreError::NotFound) => Err(not_resumable(&s.store.import_job(id).await?)),
        Err(e) => Err(e.into()),
    }
}

/// Why the store would not queue `job` again.
fn not_resumable(job: &ImportJob) -> ApiError {
    match job.status {
        // A job fails with no rows only when its upload did not complete (it broke off, or the
        // file was refused part-way): it was never queued. Its error says which.
        ImportJobStatus::Failed if job.rows_total == 0 => ApiError::new(
            StatusCode::CONFLICT,
            "upload_broke_off",
            format!(
                "the upload of this job did not complete ({}), so the job has no rows to run and cannot be \
                 resumed: upload the file again",
                job.error.as_deref().unwrap_or("the upload broke off")
            ),
        ),
        ImportJobStatus::Failed if job.data_removed_at.is_some() => ApiError::new(
            StatusCode::CONFLICT,
            "data_removed",
            "the retention sweep removed this job's rows, so it cannot be resumed: upload the file again",
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

/// The result file of a done job: one line per row of the input, in its order. It can be
/// downloaded again at any time.
#[utoipa::path(
    get,
    path = "/imports/{id}/results",
    tag = "imports",
    params(("id" = Uuid, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The result CSV, header `ROW_NUMBER,ID,USER_ID,USER_IMPORT_ROW_RESULT,NOTES,RAW_DATA`, as an attachment named `<id>-results.csv`", body = String, content_type = "text/csv", headers(("Content-Disposition" = String))),
        (status = 400, description = "`invalid_id` (not a UUID) or `invalid_query` (this route takes no parameters)", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid import token", body = ErrorBody),
        (status = 404, description = "`not_found`: no such job, or one of a service the token is not made for", body = ErrorBody),
        (status = 409, description = "`not_done`: the job is not done yet (a failed job included)", body = ErrorBody),
        (status = 410, description = "`data_removed`: the retention sweep removed the job's rows (`data_removed_at`); the job's counts stay", body = ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached; try again shortly", body = ErrorBody),
    ),
    security(("import_token" = []))
)]
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
    if let Some(at) = job.data_removed_at {
        return Err(ApiError::new(
            StatusCode::GONE,
            "data_removed",
            format!(
                "the retention sweep removed this job's rows on {} ([retention] import_rows_days after it \
                 finished), so its results are gone; its counts stay",
                at.format("%Y-%m-%d")
            ),
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
