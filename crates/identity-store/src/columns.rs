//! Rows for a multi-row statement, held column by column. Each backend renders them its own way
//! (`push_columns` in `postgres.rs` and `sqlite.rs`): PostgreSQL binds one array per column and
//! reads the rows back with `unnest`, so a statement of a thousand rows carries a couple of dozen
//! parameters instead of twenty thousand, and its text, parse and plan stay the same size
//! whatever the number of rows; SQLite, where a statement costs no round trip, takes a `VALUES`
//! list.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Type};
use uuid::Uuid;

/// One column's values, a value per row.
pub(crate) enum Column {
    Uuid(Vec<Uuid>),
    MaybeUuid(Vec<Option<Uuid>>),
    Text(Vec<Option<String>>),
    Date(Vec<Option<NaiveDate>>),
    Time(Vec<DateTime<Utc>>),
    Int(Vec<i64>),
    /// JSON documents (for a `jsonb` column on PostgreSQL, text on SQLite).
    Json(Vec<serde_json::Value>),
}

impl Column {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Uuid(v) => v.len(),
            Self::MaybeUuid(v) => v.len(),
            Self::Text(v) => v.len(),
            Self::Date(v) => v.len(),
            Self::Time(v) => v.len(),
            Self::Int(v) => v.len(),
            Self::Json(v) => v.len(),
        }
    }
}

/// Rows, as columns of equal length.
pub(crate) struct Columns(pub(crate) Vec<Column>);

impl Columns {
    pub(crate) fn rows(&self) -> usize {
        self.0.first().map_or(0, Column::len)
    }
}

/// Rows as `SELECT * FROM (VALUES (…), (…)) WHERE filter`, a value bound per cell: SQLite's
/// way, and PostgreSQL's for a single row (a SCIM write), where an array per column only adds
/// work.
pub(crate) fn push_values<DB>(qb: &mut QueryBuilder<'static, DB>, columns: Columns, filter: &str)
where
    DB: Database,
    for<'q> Option<Uuid>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<NaiveDate>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<DateTime<Utc>>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Json<serde_json::Value>>: Encode<'q, DB> + Type<DB>,
{
    let rows = columns.rows();
    let mut cells: Vec<Cells> = columns.0.into_iter().map(Cells::from).collect();
    qb.push("SELECT * FROM (");
    qb.push_values(0..rows, |mut b, _| {
        for cells in &mut cells {
            match cells {
                Cells::Uuid(v) => b.push_bind(v.next()),
                Cells::MaybeUuid(v) => b.push_bind(v.next().flatten()),
                Cells::Text(v) => b.push_bind(v.next().flatten()),
                Cells::Date(v) => b.push_bind(v.next().flatten()),
                Cells::Time(v) => b.push_bind(v.next()),
                Cells::Int(v) => b.push_bind(v.next()),
                Cells::Json(v) => b.push_bind(v.next().map(Json)),
            };
        }
    });
    // A WHERE, even `true`, also tells SQLite that an ON CONFLICT after it is the INSERT's.
    qb.push(format!(") AS v WHERE {filter}"));
}

/// A column's values, handed out a row at a time.
enum Cells {
    Uuid(std::vec::IntoIter<Uuid>),
    MaybeUuid(std::vec::IntoIter<Option<Uuid>>),
    Text(std::vec::IntoIter<Option<String>>),
    Date(std::vec::IntoIter<Option<NaiveDate>>),
    Time(std::vec::IntoIter<DateTime<Utc>>),
    Int(std::vec::IntoIter<i64>),
    Json(std::vec::IntoIter<serde_json::Value>),
}

impl From<Column> for Cells {
    fn from(c: Column) -> Self {
        match c {
            Column::Uuid(v) => Self::Uuid(v.into_iter()),
            Column::MaybeUuid(v) => Self::MaybeUuid(v.into_iter()),
            Column::Text(v) => Self::Text(v.into_iter()),
            Column::Date(v) => Self::Date(v.into_iter()),
            Column::Time(v) => Self::Time(v.into_iter()),
            Column::Int(v) => Self::Int(v.into_iter()),
            Column::Json(v) => Self::Json(v.into_iter()),
        }
    }
}
