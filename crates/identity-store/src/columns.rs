//! Rows for a multi-row statement, held column by column. Each backend renders them its own way
//! (`push_columns` in `postgres.rs` and `sqlite.rs`): PostgreSQL binds one array per column and
//! reads the rows back with `unnest`, so a statement of a thousand rows carries a couple of dozen
//! parameters instead of twenty thousand, and its text, parse and plan stay the same size
//! whatever the number of rows; SQLite, where a statement costs no round trip, takes a `VALUES`
//! list.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// One column's values, a value per row.
pub(crate) enum Column {
    Uuid(Vec<Uuid>),
    MaybeUuid(Vec<Option<Uuid>>),
    Text(Vec<Option<String>>),
    Date(Vec<Option<NaiveDate>>),
    Time(Vec<DateTime<Utc>>),
    Int(Vec<i64>),
    /// JSON documents, as text, for a `jsonb` column.
    Json(Vec<String>),
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
