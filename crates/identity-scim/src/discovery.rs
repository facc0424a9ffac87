//! The discovery resources: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7644 §4),
//! and the list response they and `/Users` share.

use serde_json::{json, Value};

use crate::schema::{schema_json, schemas, ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// What the service advertises about itself.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// The most resources one page returns (`count` is capped here).
    pub max_results: u64,
    /// The page size when a client gives no `count`.
    pub default_page_size: u64,
}

pub fn service_provider_config(base: &str, c: Capabilities) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/identity/identity#readme",
        // The bounds of a PATCH (`patch::MAX_OPERATIONS`, `user::MAX_VALUES`) are not given
        // here: RFC 7643 defines no attribute for them, and strict clients refuse a document
        // with any attribute it does not define, an extension's included (scim2-tester does).
        // The README's SCIM section states them, and each refusal names its bound.
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": c.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        // RFC 9865: index and cursor paging.
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": c.default_page_size,
            // Cursors are keyset positions: they never expire, so no cursorTimeout is given.
            "maxPageSize": c.max_results
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token made with `sso-scim tokens create`, sent as `Authorization: Bearer <token>`.",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    })
}

pub fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        // identity's combined profile (`COMBINED_USER_SCHEMA`) is not listed: it is nothing a client
        // writes, only what `attributes` asks for, and a client that reads this list as what it may
        // write (scim2-tester does) would try to PATCH it.
        "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
    })
}

/// A list response (RFC 7644 §3.4.2), serialised from the resources as they are.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<'a, T> {
    schemas: [&'static str; 1],
    total_results: u64,
    items_per_page: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
    #[serde(rename = "Resources")]
    resources: &'a [T],
}

pub fn list<'a, T>(
    resources: &'a [T],
    total: u64,
    start_index: Option<u64>,
    next_cursor: Option<&'a str>,
) -> ListResponse<'a, T> {
    ListResponse {
        schemas: [LIST_SCHEMA],
        total_results: total,
        items_per_page: resources.len(),
        start_index,
        next_cursor,
        resources,
    }
}

pub fn resource_types(base: &str) -> Value {
    serde_json::to_value(list(&[user_resource_type(base)], 1, Some(1), None)).unwrap_or_default()
}

pub fn schemas_list(base: &str) -> Value {
    let all: Vec<Value> = schemas().iter().map(|s| schema_json(s, base)).collect();
    serde_json::to_value(list(&all, all.len() as u64, Some(1), None)).unwrap_or_default()
}

/// One schema by its URN (compared case-insensitively).
pub fn schema_by_id(base: &str, id: &str) -> Option<Value> {
    schemas().iter().find(|s| s.id.eq_ignore_ascii_case(id)).map(|s| schema_json(s, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_documents_describe_the_service() {
        let c = Capabilities { max_results: 1000, default_page_size: 100 };
        let spc = service_provider_config("http://h/scim/v2", c);
        assert_eq!(spc["filter"]["maxResults"], 1000);
        assert_eq!(spc["etag"]["supported"], true);
        assert_eq!(spc["pagination"]["cursor"], true);
        let types = resource_types("http://h/scim/v2");
        assert_eq!(types["Resources"][0]["schemaExtensions"][0]["schema"], ENTERPRISE_USER_SCHEMA);
        assert_eq!(types["Resources"][0]["schemaExtensions"].as_array().map(Vec::len), Some(1));
        assert_eq!(schemas_list("b")["totalResults"], 3);
        assert!(schema_by_id("b", &USER_SCHEMA.to_uppercase()).is_some());
        assert!(schema_by_id("b", "urn:nope").is_none());
    }
}
