//! What the upload routes refuse, each with its status and a JSON `{"error", "message"}`, and
//! the awkward rows a valid file may hold, each with its own result line.

use identity_core::{ServiceName, Source};
use identity_store::testing::TestDatabase;
use identity_store::Store;

use crate::rawhttp;
use crate::support::*;

/// Claims every claimable job the way a worker would; returns their ids. Used with the worker
/// off, to show which uploads left a job for the workers and which did not.
async fn claimable_jobs(db: &TestDatabase) -> Vec<String> {
    let store: Store = store(db).await;
    let mut ids = Vec::new();
    let lease = chrono::Utc::now() + chrono::Duration::minutes(5);
    while let Some(job) = store.import_job_claim("test-probe", lease).await.unwrap() {
        ids.push(job.id.to_string());
    }
    store.close().await;
    ids
}

/// Every route needs a valid import token; the answer says how to authenticate.
pub async fn routes_need_a_token(db: &TestDatabase) {
    let imp = Importer::start(db, &[("IDENTITY_IMPORT__WORKER", "false")]).await;
    let id = uuid::Uuid::new_v4();
    let http = &imp.svc.http;
    let routes = [
        ("POST", "/imports?service=npq".to_owned()),
        ("GET", "/imports".to_owned()),
        ("GET", "/imports/openapi.json".to_owned()),
        ("GET", format!("/imports/{id}")),
        ("GET", format!("/imports/{id}/results")),
        ("POST", format!("/imports/{id}/resume")),
    ];
    let wrong = format!("{}x", imp.token);
    let credentials: [Option<String>; 5] = [
        None,
        Some(format!("Bearer {wrong}")),
        Some("Bearer ".to_owned()),
        Some("Basic dXNlcjpwYXNz".to_owned()),
        // The right token without its scheme.
        Some(imp.token.clone()),
    ];
    for (method, path) in &routes {
        for authorization in &credentials {
            let mut req = http
                .request(method.parse().unwrap(), imp.svc.url(path))
                .header("content-type", "text/csv")
                .body(format!("{HEADER}\n1,a@example.org,,A,,B,,01011990\n"));
            if let Some(a) = authorization {
                req = req.header("authorization", a);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let challenge = res.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(status, 401, "{method} {path} with {authorization:?}: {body}");
            assert_eq!(body["error"], "unauthorized", "{body}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            assert!(challenge.is_some_and(|c| c.starts_with("Bearer")), "{method} {path}");
        }
    }
    assert!(claimable_jobs(db).await.is_empty(), "no upload without a token made a job");
    // The token works; a revoked one does not.
    assert_eq!(imp.get(&format!("/imports/{id}")).await.status, 404);
    let revoked =
        imp.svc.cli(&["tokens", "create", "--name", "short-lived", "--service", "npq"]).await.trim().to_owned();
    imp.svc.cli(&["tokens", "revoke", "short-lived"]).await;
    let res = imp.svc.http.get(imp.svc.url(&format!("/imports/{id}"))).bearer_auth(&revoked).send().await.unwrap();
    assert_eq!(res.status(), 401);
    imp.assert_no_server_errors().await;
    // The health routes need none.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(imp.svc.http.get(imp.svc.url(path)).send().await.unwrap().status(), 200, "{path}");
    }
}

/// Bad uploads and bad job ids are refused with the right status and a message that says what
/// is wrong; a job that is not done has no results yet and only a failed job resumes.
pub async fn bad_requests_are_refused_precisely(db: &TestDatabase) {
    // No worker: a valid upload stays queued.
    let imp = Importer::start(db, &[("IDENTITY_IMPORT__WORKER", "false")]).await;
    let good = format!("{HEADER}\n1,a@example.org,,A,,B,,01011990\n");

    for content_type in [None, Some("application/json"), Some("text/plain"), Some("multipart/form-data; boundary=x")] {
        let mut req = imp.svc.http.post(imp.svc.url("/imports?service=npq")).bearer_auth(&imp.token).body(good.clone());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let reply = Reply::from_response(req.send().await.unwrap()).await;
        assert!(reply.assert_error(415, "unsupported_media_type").contains("text/csv"), "{}", reply.text);
    }
    // Parameters on the media type are fine.
    let mut accepted = Vec::new();
    let res = imp
        .svc
        .http
        .post(imp.svc.url("/imports?service=npq"))
        .bearer_auth(&imp.token)
        .header("content-type", "Text/CSV; charset=utf-8")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    accepted.push(Reply::from_response(res).await.job_id());

    // Every bad query is refused in the project's words, naming the parameter first.
    let long_name = "x".repeat(100);
    let long_name_shown = format!("\"{}\"…: unknown parameter", &long_name[..60]);
    let query_cases = [
        ("".to_owned(), "invalid_query", "service: required: the source service the file comes from, as service=NAME"),
        ("?dry_run=true".to_owned(), "invalid_query", "service: required: "),
        ("?service=".to_owned(), "invalid_service", "service: "),
        ("?service".to_owned(), "invalid_service", "service: "),
        ("?service=NPQ".to_owned(), "invalid_service", "service: "),
        ("?service=npq%20x".to_owned(), "invalid_service", "service: "),
        ("?service=npq&service=npq".to_owned(), "invalid_query", "service: given more than once"),
        ("?service=npq&dry_run=maybe".to_owned(), "invalid_query", "dry_run: true or false, not maybe"),
        ("?service=npq&dry_run=TRUE".to_owned(), "invalid_query", "dry_run: true or false, not TRUE"),
        ("?service=npq&dry_run=1".to_owned(), "invalid_query", "dry_run: true or false, not 1"),
        ("?service=npq&dry_run=".to_owned(), "invalid_query", "dry_run: true or false, not \"\""),
        ("?service=npq&dry_run=true&dry_run=false".to_owned(), "invalid_query", "dry_run: given more than once"),
        (
            "?service=npq&color=blue".to_owned(),
            "invalid_query",
            "color: unknown parameter; this route takes service, dry_run, file_name",
        ),
        ("?color=blue".to_owned(), "invalid_query", "color: unknown parameter"),
        ("?service=npq&Service=npq".to_owned(), "invalid_query", "Service: unknown parameter"),
        ("?service=npq&%0A=x".to_owned(), "invalid_query", "\"\\n\": unknown parameter"),
        (format!("?service=npq&{long_name}=1"), "invalid_query", long_name_shown.as_str()),
        ("?service=npq&file_name=a%0Ab.csv".to_owned(), "invalid_file_name", "file_name: "),
    ];
    for (query, code, starts) in &query_cases {
        let reply = imp.upload(query, good.clone()).await;
        let message = reply.assert_error(400, code);
        assert!(message.starts_with(starts), "{query}: {message}");
        assert!(!message.contains("deserialize") && !message.contains('`'), "{query}: serde's words: {message}");
    }
    // The other routes take no parameters but `GET /imports`'s limit.
    let unknown = uuid::Uuid::new_v4();
    let get_cases = [
        ("/imports?limit=abc".to_owned(), "limit: a whole number from 1 to 200 (default 50), not abc"),
        ("/imports?limit=-1".to_owned(), "limit: a whole number from 1 to 200 (default 50), not -1"),
        ("/imports?limit=1&limit=2".to_owned(), "limit: given more than once"),
        ("/imports?service=npq".to_owned(), "service: unknown parameter; this route takes limit"),
        (format!("/imports/{unknown}?verbose=1"), "verbose: unknown parameter; this route takes no parameters"),
        (format!("/imports/{unknown}/results?x"), "x: unknown parameter; this route takes no parameters"),
        ("/imports/openapi.json?format=yaml".to_owned(), "format: unknown parameter; this route takes no parameters"),
    ];
    for (path, starts) in &get_cases {
        let reply = imp.get(path).await;
        assert!(reply.assert_error(400, "invalid_query").starts_with(starts), "{path}: {}", reply.text);
    }
    let reply = imp.post(&format!("/imports/{unknown}/resume?now=1")).await;
    assert!(reply.assert_error(400, "invalid_query").starts_with("now: unknown parameter"), "{}", reply.text);
    assert_eq!(imp.get("/imports?limit=200").await.status, 200);

    let file_cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "header"),
        (b"\n\n".to_vec(), "header"),
        (format!("{HEADER}\n").into_bytes(), "no data rows"),
        (HEADER.as_bytes().to_vec(), "no data rows"),
        (format!("\u{feff}{HEADER}\r\n\r\n\r\n").into_bytes(), "no data rows"),
        (b"ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME\n1,a@b.co,,A,,B,\n".to_vec(), "DATE_OF_BIRTH"),
        (format!("{HEADER},SCHOOL\n1,a@b.co,,A,,B,,01011990,x\n").into_bytes(), "SCHOOL"),
        (b"ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,BIRTHDAY\n1,a@b.co,,A,,B,,01011990\n".to_vec(), "BIRTHDAY"),
        (format!("{},EMAIL_ADDRESS\n1,a@b.co,,A,,B,,01011990,x\n", HEADER).into_bytes(), "EMAIL_ADDRESS"),
        (format!("{}\n1,a@b.co,,A,,B,,01011990\n", HEADER.to_lowercase()).into_bytes(), "id"),
        (b"ID;EMAIL_ADDRESS;TRN;FIRST_NAME;MIDDLE_NAME;LAST_NAME;PREFERRED_NAME;DATE_OF_BIRTH\n1;a@b.co;;A;;B;;01011990\n".to_vec(), "ID;EMAIL_ADDRESS"),
    ];
    for (body, named) in file_cases {
        let shown = String::from_utf8_lossy(&body).chars().take(80).collect::<String>();
        let reply = imp.upload("?service=npq", body).await;
        let message = reply.assert_error(400, "invalid_file");
        assert!(message.contains(named), "{shown:?}: {message}");
    }
    // 10,000 columns in the header: the message names a column that should not be there.
    let wide: String = (0..10_000).map(|i| format!(",EXTRA_{i}")).collect();
    let reply = imp.upload("?service=npq", format!("{HEADER}{wide}\n1,a@b.co,,A,,B,,01011990\n")).await;
    let message = reply.assert_error(400, "invalid_file");
    assert!(message.contains("EXTRA_0"), "{}", message.chars().take(300).collect::<String>());
    assert!(message.len() < 1000, "the message stays short: {} bytes", message.len());

    // Job ids.
    imp.get("/imports/not-a-uuid").await.assert_error(400, "invalid_id");
    imp.get("/imports/not-a-uuid/results").await.assert_error(400, "invalid_id");
    imp.post("/imports/not-a-uuid/resume").await.assert_error(400, "invalid_id");
    let unknown = uuid::Uuid::new_v4();
    imp.get(&format!("/imports/{unknown}")).await.assert_error(404, "not_found");
    imp.get(&format!("/imports/{unknown}/results")).await.assert_error(404, "not_found");
    imp.post(&format!("/imports/{unknown}/resume")).await.assert_error(404, "not_found");
    imp.get("/nothing-here").await.assert_error(404, "not_found");

    // A queued job: no results yet, nothing to resume.
    let id = imp.upload("?service=npq&file_name=users.csv", good.clone()).await.job_id();
    accepted.push(id.clone());
    let job = imp.job(&id).await;
    assert_eq!(job["status"], "queued", "{job}");
    assert_eq!(job["file_name"], "users.csv");
    assert_eq!((job["rows_total"].as_i64(), job["rows_done"].as_i64()), (Some(1), Some(0)));
    assert!(imp.get(&format!("/imports/{id}/results")).await.assert_error(409, "not_done").contains("queued"));
    assert!(imp.post(&format!("/imports/{id}/resume")).await.assert_error(409, "not_failed").contains("queued"));

    // Only the two good uploads left jobs for the workers.
    let mut claimable = claimable_jobs(db).await;
    claimable.sort();
    accepted.sort();
    assert_eq!(claimable, accepted);
    // Claimed by the probe: running now, and still no results.
    imp.get(&format!("/imports/{id}/results")).await.assert_error(409, "not_done");
    assert_eq!(people_count(db).await, 0);
    imp.assert_no_server_errors().await;
}

