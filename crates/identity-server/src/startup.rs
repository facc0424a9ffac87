//! Opening the store at start-up. A database that is down is not fatal: the binary serves its
//! health routes (`/readyz` answers 503) and keeps trying, so an orchestrator sees a live but
//! unready task instead of a crash loop. A database that answers but refuses the migrations is
//! fatal: that needs a person.

use std::future::Future;
use std::time::Duration;

use identity_store::{Store, StoreError};

use crate::config::DatabaseConfig;
use crate::health::Readiness;

const RETRY_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database.url: {0}")]
    Url(StoreError),
    #[error("database migrations failed: {0}")]
    Migrate(StoreError),
}

/// Opens the store and tries to migrate it once. An unreachable database leaves `ready` unset;
/// [`serve_while_migrating`] keeps trying.
pub async fn open_store(db: &DatabaseConfig, application: &str, ready: &Readiness) -> Result<Store, StartError> {
    let store = Store::connect(&db.url, &db.pool(application)).map_err(StartError::Url)?;
    tracing::info!(db.backend = store.backend().name(), db.url = %db.redacted_url(), "opening database");
    match store.migrate().await {
        Ok(()) => ready.set_ready(),
        Err(e) if e.is_unavailable() => {
            tracing::warn!(error = %e, "database unreachable; serving as not ready and retrying")
        }
        Err(e) => return Err(StartError::Migrate(e)),
    }
    Ok(store)
}

/// Runs `server` to completion while, if the store is not ready yet, retrying its migrations
/// beside it. Both run on the caller's task (sqlx's migration future is not `Send`, so it cannot
/// be spawned).
pub async fn serve_while_migrating<F, T>(server: F, store: &Store, ready: &Readiness) -> T
where
    F: Future<Output = T>,
{
    let retry = async {
        while !ready.is_ready() {
            tokio::time::sleep(RETRY_EVERY).await;
            match store.migrate().await {
                Ok(()) => {
                    tracing::info!("database reachable and migrated; ready");
                    ready.set_ready();
                }
                Err(e) if e.is_unavailable() => {
                    tracing::debug!(error = %e, "database still unreachable")
                }
                Err(e) => {
                    tracing::error!(error = %e, "database migrations failed; staying not ready");
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    tokio::pin!(server);
    tokio::select! {
        out = &mut server => out,
        () = retry => server.await,
    }
}

/// Opens and migrates the store for a one-shot command (`migrate`, `tokens create`): here an
/// unreachable database is an error to report, not to wait for.
pub async fn open_store_now(db: &DatabaseConfig, application: &str) -> Result<Store, StartError> {
    let store = Store::connect(&db.url, &db.pool(application)).map_err(StartError::Url)?;
    store.migrate().await.map_err(StartError::Migrate)?;
    Ok(store)
}
