//! The OpenAPI document, generated from the handlers' annotations and the view types (as api's
//! is). It needs an import token like every other route, as api's needs a key.

use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{ApiError, CountsView, ErrorBody, JobLinks, JobStatus, JobView, JobsPage, Params, RawParams};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "identity import-worker",
        description = "Import a service's users from a CSV file: upload the file (a job), follow the job, download the result file, resume a job that failed. Authenticate with `Authorization: Bearer <import token>`; a token reaches only the jobs of the services it was made for, and another service's job answers 404 like an unknown one.",
        version = env!("CARGO_PKG_VERSION")
    ),
    paths(super::upload, super::jobs, super::job, super::results, super::resume, openapi),
    components(schemas(JobView, JobStatus, CountsView, JobLinks, JobsPage, ErrorBody)),
    modifiers(&BearerToken),
    tags((name = "imports", description = "Import jobs: uploads, their status and their results"))
)]
pub struct ImportDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "import_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/imports/openapi.json",
    tag = "imports",
    responses(
        (status = 200, description = "The OpenAPI document"),
        (status = 400, description = "`invalid_query`: this route takes no parameters", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid import token", body = ErrorBody),
    ),
    security(("import_token" = []))
)]
pub async fn openapi(query: RawParams) -> Result<Response, ApiError> {
    Params::check(query, &[])?;
    Ok(Json(ImportDoc::openapi()).into_response())
}
