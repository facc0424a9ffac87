use std::collections::BTreeSet;

use identity_store::testing::TestDatabase;

use crate::support::Api;

pub async fn the_feed_has_no_gap_and_no_repeat_under_concurrent_writers(db: &TestDatabase) {
    let api = std::sync::Arc::new(
        Api::start(
            db,
            &[("IDENTITY_API__RATE_LIMIT_PER_SECOND", "100000"), ("IDENTITY_API__RATE_LIMIT_BURST", "100000")],
        )
        .await,
    );
    const WRITERS: usize = 4;
    const EACH: usize = 20;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let api = api.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    api.sso_user(&format!("w{w}-{i}"), "W", "R", &format!("w{w}-{i}@example.com")).await;
                }
            })
        })
        .collect();
    // A consumer follows the feed over HTTP while they write, resuming after the last seq.
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let page = api.get(&format!("/api/v1/changes?after={after}&limit=7")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let changes = page.body["changes"].as_array().unwrap().clone();
        after = page.body["next_after"].as_i64().unwrap();
        let empty = changes.is_empty();
        seen.extend(changes);
        if done && empty {
            break;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    let seqs: Vec<i64> = seen.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order");
    let users: BTreeSet<&str> = seen.iter().map(|c| c["user_id"].as_str().unwrap()).collect();
    assert_eq!((seen.len(), users.len()), (WRITERS * EACH, WRITERS * EACH), "each change exactly once");
    assert!(seen.iter().all(|c| c["kind"] == "created" && c["source"] == "sso"));
    assert!(seen.iter().all(|c| c["actor"] == "scim:test"), "each change names who wrote it");
    assert!(seen[0]["fields"].as_array().unwrap().iter().any(|f| f == "email"));
    // Resuming after the end gives nothing; bad positions are refused.
    assert!(api.get(&format!("/api/v1/changes?after={after}")).await.body["changes"].as_array().unwrap().is_empty());
    api.get("/api/v1/changes?after=-1").await.assert_error(400, "invalid_parameter", Some("after"));
    api.get("/api/v1/changes?after=x").await.assert_error(400, "invalid_parameter", Some("after"));
    api.get("/api/v1/changes?limit=0").await.assert_error(400, "invalid_parameter", Some("limit"));
    api.get("/api/v1/changes?since=1").await.assert_error(400, "invalid_parameter", Some("since"));
    let people_only = api.key("people-only", "people:read").await;
    api.get_with("/api/v1/changes", Some(&people_only), &[]).await.assert_error(403, "forbidden", None);
}
