//! A subject's export and erasure (DESIGN.md §7.9): one person written by SCIM, two imports and
//! the registry, merged with another record of them and updated many times, is exported (every
//! value written appears) and then erased: a dump of the whole database holds none of the values
//! afterwards, another person's data is untouched, and the change feed reads with no gap.

use identity_store::testing::TestDatabase;
use serde_json::{json, Value};

use crate::support::Identity;

const TRN: &str = "7654321";
/// Every value written about the person: none may be left anywhere after the erasure.
const VALUES: &[&str] = &[
    "zephyrine.q",
    "Zephyrine",
    "Quillfeather",
    "zephyrine.quillfeather@example.gov.uk",
    "zq.home@example.org",
    "hr-zq-77",
    "npq-zq-12",
    TRN,
    "Zephy",
    "Thistlewood",
];

fn scim_user(nickname: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "zephyrine.q",
        "name": {"givenName": "Zephyrine", "familyName": "Quillfeather", "middleName": "Thistlewood"},
        "nickName": nickname,
        "emails": [{"value": "zephyrine.quillfeather@example.gov.uk", "primary": true}],
    })
}

pub async fn a_person_is_exported_then_erased_from_every_table(db: &TestDatabase) {
    let id = Identity::start(db).await;
    let dir = std::env::temp_dir().join(format!("identity-erasure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let registry = dir.join("registry.csv");
    std::fs::write(
        &registry,
        format!("TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DATE_OF_BIRTH\n{TRN},Zephyrine,,Quillfeather,09111983\n"),
    )
    .unwrap();
    id.import.cli(&["registry", "load", &registry.display().to_string()]).await;

    let other = id.scim_create("other.person", "Ottoline", "ottoline.other@example.gov.uk").await;
    let person = id.scim_create_json(&scim_user("Zephy")).await;
    // A service's record of her under a home address and her TRN, before anything gave her a date
    // of birth: a second record of her (a near-duplicate rule needs one to compare).
    let npq = format!(
        "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH\n\
         npq-zq-12,zq.home@example.org,{TRN},,,,,09111983\n"
    );
    let npq_results = id.import_for("npq", &npq).await;
    // Another service's record of her by the same address as SSO's: linked to her.
    let hr = "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH\n\
              hr-zq-77,zephyrine.quillfeather@example.gov.uk,,Zephyrine,,Quillfeather,Zephy,09111983\n";
    id.import(hr).await;
    let found = id.api_get("/api/v1/people?email=zq.home@example.org").await;
    let second =
        found.body["people"][0]["id"].as_str().unwrap_or_else(|| panic!("{}: {npq_results}", found.body)).to_owned();
    assert_ne!(second, person);
    let merge = id
        .admin_post(
            "/admin/v1/merges",
            Some(json!({"survivor": person, "merged": second, "reason": "Zephyrine twice"})),
        )
        .await;
    assert_eq!(merge.status, 201, "{}", merge.body);
    // Updated many times: each a change.
    for i in 0..20 {
        assert_eq!(id.scim_put(&person, &scim_user(&format!("Zephy{i}"))).await, 200);
    }

    // Export: every value written, from every table that holds one (once the feed has numbered
    // the last updates).
    let mut export = id.admin_get(&format!("/admin/v1/people/{person}/export")).await;
    for _ in 0..400 {
        if export.body["changes"].as_array().is_some_and(|c| c.len() >= 26) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        export = id.admin_get(&format!("/admin/v1/people/{person}/export")).await;
    }
    assert_eq!(export.status, 200, "{}", export.body);
    assert_eq!(export.headers["cache-control"], "no-store");
    let text = export.body.to_string();
    for value in VALUES {
        assert!(text.contains(value), "the export holds {value:?}: {text}");
    }
    assert_eq!(export.body["person"], person.as_str());
    assert!(export.body["changes"].as_array().unwrap().len() >= 26, "{}", export.body["changes"]);
    assert_eq!(export.body["merged_records"][0]["person"], second.as_str());
    assert!(!export.body["import_rows"].as_array().unwrap().is_empty(), "{}", export.body);

    // Only an admin may export or erase.
    let viewer =
        id.admin.cli(&["tokens", "create", "--name", "a-viewer", "--role", "reviewer"]).await.trim().to_owned();
    let as_reviewer =
        id.send(id.http().get(id.admin.url(&format!("/admin/v1/people/{person}/export"))).bearer_auth(&viewer)).await;
    assert_eq!(as_reviewer.status, 403);
    let refused = id
        .send(
            id.http()
                .post(id.admin.url(&format!("/admin/v1/people/{person}/erase")))
                .bearer_auth(&viewer)
                .header("content-type", "application/json")
                .body(r#"{"reason": "SAR-1"}"#),
        )
        .await;
    assert_eq!(refused.status, 403);
    let no_reason = id.admin_post(&format!("/admin/v1/people/{person}/erase"), Some(json!({"reason": " "}))).await;
    assert_eq!(no_reason.status, 400, "{}", no_reason.body);

    // Erasure, by the merged record's id: the person is the survivor and all merged into it.
    let erased =
        id.admin_post(&format!("/admin/v1/people/{second}/erase"), Some(json!({"reason": "SAR-2026-0042"}))).await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(erased.body["person"], person.as_str());
    let records: Vec<&str> = erased.body["erased"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(records.contains(&person.as_str()) && records.contains(&second.as_str()), "{records:?}");

    let dump = db.dump();
    for value in VALUES {
        assert!(!dump.contains(value), "{value:?} is still in the database after the erasure");
    }
    for value in ["Ottoline", "ottoline.other@example.gov.uk", "other.person"] {
        assert!(dump.contains(value), "another person's {value:?} is untouched");
    }
    assert!(dump.contains("SAR-2026-0042"), "the erasure records why");

    // Nothing answers with her any more; the other person still does.
    assert_eq!(id.api_get(&format!("/api/v1/people/{person}")).await.status, 410);
    let gone = id.api_get(&format!("/api/v1/people/{second}")).await;
    assert_eq!((gone.status, gone.body["message"].as_str()), (410, Some("this person was erased")), "{}", gone.body);
    for lookup in [
        "/api/v1/people?email=zephyrine.quillfeather@example.gov.uk".to_owned(),
        format!("/api/v1/people?trn={TRN}"),
        "/api/v1/people?source=import:hr&external_id=hr-zq-77".to_owned(),
        "/api/v1/people?source=sso&external_id=zephyrine.q".to_owned(),
    ] {
        let r = id.api_get(&lookup).await;
        assert_eq!(r.body["people"], json!([]), "{lookup}: {}", r.body);
    }
    assert_eq!(id.scim_get(&person).await, 404);
    assert_eq!(id.api_get(&format!("/api/v1/people/{other}")).await.status, 200);

    // The feed: no gap, and an `erased` change for each record.
    let feed = id.feed_with("erased", &second).await;
    let seqs: Vec<i64> = feed.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "the feed has no gap");
    assert!(feed.iter().any(|c| c["kind"] == "erased" && c["user_id"] == person.as_str()));

    // Their merge keeps who and when, not what it recorded: it cannot be undone.
    let merge_id = merge.body["id"].as_str().unwrap();
    let undo = id.admin_post(&format!("/admin/v1/merges/{merge_id}/undo"), None).await;
    assert_eq!(undo.status, 409, "{}", undo.body);

    // Again: nothing more is done, the same erasure answers.
    let again = id.admin_post(&format!("/admin/v1/people/{person}/erase"), Some(json!({"reason": "again"}))).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        (again.body["reason"].as_str(), again.body["at"].clone()),
        (Some("SAR-2026-0042"), erased.body["at"].clone())
    );
    // Staff SSO pushing her again makes a new person.
    let back = id.scim_create_json(&scim_user("Zephy")).await;
    assert_ne!(back, person);
    let _ = std::fs::remove_dir_all(dir);
}
