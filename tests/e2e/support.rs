//! The four binaries on one database, with a credential each.

use std::path::PathBuf;

use identity_store::testing::TestDatabase;
use identity_testkit::Service;
use serde_json::Value;

/// A workspace binary, beside this test's executable (`target/<profile>/deps/e2e-…`).
pub fn binary(name: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf();
    let path = dir.join(name);
    assert!(path.exists(), "{} is not built: build the workspace first (scripts/test.sh does)", path.display());
    path.display().to_string()
}

pub struct Identity {
    pub scim: Service,
    pub import: Service,
    pub admin: Service,
    pub api: Service,
    pub scim_token: String,
    pub import_token: String,
    pub admin_token: String,
    pub api_key: String,
    http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Identity {
    pub async fn start(db: &TestDatabase) -> Self {
        Self::start_with(db, &[]).await
    }

    /// [`Identity::start`] with `env` set for every binary.
    pub async fn start_with(db: &TestDatabase, env: &[(&str, &str)]) -> Self {
        let with = |own: &[(&'static str, &'static str)]| -> Vec<(String, String)> {
            own.iter().chain(env).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let start = |name: &'static str, own: Vec<(String, String)>| async move {
            let own: Vec<(&str, &str)> = own.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            Service::start(&binary(name), &db.url, &own).await
        };
        let scim = start("sso-scim", with(&[])).await;
        let import = start("import-worker", with(&[("IDENTITY_IMPORT__POLL_MS", "50")])).await;
        let admin = start("admin", with(&[("IDENTITY_MATCHER__IDLE_MS", "50")])).await;
        let api = start("api", with(&[])).await;
        let scim_token = scim.cli(&["tokens", "create", "--name", "staff-sso"]).await.trim().to_owned();
        let import_token =
            import.cli(&["tokens", "create", "--name", "imports", "--all-services"]).await.trim().to_owned();
        let admin_token = admin.cli(&["tokens", "create", "--name", "ops", "--role", "admin"]).await.trim().to_owned();
        let api_key = api
            .cli(&["keys", "create", "--name", "consumer", "--scope", "people:read,profiles:read,changes:read"])
            .await
            .trim()
            .to_owned();
        // Follows no redirects, so a merged person's 308 is seen as such.
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { scim, import, admin, api, scim_token, import_token, admin_token, api_key, http }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        Reply { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn scim_create(&self, user_name: &str, given: &str, email: &str) -> String {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": {"givenName": given, "familyName": "Lee"},
            "emails": [{"value": email, "primary": true}],
        });
        self.scim_create_json(&body).await
    }

    /// Creates the SCIM user `body`; returns its id.
    pub async fn scim_create_json(&self, body: &Value) -> String {
        let req = self
            .http
            .post(self.scim.url("/scim/v2/Users"))
            .bearer_auth(&self.scim_token)
            .header("content-type", "application/scim+json")
            .body(body.to_string());
        let r = self.send(req).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Replaces a SCIM user; returns the status.
    pub async fn scim_put(&self, id: &str, body: &Value) -> u16 {
        let req = self
            .http
            .put(self.scim.url(&format!("/scim/v2/Users/{id}")))
            .bearer_auth(&self.scim_token)
            .header("content-type", "application/scim+json")
            .body(body.to_string());
        self.send(req).await.status
    }

    pub async fn scim_get(&self, id: &str) -> u16 {
        self.send(self.http.get(self.scim.url(&format!("/scim/v2/Users/{id}"))).bearer_auth(&self.scim_token))
            .await
            .status
    }

    pub async fn admin_get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.admin.url(path)).bearer_auth(&self.admin_token)).await
    }

    /// Uploads a CSV for `hr` and waits for its job; returns the result file.
    pub async fn import(&self, csv: &str) -> String {
        self.import_for("hr", csv).await
    }

    /// Uploads a CSV for `service` and waits for its job; returns the result file.
    pub async fn import_for(&self, service: &str, csv: &str) -> String {
        let req = self
            .http
            .post(self.import.url(&format!("/imports?service={service}&file_name={service}.csv")))
            .bearer_auth(&self.import_token)
            .header("content-type", "text/csv")
            .body(csv.to_owned());
        let job = self.send(req).await;
        assert_eq!(job.status, 202, "{}", job.body);
        let id = job.body["id"].as_str().unwrap().to_owned();
        for _ in 0..200 {
            let j = self
                .send(self.http.get(self.import.url(&format!("/imports/{id}"))).bearer_auth(&self.import_token))
                .await;
            if j.body["status"] == "done" {
                let url = self.import.url(&format!("/imports/{id}/results"));
                return self.http.get(url).bearer_auth(&self.import_token).send().await.unwrap().text().await.unwrap();
            }
            assert_ne!(j.body["status"], "failed", "{}", j.body);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the import did not finish");
    }

    pub async fn admin_post(&self, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.http.post(self.admin.url(path)).bearer_auth(&self.admin_token);
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        self.send(req).await
    }

    pub async fn api_get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.api.url(path)).bearer_auth(&self.api_key)).await
    }

    /// The change feed from the start, once it holds a change of `kind` for `person`.
    pub async fn feed_with(&self, kind: &str, person: &str) -> Vec<Value> {
        for _ in 0..200 {
            let feed = self.api_get("/api/v1/changes?after=0&limit=1000").await;
            let changes = feed.body["changes"].as_array().unwrap().clone();
            if changes.iter().any(|c| c["kind"] == kind && c["user_id"] == person) {
                return changes;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the feed never showed {kind} for {person}");
    }
}
