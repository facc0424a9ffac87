use identity_store::{CredentialKind, Store, StoreError, Uniqueness};

pub async fn credentials_lifecycle(store: Store) {
    let scopes = vec!["people:read".to_owned(), "changes:read".to_owned()];
    let key = store
        .credential_create_with_id(uuid::Uuid::new_v4(), CredentialKind::ApiKey, "crm", &[1, 2, 3], &scopes)
        .await
        .unwrap();
    assert_eq!(key.scopes, scopes);
    let dup = store
        .credential_create_with_id(uuid::Uuid::new_v4(), CredentialKind::ApiKey, "crm", &[4], &[])
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::AlreadyExists(Uniqueness::CredentialName)), "{dup:?}");
    // Names are per kind.
    store.credential_create_with_id(uuid::Uuid::new_v4(), CredentialKind::ScimToken, "crm", &[5], &[]).await.unwrap();
    let live = store.live_credential(CredentialKind::ApiKey, key.id).await.unwrap().unwrap();
    assert_eq!(live.secret_hash, [1, 2, 3]);
    assert!(store.live_credential(CredentialKind::ScimToken, key.id).await.unwrap().is_none(), "kinds do not mix");
    store.credential_revoke(CredentialKind::ApiKey, "crm").await.unwrap();
    assert!(store.live_credential(CredentialKind::ApiKey, key.id).await.unwrap().is_none());
    assert!(matches!(store.credential_revoke(CredentialKind::ApiKey, "crm").await, Err(StoreError::NotFound)));
    // A revoked name can be reused; the list keeps both.
    store.credential_create_with_id(uuid::Uuid::new_v4(), CredentialKind::ApiKey, "crm", &[6], &[]).await.unwrap();
    let all = store.credentials(CredentialKind::ApiKey).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all.iter().filter(|c| c.revoked_at.is_some()).count(), 1);
}
