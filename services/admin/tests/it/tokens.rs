use identity_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;

use crate::support::Admin;

pub async fn an_admin_manages_tokens_over_http(db: &TestDatabase) {
    let admin = Admin::start(db).await;
    let (boss, reviewer) = (admin.token("admin").await, admin.token("reviewer").await);

    // Only an admin may see or make tokens.
    admin.get("/admin/v1/tokens", &reviewer).await.assert_error(403, "forbidden");
    let made = admin.post("/admin/v1/tokens", &reviewer, &json!({"name": "sso", "role": "reviewer"})).await;
    made.assert_error(403, "forbidden");

    let made = admin.post("/admin/v1/tokens", &boss, &json!({"name": "staff-sso", "role": "reviewer"})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.headers["cache-control"], "no-store");
    assert_eq!(made.headers["location"], "/admin/v1/tokens/staff-sso");
    assert_eq!((made.body["name"].as_str(), made.body["role"].as_str()), (Some("staff-sso"), Some("reviewer")));
    let token = made.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("idt_admin_"), "{token}");
    // The new token works, with the role it was given.
    assert_eq!(admin.get("/admin/v1/reviews", &token).await.status, 200);
    admin.get("/admin/v1/tokens", &token).await.assert_error(403, "forbidden");

    let listed = admin.get("/admin/v1/tokens", &boss).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let names: Vec<&str> =
        listed.body["tokens"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "reviewer", "staff-sso"], "{}", listed.body);
    let text = listed.body.to_string();
    assert!(!text.contains(&token) && !text.contains("secret"), "no secret or hash is listed: {text}");

    // Bad requests, each with its reason; nothing is made.
    let bad = |body: serde_json::Value| {
        let (admin, boss) = (&admin, &boss);
        async move { admin.post("/admin/v1/tokens", boss, &body).await }
    };
    bad(json!({"name": "x", "role": "root"})).await.assert_error(400, "invalid_request");
    bad(json!({"name": "has space", "role": "viewer"})).await.assert_error(400, "invalid_request");
    bad(json!({"name": "x", "role": "viewer", "scopes": ["admin"]})).await.assert_error(400, "invalid_request");
    bad(json!({"name": "staff-sso", "role": "viewer"})).await.assert_error(409, "conflict");
    let listed = admin.get("/admin/v1/tokens", &boss).await;
    assert_eq!(listed.body["tokens"].as_array().unwrap().len(), 3, "{}", listed.body);

    // Revoking: once, by name; the token then stops working (after the credential cache).
    let revoke = |name: &'static str| {
        let (admin, boss) = (&admin, &boss);
        async move { admin.send(Method::DELETE, &format!("/admin/v1/tokens/{name}"), Some(boss), None).await }
    };
    let gone = revoke("staff-sso").await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    revoke("staff-sso").await.assert_error(404, "not_found");
    revoke("nobody").await.assert_error(404, "not_found");
    let listed = admin.get("/admin/v1/tokens", &boss).await;
    let revoked = listed.body["tokens"].as_array().unwrap().iter().find(|t| t["name"] == "staff-sso").unwrap().clone();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    tokio::time::sleep(identity_server::auth::CACHE_TTL + std::time::Duration::from_secs(1)).await;
    admin.get("/admin/v1/reviews", &token).await.assert_error(401, "unauthorized");
    // The name is free again for a new token.
    let again = admin.post("/admin/v1/tokens", &boss, &json!({"name": "staff-sso", "role": "viewer"})).await;
    assert_eq!(again.status, 201, "{}", again.body);
}
