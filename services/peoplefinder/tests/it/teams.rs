use identity_store::testing::TestDatabase;
use serde_json::{json, Value};

use crate::people::PeopleFinder;

fn msg(text: &str) -> Value {
    json!({ "message": text })
}

/// Teams: the tree from its root, a team with its parents nearest first, a new team under a
/// parent, a team renamed (its slug made again from the name) and moved, and every refusal with
/// the seed system's message (409 where it answered 404 for a conflict).
pub async fn teams_form_a_tree_under_the_root(db: &TestDatabase) {
    let pf = PeopleFinder::start(db).await;
    let tree = pf.send("GET", "/api/peoplefinder/teams", None).await;
    assert_eq!(tree, (200, json!({"slug": "root-team", "name": "Root team", "abbreviation": "RT", "children": []})));
    assert_eq!(pf.send("GET", "/api/peoplefinder/teams/root-team", None).await.1["parents"], json!([]));

    let owned = pf;
    let pf = &owned;
    let post = |body: Value| async move { pf.send("POST", "/api/peoplefinder/teams", Some(&body.to_string())).await };
    let (status, body) = post(json!({})).await;
    assert_eq!(status, 422);
    let missing: Vec<&Value> = body["detail"].as_array().unwrap().iter().map(|d| &d["loc"][2]).collect();
    assert_eq!(missing, [&json!("slug"), &json!("name"), &json!("parent_slug")], "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "team_request", "slug"]));

    let dbt =
        json!({"slug": "dbt", "name": "Department for Business", "parent_slug": "root-team", "abbreviation": "DBT"});
    assert_eq!(
        post(dbt.clone()).await,
        (201, json!({"slug": "dbt", "name": "Department for Business", "abbreviation": "DBT"}))
    );
    assert_eq!(post(dbt).await, (409, msg("Team has been previously created")), "the seed system answered 404");
    assert_eq!(
        post(json!({"slug": "x", "name": "X", "parent_slug": "nowhere"})).await,
        (404, msg("Cannot create the people finder team, parent team does not exist"))
    );
    let (status, _) =
        post(json!({"slug": "ddat", "name": "DDaT", "parent_slug": "dbt", "team_type": "directorate"})).await;
    assert_eq!(status, 201);
    let (status, body) =
        post(json!({"slug": "y", "name": "Y", "parent_slug": "dbt", "team_type": "Directorate"})).await;
    assert_eq!((status, body["detail"][0]["type"].clone()), (422, json!("enum")), "{body}");

    let (status, ddat) = pf.send("GET", "/api/peoplefinder/teams/ddat", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        ddat["parents"],
        json!([
            {"slug": "dbt", "name": "Department for Business", "abbreviation": "DBT", "depth": 1},
            {"slug": "root-team", "name": "Root team", "abbreviation": "RT", "depth": 2}
        ])
    );
    let tree = pf.send("GET", "/api/peoplefinder/teams", None).await.1;
    assert_eq!(tree["children"][0]["children"][0]["slug"], "ddat", "{tree}");
    assert_eq!(
        pf.send("GET", "/api/peoplefinder/teams/nope", None).await,
        (404, msg("People finder team does not exist"))
    );

    // Renamed: the slug is made again from the name; what is not given stays.
    let put = |slug: &str, body: Value| {
        let path = format!("/api/peoplefinder/teams/{slug}");
        async move { pf.send("PUT", &path, Some(&body.to_string())).await }
    };
    let (status, renamed) = put("ddat", json!({"name": "Employee Experience Team"})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        (renamed["slug"].as_str(), renamed["team_type"].as_str()),
        (Some("employee-experience-team"), Some("directorate"))
    );
    assert_eq!(renamed["parents"][0]["slug"], "dbt");
    assert_eq!(pf.send("GET", "/api/peoplefinder/teams/ddat", None).await.0, 404);
    let (status, cleared) = put("dbt", json!({"abbreviation": null, "cost_code": "CC1"})).await;
    assert_eq!(
        (status, cleared["abbreviation"].clone(), cleared["cost_code"].clone()),
        (200, Value::Null, json!("CC1"))
    );
    assert_eq!(cleared["name"], "Department for Business");

    // Moves that would break the tree.
    let eet = "employee-experience-team";
    assert_eq!(put("dbt", json!({"parent_slug": eet})).await, (409, msg("A team's parent cannot be a team's child")));
    assert_eq!(
        put("dbt", json!({"parent_slug": "dbt"})).await,
        (409, msg("A team's parent cannot be the team itself"))
    );
    assert_eq!(
        put("root-team", json!({"parent_slug": "dbt"})).await,
        (409, msg("Cannot update the parent of the root team"))
    );
    assert_eq!(
        put("dbt", json!({"parent_slug": "nowhere"})).await,
        (404, msg("Cannot update the people finder team, parent team does not exist"))
    );
    assert_eq!(put("nope", json!({"name": "N"})).await, (404, msg("People finder team does not exist")));
    // A move that keeps it a tree: under the root, beside its old parent.
    let (status, moved) = put(eet, json!({"parent_slug": "root-team"})).await;
    assert_eq!((status, moved["parents"].as_array().unwrap().len()), (200, 1), "{moved}");
    assert!(owned.svc.stop().await);
}
