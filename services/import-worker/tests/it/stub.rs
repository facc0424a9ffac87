//! A stand-in for the remote teacher registry, served inside the test on 127.0.0.1:0:
//! `GET /teachers/{trn}` with `Authorization: Bearer <key>` answers the record from
//! `examples/registry.csv` or 404. It can answer 503 to the next few requests, or go down
//! after serving a number of them, and come back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::support::example_text;

struct StubState {
    key: String,
    teachers: HashMap<String, Value>,
    /// Requests still to answer 503 before answering normally.
    fail_next: AtomicU32,
    /// Requests still to answer before going down (answering 503 to everything).
    budget: AtomicI64,
    requests: AtomicU32,
    unauthorised: AtomicU32,
}

pub struct StubRegistry {
    pub url: String,
    state: Arc<StubState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StubRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `ddMMyyyy` as `yyyy-MM-dd`.
fn iso_date(ddmmyyyy: &str) -> String {
    format!("{}-{}-{}", &ddmmyyyy[4..8], &ddmmyyyy[2..4], &ddmmyyyy[0..2])
}

fn teachers() -> HashMap<String, Value> {
    let text = example_text("registry.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DATE_OF_BIRTH"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let middle = if f[2].is_empty() { Value::Null } else { json!(f[2]) };
            let record = json!({
                "trn": f[0], "firstName": f[1], "middleName": middle, "lastName": f[3], "dateOfBirth": iso_date(f[4]),
            });
            (f[0].to_owned(), record)
        })
        .collect()
}

async fn teacher(State(s): State<Arc<StubState>>, Path(trn): Path<String>, headers: HeaderMap) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    let expected = format!("Bearer {}", s.key);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        s.unauthorised.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::UNAUTHORIZED, "missing or wrong API key").into_response();
    }
    let failing = s.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if failing || s.budget.fetch_sub(1, Ordering::SeqCst) <= 0 {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
    }
    match s.teachers.get(&trn) {
        Some(record) => Json(record.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"title": "no such teacher"}))).into_response(),
    }
}

impl StubRegistry {
    pub async fn start(key: &str) -> Self {
        let state = Arc::new(StubState {
            key: key.to_owned(),
            teachers: teachers(),
            fail_next: AtomicU32::new(0),
            budget: AtomicI64::new(i64::MAX),
            requests: AtomicU32::new(0),
            unauthorised: AtomicU32::new(0),
        });
        let app = Router::new().route("/teachers/{trn}", get(teacher)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, state, task }
    }

    /// The next `n` requests are answered 503.
    pub fn fail_next(&self, n: u32) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// After `n` more requests, every request is answered 503.
    pub fn go_down_after(&self, n: i64) {
        self.state.budget.store(n, Ordering::SeqCst);
    }

    pub fn come_back(&self) {
        self.state.budget.store(i64::MAX, Ordering::SeqCst);
    }

    pub fn requests(&self) -> u32 {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn unauthorised(&self) -> u32 {
        self.state.unauthorised.load(Ordering::SeqCst)
    }
}
