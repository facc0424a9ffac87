//! Decoding rows into domain types. A stored value that no longer satisfies its type is
//! reported as `Corrupt`, never unwrapped.

use chrono::{DateTime, NaiveDate, Utc};
use identity_core::{DateOfBirth, Email, ProfileFields, Source, Trn, UserId, UserStatus};
use sqlx::Row as _;
use uuid::Uuid;

use super::Row;
use crate::error::{Result, StoreError};

pub(super) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(super) fn user_id(row: &Row, col: &str) -> Result<UserId> {
    Ok(UserId::from_uuid(row.try_get::<Uuid, _>(col)?))
}

pub(super) fn status(row: &Row, col: &str) -> Result<UserStatus> {
    row.try_get::<String, _>(col)?.parse().map_err(|e| corrupt(col, e))
}

pub(super) fn source(row: &Row, col: &str) -> Result<Source> {
    row.try_get::<String, _>(col)?.parse().map_err(|e| corrupt(col, e))
}

pub(super) fn time(row: &Row, col: &str) -> Result<DateTime<Utc>> {
    Ok(row.try_get::<DateTime<Utc>, _>(col)?)
}

pub(super) fn email(text: Option<String>) -> Result<Option<Email>> {
    text.map(|t| Email::parse(&t).map_err(|e| corrupt("email", e))).transpose()
}

pub(super) fn trn(text: Option<String>) -> Result<Option<Trn>> {
    text.map(|t| Trn::parse(&t).map_err(|e| corrupt("trn", e))).transpose()
}

/// The profile columns shared by `source_profiles` and `combined_profiles`.
pub(super) fn profile_fields(row: &Row) -> Result<ProfileFields> {
    Ok(ProfileFields {
        first_name: row.try_get("first_name")?,
        middle_name: row.try_get("middle_name")?,
        last_name: row.try_get("last_name")?,
        preferred_name: row.try_get("preferred_name")?,
        display_name: row.try_get("display_name")?,
        email: email(row.try_get("email")?)?,
        date_of_birth: row.try_get::<Option<NaiveDate>, _>("date_of_birth")?.map(DateOfBirth::new),
        trn: trn(row.try_get("trn")?)?,
        details: row.try_get::<sqlx::types::Json<identity_core::profile::Details>, _>("details")?.0,
    })
}

/// Now, at the precision both backends keep (microseconds), so a value reads back equal.
pub(super) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
