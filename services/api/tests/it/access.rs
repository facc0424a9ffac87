use identity_store::testing::TestDatabase;

use crate::support::Api;

pub async fn keys_scopes_and_rate_limits(db: &TestDatabase) {
    let api =
        Api::start(db, &[("IDENTITY_API__RATE_LIMIT_PER_SECOND", "1"), ("IDENTITY_API__RATE_LIMIT_BURST", "3")]).await;
    for key in [
        None,
        Some("nope"),
        Some(
            "idt_api_00000000000000000000000000000000_0000000000000000000000000000000000000000000000000000000000000000",
        ),
    ] {
        let r = api.get_with("/api/v1/people", key, &[]).await;
        r.assert_error(401, "unauthorized", None);
        assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"api\"");
    }
    api.get_with("/api/v1/openapi.json", None, &[]).await.assert_error(401, "unauthorized", None);
    // A burst of three, then 429 with Retry-After.
    let limited = api.key("limited", "people:read").await;
    for _ in 0..3 {
        assert_eq!(api.get_with("/api/v1/people", Some(&limited), &[]).await.status, 200);
    }
    let r = api.get_with("/api/v1/people", Some(&limited), &[]).await;
    r.assert_error(429, "rate_limited", None);
    assert!(r.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    // Another key has its own bucket; a revoked key stops working.
    assert_eq!(api.get("/api/v1/people").await.status, 200);
    api.svc.cli(&["keys", "revoke", "limited"]).await;
    let listed = api.svc.cli(&["keys", "list"]).await;
    assert!(listed.contains("limited") && listed.contains("people:read"));
    // Unknown scopes are refused at creation.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_api"))
        .args(["keys", "create", "--name", "x", "--scope", "everything"])
        .env("DATABASE_URL", &db.url)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let refusal = String::from_utf8_lossy(&out.stderr);
    assert!(
        refusal.contains("everything") && refusal.contains("known: people:read, profiles:read, changes:read"),
        "{refusal}"
    );
}

pub async fn the_openapi_document_is_valid_and_complete(db: &TestDatabase) {
    let api = Api::start(db, &[]).await;
    let r = api.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // It parses as an OpenAPI document.
    let parsed: utoipa::openapi::OpenApi = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(parsed.info.title, "identity api");
    // Every route the binary serves is documented, with its parameters.
    let paths = doc["paths"].as_object().unwrap();
    for route in [
        "/api/v1/people",
        "/api/v1/people/{id}",
        "/api/v1/people/{id}/profiles",
        "/api/v1/people/{id}/explain",
        "/api/v1/changes",
        "/api/v1/openapi.json",
    ] {
        assert!(paths.get(route).and_then(|p| p.get("get")).is_some(), "{route} documented");
    }
    for (route, item) in paths {
        for name in route.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            let params = item["get"]["parameters"].as_array().unwrap();
            assert!(params.iter().any(|p| p["name"] == name && p["in"] == "path"), "{route} declares {name}");
        }
    }
    identity_testkit::assert_openapi_refs_resolve(&doc);
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
}

pub async fn only_api_routes_are_served(db: &TestDatabase) {
    let api = Api::start(db, &[]).await;
    for path in ["/scim/v2/Users", "/scim/v2/ServiceProviderConfig", "/imports", "/imports/x", "/api/v2/people", "/"] {
        assert_eq!(api.get(path).await.status, 404, "{path}");
    }
}
