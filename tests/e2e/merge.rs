use identity_store::testing::TestDatabase;
use serde_json::json;

use crate::support::Identity;

const CSV: &str = "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH\n\
                   hr-1,annie.lee@example.gov.uk,,Annie,,Lee,,01021980\n";

/// Staff SSO pushes two records of one person; an import links a service's record to one of
/// them by email; a reviewer merges the two; api sends readers of the merged one to the
/// survivor, which holds every link, and the feed says so; the merge is undone and both people
/// are back as they were.
pub async fn sso_an_import_a_merge_and_its_undo(db: &TestDatabase) {
    let id = Identity::start(db).await;
    let ann = id.scim_create("ann.lee", "Ann", "ann.lee@example.gov.uk").await;
    let annie = id.scim_create("a.lee", "Annie", "annie.lee@example.gov.uk").await;
    let results = id.import(CSV).await;
    assert!(
        results.contains(&format!("hr-1,{annie},None,A user already exists with the specified email address")),
        "{results}"
    );
    let before_ann = id.api_get(&format!("/api/v1/people/{ann}")).await.body;
    let before_annie = id.api_get(&format!("/api/v1/people/{annie}")).await.body;
    assert_eq!(before_annie["links"].as_array().unwrap().len(), 2, "{before_annie}");

    let merge = id
        .admin_post("/admin/v1/merges", Some(json!({"survivor": ann, "merged": annie, "reason": "one person"})))
        .await;
    assert_eq!(merge.status, 201, "{}", merge.body);
    let merge_id = merge.body["id"].as_str().unwrap().to_owned();

    let gone = id.api_get(&format!("/api/v1/people/{annie}")).await;
    assert_eq!(gone.status, 308, "{}", gone.body);
    assert_eq!(gone.headers["location"].to_str().unwrap(), format!("/api/v1/people/{ann}"));
    let survivor = id.api_get(&format!("/api/v1/people/{ann}")).await.body;
    let links = survivor["links"].to_string();
    assert!(links.contains("\"hr-1\"") && links.contains("a.lee") && links.contains("ann.lee"), "{links}");
    // Ann keeps her own names and address (SSO's, like Annie's), and a lookup by the service's ID
    // finds her.
    assert_eq!(survivor["profile"]["first_name"]["value"], "Ann", "{survivor}");
    assert_eq!(survivor["profile"]["email"]["value"], "ann.lee@example.gov.uk", "{survivor}");
    let found = id.api_get("/api/v1/people?source=import:hr&external_id=hr-1").await.body;
    assert_eq!(found["people"][0]["id"], ann.as_str(), "{found}");
    // The service's file imported again links its row to the survivor.
    let again = id.import(CSV).await;
    assert!(again.contains(&format!("hr-1,{ann},None,")), "{again}");
    let feed = id.feed_with("merged", &annie).await;
    let merged = feed.iter().find(|c| c["kind"] == "merged" && c["user_id"] == annie.as_str()).unwrap();
    assert_eq!(merged["survivor"], ann.as_str());
    assert!(feed
        .iter()
        .any(|c| c["kind"] == "profile_updated" && c["user_id"] == ann.as_str() && c["source"] == "review"));

    let undo = id.admin_post(&format!("/admin/v1/merges/{merge_id}/undo"), None).await;
    assert_eq!(undo.status, 200, "{}", undo.body);
    let after_ann = id.api_get(&format!("/api/v1/people/{ann}")).await.body;
    let after_annie = id.api_get(&format!("/api/v1/people/{annie}")).await.body;
    for (before, after) in [(&before_ann, &after_ann), (&before_annie, &after_annie)] {
        for field in ["status", "profile", "links"] {
            assert_eq!(after[field], before[field], "{field} restored: {after}");
        }
    }
    id.feed_with("unmerged", &annie).await;
}
