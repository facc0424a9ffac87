//! The api binary with data written through the store the way SCIM and imports write it.

use identity_core::{DateOfBirth, Email, ProfileFields, RegistryRecord, ServiceName, Trn, UserId};
use identity_store::testing::TestDatabase;
use identity_store::{Actor, ImportWrites, ImportedUser, PoolConfig, SsoUserWrite, Store};
use identity_testkit::Service;
use serde_json::{json, Value};

pub struct Api {
    pub svc: Service,
    /// Follows no redirects, so a merged person's 308 is seen as such.
    http: reqwest::Client,
    pub store: Store,
    /// A key with every scope.
    pub key: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn assert_error(&self, status: u16, error: &str, parameter: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], error, "{}", self.body);
        assert_eq!(self.body["parameter"].as_str(), parameter, "{}", self.body);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

impl Api {
    pub async fn start(db: &TestDatabase, env: &[(&str, &str)]) -> Self {
        let svc = Service::start(env!("CARGO_BIN_EXE_api"), &db.url, env).await;
        let key = svc
            .cli(&["keys", "create", "--name", "all", "--scope", "people:read,profiles:read,changes:read"])
            .await
            .trim()
            .to_owned();
        let store = Store::connect(&db.url, &PoolConfig::default()).unwrap();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { svc, http, store, key }
    }

    pub async fn key(&self, name: &str, scopes: &str) -> String {
        self.svc.cli(&["keys", "create", "--name", name, "--scope", scopes]).await.trim().to_owned()
    }

    pub async fn get_with(&self, path: &str, key: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.http.get(self.svc.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_with(path, Some(&self.key), &[]).await
    }

    /// A user as SCIM creates one.
    pub async fn sso_user(&self, user_name: &str, given: &str, family: &str, email: &str) -> UserId {
        let w = SsoUserWrite {
            user_name: user_name.to_owned(),
            fields: ProfileFields {
                first_name: Some(given.to_owned()),
                last_name: Some(family.to_owned()),
                email: Some(Email::parse(email).unwrap()),
                ..ProfileFields::default()
            },
            attributes: json!({"userName": user_name, "name": {"givenName": given, "familyName": family}, "emails": [{"value": email}]}),
            active: true,
        };
        let id = self.store.sso_create(&w, &Actor::new("scim:test")).await.unwrap().id;
        // The writing services number their changes in the background; the test is the writer.
        self.store.sequence_changes().await.unwrap();
        id
    }

    /// A user as an import row with a TRN creates one: an import profile and the registry's.
    pub async fn imported_user(
        &self,
        service: &str,
        id: &str,
        email: &str,
        trn: &str,
        registry: (&str, &str),
    ) -> UserId {
        let user = UserId::random();
        let dob = DateOfBirth::parse_ddmmyyyy("01021980").unwrap();
        let trn = Trn::parse(trn).unwrap();
        let writes = ImportWrites {
            service: ServiceName::new(service).unwrap(),
            actor: "import:test".into(),
            new_users: vec![ImportedUser {
                id: user,
                external_id: id.to_owned(),
                import: ProfileFields {
                    email: Some(Email::parse(email).unwrap()),
                    date_of_birth: Some(dob),
                    trn: Some(trn.clone()),
                    preferred_name: Some("Bobby".into()),
                    ..ProfileFields::default()
                },
                registry: Some(RegistryRecord {
                    trn,
                    first_name: registry.0.to_owned(),
                    middle_name: None,
                    last_name: registry.1.to_owned(),
                    date_of_birth: dob,
                }),
            }],
            trn_updates: vec![],
            links: vec![],
            reviews: Vec::new(),
        };
        let mut session = self.store.import_session().await.unwrap();
        session.apply(&writes).await.unwrap();
        session.commit().await.unwrap();
        self.store.sequence_changes().await.unwrap();
        user
    }
}
