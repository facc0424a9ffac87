//! The upload routes on the example file: a dry run and a real import, polled until done.

use identity_store::testing::TestDatabase;
use serde_json::Value;

use crate::support::*;

fn assert_accepted(reply: &Reply, dry_run: bool) -> String {
    let id = reply.job_id();
    assert_eq!(reply.headers["location"], format!("/imports/{id}").as_str());
    let job = &reply.body;
    assert_eq!(job["service"], "npq");
    assert_eq!(job["dry_run"], dry_run);
    assert_eq!(job["rows_total"], 35, "{job}");
    assert!(["queued", "running", "done"].contains(&job["status"].as_str().unwrap()), "{job}");
    id
}

/// `POST /imports` with the example file gives the example results, over a dry run that writes
/// nothing and a real run; a finished job cannot be resumed.
pub async fn http_import_gives_the_example_results(db: &TestDatabase) {
    let imp = Importer::start(db, &[]).await;
    load_example_registry(db).await;
    let body = std::fs::read(example("users.csv")).unwrap();
    let expected = example_text("users.results.csv");
    let expected_counts = outcome_counts(&parse_results(&expected));

    let dry = imp.upload("?service=npq&dry_run=true", body.clone()).await;
    let dry_id = assert_accepted(&dry, true);
    let job = imp.wait_done(&dry_id).await;
    assert_eq!(job_counts(&job), expected_counts, "{job}");
    assert_eq!(job["dry_run"], true);
    let dry_results = imp.results(&dry_id).await;
    assert_same_results(&dry_results, &as_a_dry_run(&expected), "dry run over HTTP");
    assert!(parse_results(&dry_results).iter().all(|l| l.user_id.is_empty()), "nobody exists yet:\n{dry_results}");
    assert_eq!(people_count(db).await, 0, "a dry run adds nobody");
    assert!(queued_rows(db).await.is_empty(), "a dry run queues nothing for review");

    let real = imp.upload("?service=npq&dry_run=false", body).await;
    let id = assert_accepted(&real, false);
    let job: Value = imp.wait_done(&id).await;
    assert_eq!(job["id"], id.as_str());
    assert_eq!(job_counts(&job), expected_counts, "{job}");
    assert_eq!(job["rows_done"], 35);
    let results = imp.results(&id).await;
    assert_same_results(&results, &expected, "import over HTTP");
    assert_eq!(people_count(db).await, added_ids(&parse_results(&results)).len());
    // Each row the seed sends to manual review is queued, naming the people its notes name and
    // the job.
    let queued = queued_rows(db).await;
    let wanted = rows_for_review(&parse_results(&results));
    assert!(!wanted.is_empty());
    assert_eq!(queued.iter().map(|(i, c, _)| (i.clone(), c.clone())).collect::<Vec<_>>(), wanted);
    assert!(queued.iter().all(|(.., job)| job.map(|j| j.to_string()) == Some(id.clone())));

    let again = imp.post(&format!("/imports/{id}/resume")).await;
    assert!(again.assert_error(409, "not_failed").contains("done"), "{}", again.text);
    assert_eq!(imp.job(&id).await["status"], "done");

    // A dry run among people who exist: a row linked to one of them shows their id; a row that
    // would add a person, and a later row linked to that person, show none.
    let alice = parse_results(&results).into_iter().find(|l| l.id == "npq-001").unwrap().user_id;
    let before = people(db).await;
    let mixed = format!(
        "{HEADER}\nmix-1,alice.walker@example.org,,Alice,,Walker,,03051971\n\
         mix-2,quentin.zebedee@example.org,,Quentin,,Zebedee,,07081966\n\
         mix-3,Quentin.Zebedee@example.org,,Quentin,,Zebedee,,07081966\n"
    );
    let (job, mixed) = imp.import("?service=npq&dry_run=true", mixed).await;
    assert_eq!(job_counts(&job), [2, 1, 0, 0], "{job}");
    let lines = parse_results(&mixed);
    let shown: Vec<(&str, &str, &str)> =
        lines.iter().map(|l| (l.id.as_str(), l.outcome.as_str(), l.user_id.as_str())).collect();
    assert_eq!(
        shown,
        [("mix-1", "None", alice.as_str()), ("mix-2", "UserAdded", ""), ("mix-3", "None", "")],
        "{mixed}"
    );
    assert_eq!(assert_dry_run_ids_are_held(db, &mixed, "a dry run among people who exist").await, 1);
    assert_eq!(people(db).await, before, "a dry run changes nobody");
    imp.assert_no_server_errors().await;
}

