//! The admin binary with people written through the store the way SCIM and imports write them.

use identity_core::{DateOfBirth, Email, ProfileFields, ServiceName, UserId};
use identity_store::testing::TestDatabase;
use identity_store::{Actor, ImportWrites, ImportedUser, PoolConfig, SsoUserWrite, Store};
use identity_testkit::Service;
use serde_json::{json, Value};

pub struct Admin {
    pub svc: Service,
    http: reqwest::Client,
    pub store: Store,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], error, "{}", self.body);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.body);
    }
}

impl Admin {
    /// Without the feed follower, so that only a test's own actions queue items.
    pub async fn start(db: &TestDatabase) -> Self {
        Self::start_with(db, &[("IDENTITY_MATCHER__FOLLOW", "false")]).await
    }

    pub async fn start_with(db: &TestDatabase, env: &[(&str, &str)]) -> Self {
        let svc = Service::start(env!("CARGO_BIN_EXE_admin"), &db.url, env).await;
        let store = Store::connect(&db.url, &PoolConfig::default()).unwrap();
        Self { svc, http: reqwest::Client::new(), store }
    }

    /// A token with this role, named after it.
    pub async fn token(&self, role: &str) -> String {
        self.svc.cli(&["tokens", "create", "--name", role, "--role", role]).await.trim().to_owned()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, String)>,
    ) -> Reply {
        let mut req = self.http.request(method, self.svc.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some((content_type, body)) = body {
            req = req.header("content-type", content_type).body(body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(reqwest::Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(reqwest::Method::POST, path, Some(token), Some(("application/json", body.to_string()))).await
    }

    pub async fn merge(&self, token: &str, survivor: UserId, merged: UserId) -> Reply {
        self.post(
            "/admin/v1/merges",
            token,
            &json!({"survivor": survivor, "merged": merged, "reason": "the same person"}),
        )
        .await
    }

    /// A user as SCIM creates one.
    pub async fn sso_user(&self, user_name: &str, given: &str, email: &str) -> UserId {
        let w = SsoUserWrite {
            user_name: user_name.to_owned(),
            fields: ProfileFields {
                first_name: Some(given.to_owned()),
                last_name: Some("Lee".to_owned()),
                email: Some(Email::parse(email).unwrap()),
                ..ProfileFields::default()
            },
            attributes: json!({"userName": user_name}),
            active: true,
        };
        self.store.sso_create(&w, &Actor::new("scim:test")).await.unwrap().id
    }

    /// A user as an import row of `hr` creates one, with a date of birth SSO does not send.
    pub async fn imported_user(&self, id: &str, given: &str, email: &str) -> UserId {
        let user = UserId::random();
        let writes = ImportWrites {
            service: ServiceName::new("hr").unwrap(),
            actor: "import:test".into(),
            new_users: vec![ImportedUser {
                id: user,
                external_id: id.to_owned(),
                import: ProfileFields {
                    first_name: Some(given.to_owned()),
                    last_name: Some("Lee".to_owned()),
                    email: Some(Email::parse(email).unwrap()),
                    date_of_birth: Some(DateOfBirth::parse_ddmmyyyy("01021980").unwrap()),
                    ..ProfileFields::default()
                },
                registry: None,
            }],
            trn_updates: vec![],
            links: vec![],
            reviews: Vec::new(),
        };
        let mut session = self.store.import_session().await.unwrap();
        session.apply(&writes).await.unwrap();
        session.commit().await.unwrap();
        user
    }

    /// The person's history once the binary's sequencer has numbered `want` changes of it.
    pub async fn history(&self, token: &str, person: UserId, want: usize) -> Value {
        for _ in 0..100 {
            let r = self.get(&format!("/admin/v1/people/{person}/history"), token).await;
            assert_eq!(r.status, 200, "{}", r.body);
            if r.body["changes"].as_array().map_or(0, Vec::len) >= want {
                return r.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{person}'s history never held {want} changes");
    }
}
