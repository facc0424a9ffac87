//! Throw-away databases for tests, here because creating a PostgreSQL schema is SQL and SQL lives
//! in this crate. Used by the store's conformance suite and by the services' end-to-end tests.
//!
//! PostgreSQL comes from `IDENTITY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached, [`TestDatabase::postgres`]
//! prints that the test was skipped and returns `None`, unless `IDENTITY_REQUIRE_POSTGRES=1`
//! (set by CI), in which case it panics: CI never skips PostgreSQL.

use sqlx::Connection as _;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database URL that nobody else uses, removed by [`TestDatabase::drop_now`].
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    place: Place,
}

#[derive(Debug)]
enum Place {
    File(std::path::PathBuf),
    Schema { admin_url: String, schema: String },
}

pub fn postgres_url() -> String {
    std::env::var("IDENTITY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

pub fn postgres_required() -> bool {
    std::env::var("IDENTITY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

impl TestDatabase {
    /// A fresh SQLite file under the system's temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join("identity-tests");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{}.db", uuid::Uuid::new_v4().simple()));
        Self { url: format!("sqlite://{}", path.display()), place: Place::File(path) }
    }

    /// A fresh schema on the test PostgreSQL, selected through the URL's `search_path`.
    pub async fn postgres() -> Option<Self> {
        let admin_url = postgres_url();
        let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) if !postgres_required() => {
                eprintln!("SKIPPED: PostgreSQL at {admin_url} is unreachable ({e}); PostgreSQL tests did not run");
                return None;
            }
            Err(e) => {
                panic!("PostgreSQL at {admin_url} is required (IDENTITY_REQUIRE_POSTGRES=1) but unreachable: {e}")
            }
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = sqlx::raw_sql(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await {
            panic!("cannot create a test schema on {admin_url}: {e}");
        }
        let _ = conn.close().await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        Some(Self { url, place: Place::Schema { admin_url, schema } })
    }

    /// Runs SQL as it is, on a connection of its own: for a test of what the schema itself
    /// refuses, whatever the store would send. The database's message if it fails.
    pub async fn execute(&self, sql: &str) -> Result<(), String> {
        let result = match &self.place {
            Place::File(_) => match sqlx::SqliteConnection::connect(&self.url).await {
                Ok(mut conn) => sqlx::raw_sql(sql).execute(&mut conn).await.map(drop),
                Err(e) => Err(e),
            },
            Place::Schema { .. } => match sqlx::PgConnection::connect(&self.url).await {
                Ok(mut conn) => sqlx::raw_sql(sql).execute(&mut conn).await.map(drop),
                Err(e) => Err(e),
            },
        };
        result.map_err(|e| e.to_string())
    }

    /// How `id` is written in this database's SQL.
    pub fn uuid_literal(&self, id: uuid::Uuid) -> String {
        match self.place {
            Place::File(_) => format!("x'{}'", id.simple()),
            Place::Schema { .. } => format!("'{id}'"),
        }
    }

    /// Every row of the database as text, as `pg_dump` (of the test's schema) or SQLite's `.dump`
    /// (Python's `iterdump`, the same statements) writes it: for a test that a value is gone
    /// from every table.
    pub fn dump(&self) -> String {
        let out = match &self.place {
            Place::File(path) => std::process::Command::new("python3")
                .args([
                    "-c",
                    "import sqlite3, sys; print('\\n'.join(sqlite3.connect(sys.argv[1]).iterdump()))",
                    &path.display().to_string(),
                ])
                .output(),
            Place::Schema { admin_url, schema } => {
                std::process::Command::new("pg_dump").args(["--dbname", admin_url, "--schema", schema]).output()
            }
        };
        let out = out.unwrap_or_else(|e| panic!("cannot dump the test database: {e}"));
        assert!(out.status.success(), "dumping the test database failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Removes the file or schema.
    pub async fn drop_now(self) {
        match self.place {
            Place::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Place::Schema { admin_url, schema } => {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            }
        }
    }
}
