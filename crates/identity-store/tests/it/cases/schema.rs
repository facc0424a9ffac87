use identity_store::testing::TestDatabase;
use identity_store::Store;

use super::{actor, sso_user};

/// What the schema refuses whatever SQL reaches it: a profile, combined profile or link of a
/// user that does not exist, a link moved to one, and deleting a user or changing its id
/// (PostgreSQL checks these per statement since migration 0003, SQLite by its foreign keys).
pub async fn every_row_keeps_its_user(store: Store, db: &TestDatabase) {
    let user = store.sso_create(&sso_user("ann", "Ann", "Lee", "ann@example.com"), &actor()).await.unwrap();
    let id = db.uuid_literal(*user.id.as_uuid());
    let nobody = db.uuid_literal(uuid::Uuid::now_v7());
    let refused = [
        format!(
            "INSERT INTO source_profiles (user_id, source, attributes, version, created_at, updated_at) \
             VALUES ({nobody}, 'import:x', '{{}}', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        ),
        format!(
            "INSERT INTO combined_profiles (user_id, version, updated_at) VALUES ({nobody}, 1, '2026-01-01T00:00:00Z')"
        ),
        format!(
            "INSERT INTO links (source, external_key, external_id, user_id, created_at) \
             VALUES ('import:x', 'a', 'a', {nobody}, '2026-01-01T00:00:00Z')"
        ),
        format!("UPDATE links SET user_id = {nobody} WHERE user_id = {id}"),
        format!("UPDATE source_profiles SET user_id = {nobody} WHERE user_id = {id}"),
        format!("UPDATE combined_profiles SET user_id = {nobody} WHERE user_id = {id}"),
        format!(
            "INSERT INTO links (source, external_key, external_id, user_id, created_at) \
             VALUES ('sso', 'ann', 'ann', {id}, '2026-01-01T00:00:00Z') \
             ON CONFLICT (source, external_key) DO UPDATE SET user_id = {nobody}"
        ),
        format!("DELETE FROM users WHERE id = {id}"),
        "DELETE FROM users".to_owned(),
        format!("UPDATE users SET id = {nobody} WHERE id = {id}"),
    ];
    for sql in &refused {
        assert!(db.execute(sql).await.is_err(), "refused: {sql}");
    }
    if db.url.starts_with("postgres") {
        assert!(db.execute("TRUNCATE users CASCADE").await.is_err(), "users are never truncated");
    }
    // One good row among them fails the statement, and nothing of it stays.
    let mixed = format!(
        "INSERT INTO links (source, external_key, external_id, user_id, created_at) \
         VALUES ('import:x', 'b', 'b', {id}, '2026-01-01T00:00:00Z'), ('import:x', 'c', 'c', {nobody}, '2026-01-01T00:00:00Z')"
    );
    assert!(db.execute(&mixed).await.is_err());
    // A user that nothing refers to is kept all the same, and the rules refuse nothing valid.
    let lone = uuid::Uuid::now_v7();
    let lone_literal = db.uuid_literal(lone);
    db.execute(&format!(
        "INSERT INTO users (id, status, created_at, updated_at) VALUES ({lone_literal}, 'active', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
    ))
    .await
    .unwrap();
    assert!(db.execute(&format!("DELETE FROM users WHERE id = {lone_literal}")).await.is_err());
    db.execute(&format!(
        "INSERT INTO links (source, external_key, external_id, user_id, created_at) \
         VALUES ('import:x', 'd', 'd', {lone_literal}, '2026-01-01T00:00:00Z')"
    ))
    .await
    .unwrap();
    db.execute(&format!("UPDATE links SET user_id = {id} WHERE user_id = {lone_literal}")).await.unwrap();
    let person = store.person(user.id).await.unwrap();
    let mut ids: Vec<&str> = person.links.iter().map(|l| l.external_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["ann", "d"], "the moved link is the user's; nothing of a refused statement stayed");
    assert_eq!(person.combined.first_name.unwrap().value, "Ann", "the user's rows are untouched");
}