fn rows(n: usize) -> Vec<u8> {
    let mut body = format!("{HEADER}\n").into_bytes();
    for i in 0..n {
        body.extend_from_slice(format!("big-{i:05},person{i:05}@example.org,,Anne,,Person,,01011990\n").as_bytes());
    }
    body
}

/// A body over `import.max_upload_bytes` is refused with 413, whether it declares its length or
/// streams without one, and leaves no job behind; a body within the limit is accepted.
pub async fn oversized_uploads_are_refused(db: &TestDatabase) {
    let max = 100_000;
    let imp = Importer::start(
        db,
        &[("IDENTITY_IMPORT__WORKER", "false"), ("IDENTITY_IMPORT__MAX_UPLOAD_BYTES", &max.to_string())],
    )
    .await;
    // 4,000 rows, ~230 kB: the first 1,000 are stored before the limit is reached.
    let big = rows(4_000);
    assert!(big.len() > 2 * max && big[..max].iter().filter(|b| **b == b'\n').count() > 1_001);
    for chunked in [false, true] {
        let raw = rawhttp::upload(&imp.svc.base, "/imports?service=npq", &imp.token, big.clone(), chunked).await;
        let reply = raw.reply();
        let message = reply.assert_error(413, "too_large");
        assert!(message.contains(&max.to_string()), "chunked {chunked}: {message}");
    }
    // Just over the limit, declared and streamed.
    let mut over = rows(2_000);
    over.truncate(max + 1);
    assert_eq!(over.len(), max + 1);
    for chunked in [false, true] {
        let raw = rawhttp::upload(&imp.svc.base, "/imports?service=npq", &imp.token, over.clone(), chunked).await;
        raw.reply().assert_error(413, "too_large");
    }
    // At the limit exactly: accepted, streamed or not.
    let mut fits = rows(2_000);
    fits.truncate(max);
    let cut = fits.iter().rposition(|b| *b == b'\n').unwrap() + 1;
    fits.truncate(cut);
    fits.extend(std::iter::repeat_n(b'\n', max - cut));
    assert_eq!(fits.len(), max);
    let mut accepted = Vec::new();
    for chunked in [false, true] {
        let raw = rawhttp::upload(&imp.svc.base, "/imports?service=npq", &imp.token, fits.clone(), chunked).await;
        let reply = raw.reply();
        let id = reply.job_id();
        assert!(reply.body["rows_total"].as_i64().unwrap() > 1_000, "{}", reply.text);
        accepted.push(id);
    }
    let mut claimable = claimable_jobs(db).await;
    claimable.sort();
    accepted.sort();
    assert_eq!(claimable, accepted, "the refused uploads left no job for the workers");
    imp.assert_no_server_errors().await;
}

