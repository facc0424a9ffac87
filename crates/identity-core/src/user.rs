//! A user is one person: an id and its state, no personal data.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Our id for a person: a UUID v7 (a millisecond timestamp, then 74 random bits), never reused,
/// never derived from personal data. Time-ordered ids make new rows land at the end of every
/// index keyed by user, instead of on a random page each: fewer pages written per insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(Uuid);

impl UserId {
    pub fn random() -> Self {
        Self(Uuid::now_v7())
    }

    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for UserId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Where a user is in its life. Staff SSO owns these transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Can sign in and is visible everywhere.
    Active,
    /// Deactivated (SCIM `active: false`): kept and visible, may come back.
    Inactive,
    /// Deleted by its owner: kept with its history, hidden from reads, its email and
    /// external ids released for others.
    Archived,
    /// Erased on the person's request (UK GDPR): the id and the shape of its history are kept,
    /// every personal value is gone.
    Erased,
}

impl UserStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Archived => "archived",
            Self::Erased => "erased",
        }
    }

    /// Archived and erased users no longer hold their email address or external ids.
    pub const fn holds_identifiers(self) -> bool {
        !self.is_gone()
    }

    /// Archived or erased: hidden from reads, never written to, merged with nobody.
    pub const fn is_gone(self) -> bool {
        matches!(self, Self::Archived | Self::Erased)
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown user status {0:?} (expected active, inactive, archived or erased)")]
pub struct UnknownStatus(pub String);

impl FromStr for UserStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            "archived" => Ok(Self::Archived),
            "erased" => Ok(Self::Erased),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// One person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub status: UserStatus,
    /// Set when SSO merged this person into another: readers are sent to the survivor.
    pub merged_into: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_text() {
        for s in [UserStatus::Active, UserStatus::Inactive, UserStatus::Archived, UserStatus::Erased] {
            assert_eq!(s.as_str().parse::<UserStatus>(), Ok(s));
        }
        assert!("deleted".parse::<UserStatus>().is_err());
    }

    #[test]
    fn only_archived_and_erased_users_release_identifiers() {
        assert!(UserStatus::Active.holds_identifiers());
        assert!(UserStatus::Inactive.holds_identifiers());
        assert!(!UserStatus::Archived.holds_identifiers());
        assert!(!UserStatus::Erased.holds_identifiers());
    }

    #[test]
    fn user_ids_are_random_and_parse_back() {
        let a = UserId::random();
        assert_ne!(a, UserId::random());
        assert_eq!(a.to_string().parse::<UserId>().ok(), Some(a));
        assert!("not-a-uuid".parse::<UserId>().is_err());
    }
}