/// `GET /imports/openapi.json` (with a token, like api's document) is an OpenAPI 3 document
/// describing every route, with its parameters, bodies and answers, and the job it describes has
/// the fields a job answer has.
pub async fn the_openapi_document_describes_the_routes(db: &TestDatabase) {
    let imp = Importer::start(db, &[("IDENTITY_IMPORT__WORKER", "false")]).await;
    let r = imp.get("/imports/openapi.json").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("application/json"));
    let doc: Value = serde_json::from_str(&r.text).expect("the document is JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let parsed: utoipa::openapi::OpenApi = serde_json::from_value(doc.clone()).expect("an OpenAPI document");
    assert_eq!(parsed.info.title, "identity import-worker");

    // Every route the binary serves, and nothing else.
    let mut operations: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (path.clone(), m.clone())))
        .filter(|(_, method)| method != "parameters")
        .collect();
    operations.sort();
    let expected = [
        ("/imports", "get"),
        ("/imports", "post"),
        ("/imports/openapi.json", "get"),
        ("/imports/{id}", "get"),
        ("/imports/{id}/results", "get"),
        ("/imports/{id}/resume", "post"),
    ]
    .map(|(p, m)| (p.to_owned(), m.to_owned()));
    assert_eq!(operations, expected);
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    for (path, method) in &operations {
        let o = op(path, method);
        assert_eq!(o["security"], serde_json::json!([{"import_token": []}]), "{method} {path} needs a token");
        for status in ["400", "401"] {
            assert_eq!(
                o["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path} answers {status} with the error body"
            );
        }
        for name in path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            let params = o["parameters"].as_array().unwrap();
            assert!(params.iter().any(|p| p["name"] == name && p["in"] == "path"), "{method} {path} declares {name}");
        }
    }
    assert_eq!(doc["components"]["securitySchemes"]["import_token"]["scheme"], "bearer");

    // POST /imports: its query parameters, the CSV body, 202 with the job and Location.
    let upload = op("/imports", "post");
    let params: Vec<(&str, &str, bool)> = upload["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap(), p["required"] == true))
        .collect();
    assert_eq!(params, [("service", "query", true), ("dry_run", "query", false), ("file_name", "query", false)]);
    assert!(upload["requestBody"]["content"].get("text/csv").is_some(), "{}", upload["requestBody"]);
    let accepted = &upload["responses"]["202"];
    assert_eq!(accepted["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/JobView");
    assert!(accepted["headers"].get("Location").is_some(), "{accepted}");
    for status in ["400", "403", "413", "415"] {
        assert!(upload["responses"].get(status).is_some(), "POST /imports documents {status}");
    }
    let limit = &op("/imports", "get")["parameters"][0];
    assert_eq!((&limit["name"], &limit["in"]), (&Value::from("limit"), &Value::from("query")));
    // The result file is CSV, and 409 before the job is done; resuming may answer 409.
    let results = op("/imports/{id}/results", "get");
    assert!(results["responses"]["200"]["content"].get("text/csv").is_some(), "{}", results["responses"]["200"]);
    assert!(results["responses"].get("409").is_some());
    assert!(op("/imports/{id}/resume", "post")["responses"].get("409").is_some());

    // The schemas are the answers' shapes: a job's fields, an error's fields.
    let schemas = &doc["components"]["schemas"];
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let job = imp.upload("?service=npq", format!("{HEADER}\n1,a@example.org,,A,,B,,01011990\n")).await;
    assert_eq!(keys(&schemas["JobView"]["properties"]), keys(&job.body), "{}", job.text);
    assert_eq!(keys(&schemas["CountsView"]["properties"]), keys(&job.body["counts"]));
    assert_eq!(keys(&schemas["JobLinks"]["properties"]), keys(&job.body["links"]));
    let error = imp.get("/imports/not-a-uuid").await;
    assert_eq!(keys(&schemas["ErrorBody"]["properties"]), keys(&error.body), "{}", error.text);
    let statuses: Vec<&str> =
        schemas["JobStatus"]["enum"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(statuses, ["receiving", "queued", "running", "done", "failed"]);

    identity_testkit::assert_openapi_refs_resolve(&doc);
    imp.assert_no_server_errors().await;
}
