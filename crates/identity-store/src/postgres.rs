//! The PostgreSQL backend: production.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::columns::{Column, Columns};
use crate::dialect::Dialect;
use crate::error::{Result, StoreError};
use crate::PoolConfig;

pub(crate) type Db = sqlx::Postgres;
pub(crate) const DIALECT: Dialect = Dialect::Postgres;
pub(crate) const MIGRATIONS: crate::migrations::Embedded = crate::migrations::POSTGRES;

// The same query modules, compiled against this backend's driver (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;
pub(crate) use sql::{Backend, ClaimHold, Conns, Session};

/// Rows as a row source: `SELECT c0, c1, … FROM unnest($1::uuid[], $2::text[], …) AS v(c0, c1, …)`,
/// one array bound per column (see `columns.rs`), `WHERE filter`.
pub(crate) fn push_columns(qb: &mut sqlx::QueryBuilder<'static, Db>, columns: Columns, filter: &str) {
    if columns.rows() == 1 {
        // One row (a SCIM write): arrays and `unnest` only add work.
        crate::columns::push_values(qb, columns, filter);
        return;
    }
    let names: Vec<String> = (0..columns.0.len()).map(|i| format!("c{i}")).collect();
    let selected: Vec<String> = columns
        .0
        .iter()
        .zip(&names)
        .map(|(c, name)| if matches!(c, Column::Json(_)) { format!("{name}::jsonb") } else { name.clone() })
        .collect();
    qb.push(format!("SELECT {} FROM unnest(", selected.join(", ")));
    for (i, column) in columns.0.into_iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        bind_array(qb, column);
    }
    qb.push(format!(") AS v({}) WHERE {filter}", names.join(", ")));
}

/// `expr` is one of `values`, as `expr = ANY($1)`: one bound array, one plan whatever its length.
/// A single value goes as `expr = $1`: the server planned `= ANY` afresh on every execution (a
/// plan for a one-element array is always cheaper than its generic plan's guess of ten), and
/// that planning cost People Finder's PUT more than running its reads (BENCHMARKS.md).
pub(crate) fn push_in(qb: &mut sqlx::QueryBuilder<'static, Db>, expr: &str, values: Column) {
    if values.len() == 1 {
        qb.push(format!("{expr} = "));
        bind_one(qb, values);
        return;
    }
    qb.push(format!("{expr} = ANY("));
    bind_array(qb, values);
    qb.push(")");
}

/// The one value of `column`, bound as a scalar.
fn bind_one(qb: &mut sqlx::QueryBuilder<'static, Db>, column: Column) {
    match column {
        Column::Uuid(v) => qb.push_bind(v.into_iter().next()).push("::uuid"),
        Column::MaybeUuid(v) => qb.push_bind(v.into_iter().next().flatten()).push("::uuid"),
        Column::Text(v) => qb.push_bind(v.into_iter().next().flatten()).push("::text"),
        Column::Date(v) => qb.push_bind(v.into_iter().next().flatten()).push("::date"),
        Column::Time(v) => qb.push_bind(v.into_iter().next()).push("::timestamptz"),
        Column::Int(v) => qb.push_bind(v.into_iter().next()).push("::bigint"),
        Column::Json(v) => qb.push_bind(v.into_iter().next().map(|j| j.to_string())).push("::text"),
    };
}

fn bind_array(qb: &mut sqlx::QueryBuilder<'static, Db>, column: Column) {
    match column {
        Column::Uuid(v) => qb.push_bind(v).push("::uuid[]"),
        Column::MaybeUuid(v) => qb.push_bind(v).push("::uuid[]"),
        Column::Text(v) => qb.push_bind(v).push("::text[]"),
        Column::Date(v) => qb.push_bind(v).push("::date[]"),
        Column::Time(v) => qb.push_bind(v).push("::timestamptz[]"),
        Column::Int(v) => qb.push_bind(v).push("::bigint[]"),
        Column::Json(v) => qb.push_bind(v.iter().map(ToString::to_string).collect::<Vec<_>>()).push("::text[]"),
    };
}

/// Opens a pool without touching the database: a service starts, and answers `/readyz` 503,
/// while PostgreSQL is down.
pub(crate) fn connect(url: &str, config: &PoolConfig) -> Result<Backend> {
    let mut options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
    // An `application_name` in the URL wins (an operator telling replicas apart, a test finding
    // its own sessions).
    if options.get_application_name().is_none() {
        options = options.application_name(&config.application_name);
    }
    let max = config.max_connections.unwrap_or(8);
    let conns = Conns::new(options.clone(), max, config.acquire_timeout);
    let pool = PgPoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        // A ping before every acquire costs a round trip per request (the floor measured 19k →
        // 14k req/s); a dead connection is instead dropped when it fails.
        .test_before_acquire(false)
        .idle_timeout(std::time::Duration::from_secs(300))
        .after_connect(|conn, _| Box::pin(sql::set_up(conn)))
        .connect_lazy_with(options);
    Ok(Backend::new(conns, pool))
}

/// Nothing to do after PostgreSQL's migrations (see `sqlite::after_migrations`).
pub(crate) async fn after_migrations(_: &mut sqlx::PgConnection) -> Result<()> {
    Ok(())
}
