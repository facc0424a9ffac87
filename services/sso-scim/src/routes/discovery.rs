//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`: GET only.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use identity_scim::{discovery, ScimError};

use super::error::ScimResponse;
use super::{scim, AppState};

pub async fn service_provider_config(State(s): State<AppState>) -> Response {
    scim(StatusCode::OK, &discovery::service_provider_config(&s.base, s.caps))
}

pub async fn resource_types(State(s): State<AppState>) -> Response {
    scim(StatusCode::OK, &discovery::resource_types(&s.base))
}

pub async fn resource_type(State(s): State<AppState>, Path(name): Path<String>) -> Result<Response, ScimResponse> {
    if name != "User" {
        return Err(ScimError::not_found(format!("no resource type {name:?}")).into());
    }
    Ok(scim(StatusCode::OK, &discovery::user_resource_type(&s.base)))
}

pub async fn schemas(State(s): State<AppState>) -> Response {
    scim(StatusCode::OK, &discovery::schemas_list(&s.base))
}

pub async fn schema(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ScimResponse> {
    discovery::schema_by_id(&s.base, &id)
        .map(|doc| scim(StatusCode::OK, &doc))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")).into())
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut response =
        ScimResponse::error(ScimError::new(405, None, format!("method not allowed here; allowed: {allow}")))
            .into_response();
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// Any method but GET on a discovery endpoint.
pub async fn get_only() -> Response {
    method_not_allowed("GET")
}

pub async fn post_only() -> Response {
    method_not_allowed("POST")
}

pub async fn users_methods() -> Response {
    method_not_allowed("GET, POST")
}

pub async fn user_methods() -> Response {
    method_not_allowed("GET, PUT, PATCH, DELETE")
}
