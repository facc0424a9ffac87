//! A SCIM client for the tests: the real binary, a token made with its own CLI, and helpers
//! that return status, headers and JSON.

use identity_store::testing::TestDatabase;
use identity_testkit::Service;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub struct Scim {
    pub svc: Service,
    pub token: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts an RFC 7644 error with this status and scimType.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{}", self.body);
        assert_eq!(self.body["status"], status.to_string());
        assert_eq!(self.body["scimType"].as_str(), scim_type, "{}", self.body);
        assert_eq!(self.headers["content-type"], "application/scim+json");
    }

    pub fn etag(&self) -> String {
        self.headers["etag"].to_str().unwrap().to_owned()
    }
}

impl Scim {
    pub async fn start(db: &TestDatabase, env: &[(&str, &str)]) -> Self {
        let svc = Service::start(env!("CARGO_BIN_EXE_sso-scim"), &db.url, env).await;
        let token = svc.cli(&["tokens", "create", "--name", "test-idp"]).await.trim().to_owned();
        Self { svc, token }
    }

    /// An authenticated request under `/scim/v2`, not yet sent.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let mut req = self.svc.http.request(method, self.svc.url(&format!("/scim/v2{path}"))).bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(serde_json::to_vec(b).unwrap());
        }
        req
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Reply {
        let res = self.request(method, path, body, headers).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub async fn patch(&self, id: &str, ops: Value) -> Reply {
        self.send(Method::PATCH, &format!("/Users/{id}"), Some(&json!({"schemas": [PATCH], "Operations": ops})), &[])
            .await
    }

    /// Creates a user and returns its resource.
    pub async fn create(&self, user: &Value) -> Value {
        let r = self.post("/Users", user).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// The userNames a filter finds, sorted.
    pub async fn find(&self, filter: &str) -> Vec<String> {
        let r = self.send(Method::GET, &format!("/Users?count=1000&filter={}", urlencode(filter)), None, &[]).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        let mut names: Vec<String> = r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A user as an identity provider would send it.
pub fn user(user_name: &str, given: &str, family: &str, email: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "name": {"givenName": given, "familyName": family},
        "displayName": format!("{given} {family}"),
        "active": true,
        "emails": [{"value": email, "type": "work", "primary": true}],
        ENTERPRISE: {"department": "Engineering", "employeeNumber": "1"}
    })
}
