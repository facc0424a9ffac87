use identity_store::testing::TestDatabase;
use identity_store::{PoolConfig, Store};

pub struct TestDb {
    pub store: Store,
    pub db: TestDatabase,
}

async fn open(db: TestDatabase) -> TestDb {
    let store = Store::connect(&db.url, &PoolConfig { max_connections: Some(4), ..PoolConfig::default() }).unwrap();
    store.migrate().await.unwrap();
    TestDb { store, db }
}

impl TestDb {
    pub async fn sqlite() -> Self {
        open(TestDatabase::sqlite()).await
    }

    pub async fn postgres() -> Option<Self> {
        Some(open(TestDatabase::postgres().await?).await)
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        self.db.drop_now().await;
    }
}
