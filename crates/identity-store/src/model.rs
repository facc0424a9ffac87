//! The records the store takes and returns.

use chrono::{DateTime, Utc};
use identity_core::query::{Attr, Filter, SortOrder};
use identity_core::{CombinedProfile, Link, ProfileFields, Source, User, UserId, UserStatus};
use serde_json::Value;
use uuid::Uuid;

/// A user as SCIM sees it: the user's state and its `sso` profile.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoUser {
    pub id: UserId,
    pub status: UserStatus,
    /// SCIM `userName`: SSO's id for the person, unique case-insensitively among live users.
    pub user_name: String,
    /// The SCIM document as last written (without `id`, `meta` and `active`).
    pub attributes: Value,
    /// Bumped on every write, status changes included: SCIM's `meta.version` and ETag.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What SCIM writes for a user: the `sso` profile's fields, its document, and the status.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoUserWrite {
    pub user_name: String,
    pub fields: ProfileFields,
    pub attributes: Value,
    pub active: bool,
}

/// Who is writing, for the change log (`actor`): never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
}

/// A person as consumers read them.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub user: User,
    pub combined: CombinedProfile,
    /// Bumped whenever the combined profile or the status changes: the API's ETag.
    pub version: i64,
    pub links: Vec<Link>,
}

/// One source's profile as stored: the "why this value" view.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    pub source: Source,
    pub external_id: Option<String>,
    pub fields: ProfileFields,
    pub attributes: Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What kind of secret a credential is; each binary accepts only its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// A bearer token for sso-scim.
    ScimToken,
    /// A consumer's key for the api, with scopes.
    ApiKey,
    /// A bearer token for import-worker's upload routes.
    ImportToken,
}

impl CredentialKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ScimToken => "scim_token",
            Self::ApiKey => "api_key",
            Self::ImportToken => "import_token",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::ScimToken, Self::ApiKey, Self::ImportToken]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A stored credential: the secret itself is never kept, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: Uuid,
    pub kind: CredentialKind,
    pub name: String,
    pub secret_hash: Vec<u8>,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub use identity_core::RegistryRecord;

/// A page of results and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    /// Absent on the last page.
    pub next: Option<C>,
}

/// Keyset position in a listing ordered by id: the last id of the previous page.
pub type IdCursor = Uuid;

/// How a SCIM list pages: by index (RFC 7644) or by cursor (RFC 9865).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoPage {
    /// 1-based start index and page size.
    Index { start: u64, count: u64 },
    /// After the user with this id (from the start when `None`), ordered by id.
    Cursor { after: Option<Uuid>, count: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SsoQuery {
    pub filter: Option<Filter>,
    pub sort: Option<(Attr, SortOrder)>,
    pub page: SsoPage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SsoList {
    pub total: u64,
    pub users: Vec<SsoUser>,
    /// Cursor paging only: where the next page starts, absent on the last page.
    pub next_cursor: Option<Uuid>,
}

/// A listing of people, in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeopleQuery {
    pub status: Option<identity_core::UserStatus>,
    /// Only people whose combined profile or status changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
    /// Keyset cursor: the last id of the previous page.
    pub after: Option<Uuid>,
    pub limit: u32,
}