async fn listed(imp: &Importer) -> Vec<serde_json::Value> {
    let r = imp.get("/imports?limit=5").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["jobs"].as_array().unwrap().clone()
}

/// A client that goes away mid-upload leaves a failed job (listed by `GET /imports`), never one
/// stuck receiving or one the workers would run on half a file.
pub async fn an_upload_cut_off_fails_its_job(db: &TestDatabase) {
    let imp = Importer::start(db, &[("IDENTITY_IMPORT__WORKER", "false")]).await;
    assert!(listed(&imp).await.is_empty());
    // 3,000 rows: the job is created once the first 1,000 are stored.
    let connection = rawhttp::upload_cut_short(&imp.svc.base, "/imports?service=npq", &imp.token, &rows(3_000)).await;
    let started = std::time::Instant::now();
    while listed(&imp).await.is_empty() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the upload never started a job");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(listed(&imp).await[0]["status"], "receiving");
    drop(connection);
    let job = loop {
        let jobs = listed(&imp).await;
        if jobs[0]["status"] != "receiving" {
            break jobs[0].clone();
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the job stayed receiving: {jobs:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("broke off"), "{job}");
    assert_eq!(job["rows_total"], 0, "{job}");
    // Failed, but not resumable: the answer says why, and what to do instead.
    let id = job["id"].as_str().unwrap();
    let reply = imp.post(&format!("/imports/{id}/resume")).await;
    assert_eq!(
        reply.assert_error(409, "upload_broke_off"),
        format!(
            "the upload of this job did not complete ({}), so the job has no rows to run and cannot be resumed: \
             upload the file again",
            job["error"].as_str().unwrap()
        )
    );
    assert_eq!(imp.job(id).await["status"], "failed");
    assert!(claimable_jobs(db).await.is_empty(), "nothing for the workers");
    imp.get("/imports?limit=0").await.assert_error(400, "invalid_query");
    imp.get("/imports?limit=201").await.assert_error(400, "invalid_query");
    imp.get("/imports?service=npq").await.assert_error(400, "invalid_query");
    imp.assert_no_server_errors().await;
}

/// A valid file with every kind of awkward row: each row gets its own result, nothing breaks.
pub async fn awkward_rows_get_their_own_results(db: &TestDatabase) {
    let imp = Importer::start(db, &[]).await;
    let mut file = b"\xef\xbb\xbf".to_vec();
    file.extend_from_slice(format!("{HEADER}\r\n").as_bytes());
    file.extend_from_slice(b"a-1,ann@example.org,,Ann,,Lee,,01021990\r\n");
    file.extend_from_slice(b"\"a-2\",\"bo@example.org\",,\"Bo\",\"\",\"Smith, Jr\",,\"02031991\"\r\n");
    file.extend_from_slice(b"a-3,cy@example.org,,Cy,,Quote,\"Cy \"\"the\"\" Guy\r\nsecond line\",03041992\r\n");
    file.extend_from_slice(b"a-4,d\xe9@example.org,,D,,E,,01011990\r\n");
    file.extend_from_slice(b"a-5,too,few\n");
    file.extend_from_slice(b"a-6,e@example.org,,E,,F,,01011990,x\r\n");
    let wide: String = std::iter::repeat_n(",x", 9_999).collect();
    file.extend_from_slice(format!("a-7{wide}\r\n").as_bytes());
    file.extend_from_slice(b"\r\n\n  a-8  ,  ANN@example.org ,,Ann,,Lee,,01021990\r\n\r\n\r\n\n\n");
    // PostgreSQL's text cannot hold NUL: the row is refused on both backends, kept with U+FFFD.
    file.extend_from_slice(b"a-9\0,nul@example.org,,N,,U\0L,,01011990\r\n");

    let expected = [
        RESULT_HEADER.to_owned(),
        "1,a-1,<id 0>,UserAdded,,\"a-1,ann@example.org,,Ann,,Lee,,01021990\"".to_owned(),
        "2,a-2,<id 1>,UserAdded,,\"\"\"a-2\"\",\"\"bo@example.org\"\",,\"\"Bo\"\",\"\"\"\",\"\"Smith, Jr\"\",,\"\"02031991\"\"\"".to_owned(),
        "3,a-3,<id 2>,UserAdded,,\"a-3,cy@example.org,,Cy,,Quote,\"\"Cy \"\"\"\"the\"\"\"\" Guy\r\nsecond line\"\",03041992\"".to_owned(),
        "4,,,Invalid,Row contains bytes that are not valid UTF-8,\"a-4,d\u{fffd}@example.org,,D,,E,,01011990\"".to_owned(),
        "5,,,Invalid,Exactly 8 fields expected (this row has less),\"a-5,too,few\"".to_owned(),
        "6,,,Invalid,Exactly 8 fields expected (this row has more),\"a-6,e@example.org,,E,,F,,01011990,x\"".to_owned(),
        format!("7,,,Invalid,Exactly 8 fields expected (this row has more),\"a-7{wide}\""),
        "8,a-8,<id 0>,None,A user already exists with the specified email address,\"  a-8  ,  ANN@example.org ,,Ann,,Lee,,01021990\"".to_owned(),
        "9,,,Invalid,ID field must not contain NUL characters,\"a-9\u{fffd},nul@example.org,,N,,U\u{fffd}L,,01011990\"".to_owned(),
    ]
    .map(|l| format!("{l}\r\n"))
    .concat();
    let (job, results) = imp.import("?service=npq", file).await;
    assert_same_results(&results, &expected, "awkward rows");
    assert_eq!(job_counts(&job), [1, 3, 0, 5], "{job}");
    assert_eq!(job["rows_total"], 9);

    // The quoted fields were read as their values, and nobody was half written.
    assert_eq!(people_count(db).await, 3);
    let store = store(db).await;
    let source = Source::Import(ServiceName::new("npq").unwrap());
    let bo = store.person_by_link(&source, "a-2").await.unwrap().expect("a-2 was added");
    assert_eq!(bo.combined.last_name.map(|n| n.value).as_deref(), Some("Smith, Jr"));
    let cy = store.person_by_link(&source, "a-3").await.unwrap().expect("a-3 was added");
    assert_eq!(cy.combined.preferred_name.map(|n| n.value).as_deref(), Some("Cy \"the\" Guy\r\nsecond line"));
    let ann = store.person_by_link(&source, "a-8").await.unwrap().expect("a-8 was linked");
    assert_eq!(ann.combined.email.map(|e| e.value.to_string()).as_deref(), Some("ann@example.org"));
    store.close().await;
    imp.assert_no_server_errors().await;
}

/// A 10 MB field makes its row too long, one Invalid result with the row's start as RAW_DATA;
/// the rows around it are imported.
pub async fn a_ten_megabyte_field_is_one_invalid_row(db: &TestDatabase) {
    let imp = Importer::start(db, &[("IDENTITY_IMPORT__MAX_UPLOAD_BYTES", "33554432")]).await;
    let huge = "x".repeat(10 * 1024 * 1024);
    let long_row = format!("b-2,big@example.org,,Big,,{huge},,01011990");
    let file = format!(
        "{HEADER}\nb-1,one@example.org,,One,,Person,,01011990\n{long_row}\nb-3,three@example.org,,Three,,Person,,03011990\n"
    );
    let (job, results) = imp.import("?service=npq", file).await;
    let kept = &long_row[..65_536];
    let expected = format!(
        "{RESULT_HEADER}\r\n1,b-1,<id 0>,UserAdded,,\"b-1,one@example.org,,One,,Person,,01011990\"\r\n\
         2,,,Invalid,Row is longer than the maximum of 65536 bytes,\"{kept}\"\r\n\
         3,b-3,<id 1>,UserAdded,,\"b-3,three@example.org,,Three,,Person,,03011990\"\r\n"
    );
    assert_same_results(&results, &expected, "a 10 MB field");
    assert_eq!(job_counts(&job), [0, 2, 0, 1]);
    assert_eq!(people_count(db).await, 2);
    imp.assert_no_server_errors().await;
}

/// A token made for some services imports for those only and reaches only their jobs; a token
/// must name its services (or `--all-services`) when it is made.
pub async fn a_token_reaches_its_own_services_only(db: &TestDatabase) {
    let mut imp = Importer::start(db, &[("IDENTITY_IMPORT__WORKER", "false")]).await;
    let good = format!("{HEADER}\n1,a@example.org,,A,,B,,01011990\n");
    let other = imp.upload("?service=register", good.clone()).await.job_id();
    let npq_token = imp.svc.cli(&["tokens", "create", "--name", "npq-admin", "--service", "npq,npq-pilot"]).await;
    let every_service = std::mem::replace(&mut imp.token, npq_token.trim().to_owned());
    let npq = &imp;

    let own = npq.upload("?service=npq-pilot", good.clone()).await.job_id();
    assert_eq!(npq.job(&own).await["service"], "npq-pilot");
    let refused = npq.upload("?service=register", good.clone()).await;
    let message = refused.assert_error(403, "forbidden");
    assert!(message.contains("npq, npq-pilot") && message.contains("register"), "{message}");
    // Another service's job is as unknown to it as a job that does not exist.
    for path in [format!("/imports/{other}"), format!("/imports/{other}/results")] {
        npq.get(&path).await.assert_error(404, "not_found");
    }
    npq.post(&format!("/imports/{other}/resume")).await.assert_error(404, "not_found");
    let listed = |reply: Reply| -> Vec<String> {
        reply.body["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(listed(npq.get("/imports").await), vec![own.clone()], "only its services' jobs are listed");
    imp.token = every_service;
    assert_eq!(listed(imp.get("/imports").await).len(), 2, "an all-services token sees every job");
    // The refused upload made no job.
    let mut claimable = claimable_jobs(db).await;
    claimable.sort();
    let mut expected = vec![own, other];
    expected.sort();
    assert_eq!(claimable, expected);

    let bare = imp.svc.cli_output(&["tokens", "create", "--name", "no-services"], &[]).await;
    assert!(!bare.status.success());
    assert!(String::from_utf8_lossy(&bare.stderr).contains("--service"), "{bare:?}");
    let listing = imp.svc.cli(&["tokens", "list"]).await;
    assert!(
        listing.lines().any(|l| l.starts_with("npq-admin") && l.ends_with("import:npq,import:npq-pilot")),
        "{listing}"
    );
    assert!(!listing.contains("no-services"), "{listing}");
    imp.assert_no_server_errors().await;
}

/// A client that asks `Expect: 100-continue` (curl does for bodies over 1 MB) and then takes its
/// time over the body is not cut off by the header timeout: the head was complete, and the
/// interim 100 is not the answer.
pub async fn an_upload_after_100_continue_outlasts_the_header_timeout(db: &TestDatabase) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let imp = Importer::start(db, &[("IDENTITY_HTTP__HEADER_TIMEOUT_MS", "300")]).await;
    let addr = imp.svc.base.trim_start_matches("http://").to_owned();
    let body = format!("{HEADER}\n1,slow@example.org,,Slow,,Sender,,01011990\n");
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /imports?service=npq HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: text/csv\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        imp.token,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 100 Continue"), "{}", String::from_utf8_lossy(&buf[..n]));
    // Three header timeouts, sent in two pieces.
    let (first, rest) = body.split_at(body.len() / 2);
    for piece in [first, rest] {
        tokio::time::sleep(std::time::Duration::from_millis(450)).await;
        stream.write_all(piece.as_bytes()).await.unwrap();
    }
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
}
