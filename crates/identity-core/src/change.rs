//! What the change log records about each write. Appended in the same transaction as the write,
//! so the log and the data never disagree; consumers replay it in `seq` order.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::profile::Field;
use crate::source::Source;
use crate::user::{UserId, UserStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A new user, with the first profile of a source.
    Created,
    /// A source's profile changed (the fields say which).
    ProfileUpdated,
    /// The user's status changed (active, inactive).
    StatusChanged,
    /// The user was archived: consumers should drop their copy.
    Archived,
    /// A source linked one of its ids to the user; no profile field changed.
    Linked,
    /// The user was merged into another (`survivor`), and is archived.
    Merged,
    /// A merge of the user into another (`survivor`) was undone: the user is back as it was.
    Unmerged,
    /// The user was erased on the person's request: consumers must delete every copy they hold.
    Erased,
}

impl ChangeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::ProfileUpdated => "profile_updated",
            Self::StatusChanged => "status_changed",
            Self::Archived => "archived",
            Self::Linked => "linked",
            Self::Merged => "merged",
            Self::Unmerged => "unmerged",
            Self::Erased => "erased",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown change kind {0:?}")]
pub struct UnknownChangeKind(pub String);

impl FromStr for ChangeKind {
    type Err = UnknownChangeKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Created,
            Self::ProfileUpdated,
            Self::StatusChanged,
            Self::Archived,
            Self::Linked,
            Self::Merged,
            Self::Unmerged,
            Self::Erased,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| UnknownChangeKind(s.to_owned()))
    }
}

/// What made a change: a source writing its profile of the user, or a reviewer merging people
/// (or undoing a merge), which writes no source's profile, an administrator erasing a person, or
/// a new precedence deriving the combined profile again. Stored as the source's name, `review`,
/// `erasure` or `precedence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Source(Source),
    Review,
    Erasure,
    Precedence,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Source(source) => source.fmt(f),
            Self::Review => f.write_str("review"),
            Self::Erasure => f.write_str("erasure"),
            Self::Precedence => f.write_str("precedence"),
        }
    }
}

impl FromStr for Origin {
    type Err = crate::source::SourceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "review" => Ok(Self::Review),
            "erasure" => Ok(Self::Erasure),
            "precedence" => Ok(Self::Precedence),
            _ => s.parse().map(Self::Source),
        }
    }
}

/// A change about to be appended: the store assigns `seq` and the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub user_id: UserId,
    pub source: Origin,
    /// Who made the write: a SCIM token's name, `import:<job id>`, an operator.
    pub actor: String,
    pub kind: ChangeKind,
    pub fields: Vec<Field>,
    /// The user's status after the change.
    pub status: UserStatus,
}

/// A change as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the feed: strictly increasing in the order changes became visible.
    pub seq: i64,
    pub user_id: UserId,
    pub source: Origin,
    pub actor: String,
    pub kind: ChangeKind,
    pub fields: Vec<Field>,
    pub status: UserStatus,
    /// For `merged` and `unmerged`: the person the user was merged into.
    pub survivor: Option<UserId>,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for k in [
            ChangeKind::Created,
            ChangeKind::ProfileUpdated,
            ChangeKind::StatusChanged,
            ChangeKind::Archived,
            ChangeKind::Linked,
            ChangeKind::Merged,
            ChangeKind::Unmerged,
            ChangeKind::Erased,
        ] {
            assert_eq!(k.as_str().parse::<ChangeKind>(), Ok(k));
        }
        assert!("deleted".parse::<ChangeKind>().is_err());
    }

    #[test]
    fn origins_round_trip_through_text() {
        for text in ["sso", "registry", "import:npq", "review", "erasure", "precedence"] {
            assert_eq!(text.parse::<Origin>().map(|o| o.to_string()).as_deref(), Ok(text));
        }
        assert!("admin".parse::<Origin>().is_err());
    }
}
