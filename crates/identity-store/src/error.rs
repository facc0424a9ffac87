/// Which uniqueness rule a write ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uniqueness {
    /// Another live user holds this email address.
    Email,
    /// Another user is already linked to this (source, external id); for SSO, the `userName`.
    /// (The caller knows which source it wrote.)
    ExternalId,
    /// A live credential already has this name.
    CredentialName,
    /// The row already exists (an id chosen by the caller was reused).
    Id,
}

impl std::fmt::Display for Uniqueness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Email => f.write_str("email address is already held by another user"),
            Self::ExternalId => f.write_str("this external id is already linked to another user"),
            Self::CredentialName => f.write_str("a credential with this name already exists"),
            Self::Id => f.write_str("id already exists"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    AlreadyExists(Uniqueness),
    /// An optimistic write found a newer version than the caller read.
    #[error("version mismatch: the record is at version {current}")]
    VersionMismatch { current: i64 },
    /// The query asks for something the store cannot express (an operator on a column that has
    /// no such comparison).
    #[error("unsupported query: {0}")]
    Unsupported(String),
    #[error("bad database url: {0}")]
    Url(String),
    /// The database cannot be reached (connection refused, pool timed out): worth retrying.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A commit failed after the writes in it had succeeded (every write in it is undone).
    #[error("commit failed: {0}")]
    Commit(String),
    /// The database was busy (another writer held it past the wait): worth retrying. Like
    /// `Unavailable`, for errors shared by several writers committed together.
    #[error("database busy: {0}")]
    Busy(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not decode into its domain type: written by something other than
    /// this store, or by an older version with looser rules.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// A merge or its undo that the rules refuse (see `identity_core::merge`).
    #[error("{0}")]
    Refused(identity_core::merge::Refusal),
    /// A review decision that does not fit its item, or an item decided already.
    #[error("{0}")]
    Undecidable(identity_core::review::DecisionError),
    /// A new precedence version was set while an import chunk derived with the one before:
    /// nothing was committed, and the chunk is done again with the new one (`Session::commit`).
    #[error("the precedence changed during the write; try again")]
    PrecedenceChanged,
    /// A team write that the tree refuses (see `identity_core::team`).
    #[error("{0}")]
    TeamRefused(identity_core::team::TeamRefusal),
    /// A People Finder write about nobody it may write about.
    #[error("{0}")]
    PeopleFinderRefused(PeopleFinderRefusal),
}

/// Why People Finder's write about a person was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeopleFinderRefusal {
    /// Staff SSO knows nobody active by the id the write named.
    #[error("no active person has that SSO id")]
    NoActivePerson,
    /// No People Finder profile has the slug a replace named.
    #[error("no People Finder profile has that slug")]
    NoProfile,
    /// The profile a replace named belongs to another person than the SSO id names.
    #[error("the People Finder profile is someone else's")]
    SomeoneElses,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether trying again later may succeed (the database down, busy or out of connections,
    /// or precedence versions set faster than a write could take them up).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Busy(_) | Self::PrecedenceChanged)
    }

    /// Whether a statement failed because its connection is gone (closed, reset, ended by the
    /// server), as opposed to no connection being had at all.
    pub fn lost_connection(&self) -> bool {
        matches!(self, Self::Unavailable(e) if !matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed))
    }

    /// Whether the server itself said that it ended the session or cannot serve it (an
    /// administrator's `pg_terminate_backend`, a shutdown, a restart, no connection slots): the
    /// statement did not run to a commit, so even a write may be sent again on a new connection.
    pub fn server_ended_session(&self) -> bool {
        matches!(self, Self::Unavailable(sqlx::Error::Database(db)) if db.code().is_some_and(|c| ends_session(&c)))
    }
}

/// SQLSTATEs of a server that cannot go on with this session: class 08 (connection exception),
/// 57P (an administrator's, a crash's or a start-up's shutdown, a lost file, an idle session
/// timeout), 53300 (too many connections).
fn ends_session(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P") || code == "53300"
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e),
            sqlx::Error::Database(db) if db.code().is_some_and(|c| ends_session(&c)) => Self::Unavailable(e),
            // A deadlock, a serialization failure or a server out of lock space rolled the
            // transaction back: worth retrying.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| matches!(&*c, "40P01" | "40001" | "53200")) => {
                Self::Busy(db.message().to_owned())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                match uniqueness_of(db.constraint(), db.message()) {
                    Some(u) => Self::AlreadyExists(u),
                    None => Self::Database(e),
                }
            }
            _ => Self::Database(e),
        }
    }
}

/// Names the rule behind a unique violation. PostgreSQL reports the index name; SQLite only a
/// message naming the columns (`UNIQUE constraint failed: links.source, links.external_key`).
fn uniqueness_of(constraint: Option<&str>, message: &str) -> Option<Uniqueness> {
    let text = constraint.unwrap_or(message);
    if text.contains("combined_profiles_email_key") || text.contains("combined_profiles.email_key") {
        Some(Uniqueness::Email)
    } else if text.contains("credentials_live_name") || text.contains("credentials.kind, credentials.name") {
        Some(Uniqueness::CredentialName)
    } else if text.contains("links_pkey") || text.contains("links.source, links.external_key") {
        Some(Uniqueness::ExternalId)
    } else if text.contains("_pkey") || text.contains(".id") {
        Some(Uniqueness::Id)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_are_named_on_both_backends() {
        assert_eq!(uniqueness_of(Some("combined_profiles_email_key"), ""), Some(Uniqueness::Email));
        assert_eq!(
            uniqueness_of(None, "UNIQUE constraint failed: combined_profiles.email_key"),
            Some(Uniqueness::Email)
        );
        assert_eq!(uniqueness_of(Some("credentials_live_name"), ""), Some(Uniqueness::CredentialName));
        assert_eq!(
            uniqueness_of(None, "UNIQUE constraint failed: credentials.kind, credentials.name"),
            Some(Uniqueness::CredentialName)
        );
        assert_eq!(uniqueness_of(Some("links_pkey"), ""), Some(Uniqueness::ExternalId));
        assert_eq!(
            uniqueness_of(None, "UNIQUE constraint failed: links.source, links.external_key"),
            Some(Uniqueness::ExternalId)
        );
        assert_eq!(uniqueness_of(Some("users_pkey"), ""), Some(Uniqueness::Id));
        assert_eq!(uniqueness_of(None, "something else"), None);
    }
}
