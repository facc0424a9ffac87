//! The OpenAPI document, generated from the handlers' annotations and the view types.

use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;
use crate::views::{
    ChangeView, ChangesPage, CombinedView, EmailView, ExplainView, FieldExplanationView, FieldsView, LinkView,
    MergedProfileView, MergedView, OfferView, PeoplePage, PersonView, PhoneView, ProfilesView, SourceProfileView,
    SourcedEmails, SourcedPhones, SourcedValue,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "identity api",
        description = "Read people: combined profiles with the source of each value, lookups by email, TRN or a source's id, and a change feed. Authenticate with `Authorization: Bearer <API key>`; each route needs the scope it names.",
        version = env!("CARGO_PKG_VERSION")
    ),
    paths(super::people::get, super::people::profiles, super::people::explain, super::people::list, super::changes::feed, openapi),
    components(schemas(
        PersonView, CombinedView, SourcedValue, LinkView, PeoplePage, ProfilesView, SourceProfileView, FieldsView, ChangeView,
        ChangesPage, MergedView, MergedProfileView, ExplainView, FieldExplanationView, OfferView, ErrorBody,
        SourcedEmails, SourcedPhones, EmailView, PhoneView
    )),
    modifiers(&BearerKey),
    tags((name = "people", description = "People and their profiles"), (name = "changes", description = "The change feed"))
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "people", responses((status = 200, description = "The OpenAPI document")), security(("api_key" = [])))]
pub async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}
