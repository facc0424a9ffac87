//! Credentials: bearer tokens and API keys, kept as hashes.

use chrono::{DateTime, Utc};
use sqlx::Row as _;
use uuid::Uuid;

use super::rows::{self, corrupt, now};
use super::{Backend, Row};
use crate::error::{Result, StoreError, Uniqueness};
use crate::model::{Credential, CredentialKind};

fn credential(row: &Row) -> Result<Credential> {
    let kind: String = row.try_get("kind")?;
    let scopes: String = row.try_get("scopes")?;
    Ok(Credential {
        id: row.try_get("id")?,
        kind: CredentialKind::parse(&kind).ok_or_else(|| corrupt("credentials.kind", &kind))?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        scopes: scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        created_at: rows::time(row, "created_at")?,
        revoked_at: row.try_get::<Option<DateTime<Utc>>, _>("revoked_at")?,
    })
}

const COLUMNS: &str = "id, kind, name, secret_hash, scopes, created_at, revoked_at";

impl Backend {
    pub(crate) async fn credential_create(
        &self,
        id: Uuid,
        kind: CredentialKind,
        name: &str,
        secret_hash: &[u8],
        scopes: &[String],
    ) -> Result<Credential> {
        let c = Credential {
            id,
            kind,
            name: name.to_owned(),
            secret_hash: secret_hash.to_vec(),
            scopes: scopes.to_vec(),
            created_at: now(),
            revoked_at: None,
        };
        // A taken name is found without an error, which PostgreSQL would log with the name.
        let inserted = sqlx::query(
            "INSERT INTO credentials (id, kind, name, secret_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT DO NOTHING",
        )
        .bind(c.id)
        .bind(kind.as_str())
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(c.scopes.join(" "))
        .bind(c.created_at)
        .execute(&self.write)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(Uniqueness::CredentialName));
        }
        Ok(c)
    }

    /// Every credential of a kind, revoked ones included, oldest first.
    pub(crate) async fn credentials(&self, kind: CredentialKind) -> Result<Vec<Credential>> {
        let sql = format!("SELECT {COLUMNS} FROM credentials WHERE kind = $1 ORDER BY created_at, name");
        let found = self.conns.fetch_all(sqlx::query(&sql).bind(kind.as_str())).await?;
        found.iter().map(credential).collect()
    }

    /// The credential a presented secret claims to be, if it is live.
    pub(crate) async fn live_credential(&self, kind: CredentialKind, id: Uuid) -> Result<Option<Credential>> {
        let sql = format!("SELECT {COLUMNS} FROM credentials WHERE kind = $1 AND id = $2 AND revoked_at IS NULL");
        self.conns
            .fetch_optional(sqlx::query(&sql).bind(kind.as_str()).bind(id))
            .await?
            .as_ref()
            .map(credential)
            .transpose()
    }

    pub(crate) async fn credential_revoke(&self, kind: CredentialKind, name: &str) -> Result<()> {
        let done =
            sqlx::query("UPDATE credentials SET revoked_at = $3 WHERE kind = $1 AND name = $2 AND revoked_at IS NULL")
                .bind(kind.as_str())
                .bind(name)
                .bind(now())
                .execute(&self.write)
                .await?
                .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

impl Backend {
    /// Forgets nonces with a timestamp before `before` (seconds since the epoch).
    pub(crate) async fn hawk_nonces_sweep(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM hawk_nonces WHERE ts < $1").bind(before).execute(&self.write).await?;
        Ok(done.rows_affected())
    }
}
