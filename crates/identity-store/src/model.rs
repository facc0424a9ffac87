//! The records the store takes and returns.

use chrono::{DateTime, Utc};
use identity_core::query::{Attr, Filter, SortOrder};
use identity_core::{CombinedProfile, Email, Link, ProfileFields, Source, User, UserId, UserStatus};
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

/// What Staff SSO reads when someone signs in: an active user's SSO id and combined names and
/// address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInProfile {
    pub user: UserId,
    /// The `sso` profile's external id: SCIM's `userName`, SSO's id for the person.
    pub sso_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The combined profile's primary address.
    pub email: Option<Email>,
    /// The combined contact address (People Finder's, by the shipped precedence).
    pub contact_email: Option<Email>,
    /// Every address of the combined `emails` list besides `email`, in its order.
    pub other_emails: Vec<Email>,
}

/// A person erased (DESIGN.md §7.9): who erased them, when and why, and every record erased with
/// them (the person and the people merged into it). Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// The person as a whole: the survivor of their merges.
    pub person: UserId,
    /// Every user erased, `person` among them.
    pub people: Vec<UserId>,
    pub by: String,
    pub at: DateTime<Utc>,
    pub reason: String,
    /// False when the person was erased before: nothing was done this time.
    pub erased_now: bool,
}

/// A person's source profiles as derivation ranks them: its own, then those of the people merged
/// into it (with whose each is), the person merged last first.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedProfiles {
    pub own: Vec<StoredProfile>,
    pub absorbed: Vec<(UserId, StoredProfile)>,
}

/// One chunk of the retention sweep over import rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweptRows {
    /// Rows whose raw data, service id, problem and notes were removed.
    pub rows: u64,
    /// Whether that was the job's last chunk.
    pub job_done: bool,
}

/// A version of the precedence (DESIGN.md §7.2). Version 0 is the one the project ships, in
/// force until the first `admin precedence set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecedenceVersion {
    pub version: i64,
    pub precedence: identity_core::precedence::Precedence,
    /// Who stored it and when; none for version 0.
    pub set_by: Option<String>,
    pub set_at: Option<DateTime<Utc>>,
}

/// What one step of the re-derivation after a new precedence did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rederived {
    /// Every combined profile is derived with the version in force.
    UpToDate { version: i64 },
    /// A chunk of people was derived again with `version`.
    Chunk(RederivedChunk),
    /// A new version whose pass begins at `at`, once no writer can still be deriving with the
    /// version before.
    Settling { version: i64, at: DateTime<Utc> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RederivedChunk {
    pub version: i64,
    /// People looked at.
    pub people: u64,
    /// People whose combined profile changed (each with one change appended).
    pub changed: u64,
    /// People whose new combined profile would take an address someone else holds: kept as
    /// they were.
    pub held_back: u64,
}

/// A merge to make: `merged` into `survivor`, and why (shown in the person's history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMerge {
    pub survivor: UserId,
    pub merged: UserId,
    pub reason: String,
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
    /// When the combined profile (or the status) last changed.
    pub profile_updated_at: Option<DateTime<Utc>>,
    pub links: Vec<Link>,
}

impl From<&StoredProfile> for identity_core::SourceProfile {
    fn from(p: &StoredProfile) -> Self {
        Self { source: p.source.clone(), fields: p.fields.clone(), updated_at: p.updated_at }
    }
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

/// The person a source's id is linked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkHolder {
    pub user: UserId,
    pub status: UserStatus,
    /// The id as the source spelled it.
    pub external_id: String,
}

/// What People Finder writes about a person: the profile fields identity derives from, and People
/// Finder's own document, kept whole to answer its reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeopleFinderWrite {
    pub fields: ProfileFields,
    pub document: Value,
}

/// A reference list that is the department's data, loaded from its datasets (DESIGN.md §7.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceList {
    Countries,
    UkStaffLocations,
}

impl ReferenceList {
    pub const ALL: [Self; 2] = [Self::Countries, Self::UkStaffLocations];

    /// Its name in People Finder's route (`/reference/countries`) and in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Countries => "countries",
            Self::UkStaffLocations => "uk_staff_locations",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// A People Finder profile as written, with the id of its person as Staff SSO spelled it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeopleFinderWritten {
    pub profile: StoredProfile,
    pub sso_id: String,
}

/// What a team update changes: each field given is set (an inner `None` clears a field that may
/// be empty); a field not given keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamUpdate {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub abbreviation: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub cost_code: Option<Option<String>>,
    pub leaders_ordering: Option<identity_core::team::LeadersOrdering>,
    pub team_type: Option<identity_core::team::TeamType>,
    pub parent: Option<String>,
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
    /// A bearer token for admin's JSON API, with one role as its scope.
    AdminToken,
    /// A bearer token for sso-profile, for callers that do not sign with Hawk.
    SsoProfileToken,
    /// A bearer token for peoplefinder, for callers that do not sign with Hawk.
    PeopleFinderToken,
}

impl CredentialKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ScimToken => "scim_token",
            Self::ApiKey => "api_key",
            Self::ImportToken => "import_token",
            Self::AdminToken => "admin_token",
            Self::SsoProfileToken => "sso_profile_token",
            Self::PeopleFinderToken => "peoplefinder_token",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::ScimToken,
            Self::ApiKey,
            Self::ImportToken,
            Self::AdminToken,
            Self::SsoProfileToken,
            Self::PeopleFinderToken,
        ]
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
    /// Only people with this status; `None` lists everyone but the archived.
    pub status: Option<identity_core::UserStatus>,
    /// Only people whose combined profile or status changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
    /// Keyset cursor: the last id of the previous page.
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// Where an import job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportJobStatus {
    /// The upload is still being stored; not yet visible to workers.
    Receiving,
    Queued,
    Running,
    Done,
    Failed,
}

impl ImportJobStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Receiving => "receiving",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Receiving, Self::Queued, Self::Running, Self::Done, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Rows per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub none: i64,
    pub added: i64,
    pub updated: i64,
    pub invalid: i64,
}

impl OutcomeCounts {
    pub fn add(&mut self, outcome: identity_core::import::Outcome) {
        use identity_core::import::Outcome;
        match outcome {
            Outcome::None => self.none += 1,
            Outcome::UserAdded => self.added += 1,
            Outcome::UserUpdated => self.updated += 1,
            Outcome::Invalid => self.invalid += 1,
        }
    }

    pub fn total(&self) -> i64 {
        self.none + self.added + self.updated + self.invalid
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImportJob {
    pub service: identity_core::ServiceName,
    pub file_name: String,
    pub submitted_by: String,
    pub dry_run: bool,
    /// The file's header line, so stored rows can be read in its column order.
    pub columns: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJob {
    pub id: Uuid,
    pub service: identity_core::ServiceName,
    pub file_name: String,
    pub submitted_by: String,
    pub dry_run: bool,
    pub status: ImportJobStatus,
    pub columns: String,
    pub rows_total: i64,
    /// Rows whose results are committed: the checkpoint a resumed job starts after.
    pub rows_done: i64,
    pub counts: OutcomeCounts,
    pub error: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the retention sweep began removing its rows' raw data, service ids and notes (in
    /// the transaction of its first chunk): from then it cannot be resumed.
    pub data_removed_at: Option<DateTime<Utc>>,
}

/// A record of an uploaded file, stored before processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImportRow {
    pub row_number: i64,
    /// The row's ID field, when it could be read.
    pub source_id: String,
    pub raw_data: String,
    /// Why the record cannot be read as eight fields, if so (its only note).
    pub problem: Option<String>,
}

/// A stored row, for processing or for the result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub row_number: i64,
    pub source_id: String,
    pub raw_data: String,
    pub problem: Option<String>,
    pub outcome: Option<identity_core::import::Outcome>,
    pub notes: Option<String>,
    pub user_id: Option<UserId>,
}

/// An import row that named a person, with its job and service: part of the person's export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRowNaming {
    pub job_id: Uuid,
    pub service: String,
    pub row: ImportRow,
}

/// A processed row's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRowResult {
    pub row_number: i64,
    pub outcome: identity_core::import::Outcome,
    pub notes: String,
    pub user_id: Option<UserId>,
}

/// What the store knows that bears on a chunk of rows: the facts of the flowchart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactQuery {
    /// Email keys (lower-cased).
    pub emails: Vec<String>,
    pub trns: Vec<String>,
    /// (last name key, date of birth).
    pub names: Vec<(String, chrono::NaiveDate)>,
    /// The service's IDs.
    pub ids: Vec<String>,
}

impl FactQuery {
    /// Whether the two ask about one identifier: a chunk that wrote one of `other`'s (a person
    /// it added, linked or gave a TRN) changed the facts `other` reads. Each list is sorted and
    /// without repeats, as the engine builds them.
    pub fn shares_a_key(&self, other: &Self) -> bool {
        fn meet<T: Ord>(a: &[T], b: &[T]) -> bool {
            let (mut i, mut j) = (0, 0);
            while i < a.len() && j < b.len() {
                match a[i].cmp(&b[j]) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => return true,
                }
            }
            false
        }
        meet(&self.emails, &other.emails)
            || meet(&self.trns, &other.trns)
            || meet(&self.names, &other.names)
            || meet(&self.ids, &other.ids)
    }
}

/// A place in the change log, for telling whether anything was committed between two moments
/// (`ImportSession::began_at`, `ImportSession::commit_marked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedMark(pub(crate) i64);

/// A chunk's facts read ahead of its session (`Store::facts_ahead`), what they are about, and
/// when they were read.
#[derive(Debug, Clone)]
pub struct FactsAhead {
    pub facts: ChunkFacts,
    pub query: FactQuery,
    pub read_at: FeedMark,
}

/// What a committed chunk did, as far as facts read meanwhile for the next one go.
#[derive(Debug, Clone)]
pub struct CommittedChunk {
    pub began: FeedMark,
    pub ended: FeedMark,
    pub query: FactQuery,
    /// It gave existing people other names or another date of birth: the keys they left are
    /// not in its query.
    pub moves_people: bool,
}

impl FactsAhead {
    /// The facts, if they are what a session that began at `began` would read itself: nothing
    /// was committed since they were read, or only `last`, which began when they were read and
    /// wrote none of the identifiers they are about (the rule PostgreSQL's claims enforce).
    pub fn still_true(self, began: Option<FeedMark>, last: Option<&CommittedChunk>) -> Option<ChunkFacts> {
        let began = began?;
        let unchanged = self.read_at == began;
        let only_last = last.is_some_and(|l| {
            l.began == self.read_at && l.ended == began && !l.moves_people && !l.query.shares_a_key(&self.query)
        });
        (unchanged || only_last).then_some(self.facts)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkFacts {
    pub by_email: std::collections::HashMap<String, identity_core::import::ExistingUser>,
    pub trn_holders: std::collections::HashMap<String, UserId>,
    pub candidates: std::collections::HashMap<(String, chrono::NaiveDate), Vec<identity_core::import::Candidate>>,
    pub links: std::collections::HashMap<String, UserId>,
}

/// A user an import row creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUser {
    pub id: UserId,
    /// The row's ID: linked as (import:<service>, ID).
    pub external_id: String,
    pub import: ProfileFields,
    /// With a TRN: the registry's record, stored as the `registry` profile and linked by TRN.
    pub registry: Option<RegistryRecord>,
}

/// An existing user an import row gives a TRN ("Updated TRN and name for existing user").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrnUpdate {
    pub user_id: UserId,
    pub external_id: String,
    pub import: ProfileFields,
    pub registry: RegistryRecord,
}

/// Everything a chunk of rows writes. Each person appears at most once (a new user, or one TRN
/// update): the batched upserts touch a row once per statement (PostgreSQL refuses more).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportWrites {
    pub service: identity_core::ServiceName,
    /// For the change log: `import:<job id>` or `import-cli`.
    pub actor: String,
    pub new_users: Vec<ImportedUser>,
    pub trn_updates: Vec<TrnUpdate>,
    /// (ID, user) links for rows that matched an existing user.
    pub links: Vec<(String, UserId)>,
    /// Rows the seed's rules send to manual review, as review items (one open item per row).
    pub reviews: Vec<NewImportReview>,
}

/// An import row for the review queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImportReview {
    pub external_id: String,
    pub row: i64,
    /// The upload's job; none for a command-line import.
    pub job: Option<Uuid>,
    /// The import profile the row would write.
    pub fields: ProfileFields,
    pub candidates: Vec<identity_core::review::ReviewCandidate>,
}

/// Two people the matcher found alike, for the review queue (stored lower id first).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPeopleReview {
    pub a: UserId,
    pub b: UserId,
    pub score: f64,
    pub reasons: Vec<identity_core::matcher::Reason>,
}

/// What a review item is about.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewSubject {
    Person(UserId),
    Import { subject: identity_core::review::ImportSubject, fields: Box<ProfileFields> },
}

/// A review item as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewItem {
    pub id: Uuid,
    pub kind: identity_core::review::Kind,
    pub subject: ReviewSubject,
    pub candidates: Vec<identity_core::review::ReviewCandidate>,
    pub created_at: DateTime<Utc>,
    /// None while the item is open.
    pub decided: Option<ReviewDecided>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewDecided {
    pub decision: identity_core::review::Decision,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A page of the queue: oldest first, after the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewQuery {
    /// Open (`false`: decided) items only.
    pub open: bool,
    pub kind: Option<identity_core::review::Kind>,
    pub service: Option<identity_core::ServiceName>,
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// A chunk's results and the job's new checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkResults {
    pub job_id: Uuid,
    /// The worker that holds the job's claim; the write fails if another worker took it over.
    pub worker: String,
    pub results: Vec<ImportRowResult>,
    pub counts: OutcomeCounts,
    /// The checkpoint the chunk starts from: the write fails (as with a lost claim) unless the
    /// job is still there, so a chunk retried after a commit whose answer was lost, and that had
    /// gone through, is not recorded twice.
    pub after: i64,
    pub rows_done: i64,
    /// The claim is extended to here.
    pub lease_until: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(emails: &[&str], names: &[(&str, u32)], ids: &[&str]) -> FactQuery {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(1990, 1, d).unwrap_or_default();
        FactQuery {
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            trns: Vec::new(),
            names: names.iter().map(|(n, d)| ((*n).to_owned(), day(*d))).collect(),
            ids: ids.iter().map(|i| (*i).to_owned()).collect(),
        }
    }

    #[test]
    fn queries_share_a_key_when_any_list_meets() {
        let a = query(&["a@x", "c@x"], &[("lee", 1)], &["1", "3"]);
        assert!(!a.shares_a_key(&query(&["b@x", "d@x"], &[("lee", 2)], &["2"])));
        assert!(a.shares_a_key(&query(&["b@x", "c@x"], &[], &[])), "an email");
        assert!(a.shares_a_key(&query(&[], &[("lee", 1)], &[])), "a name with its date of birth");
        assert!(a.shares_a_key(&query(&[], &[], &["0", "3"])), "a service ID");
        let mut trn = FactQuery::default();
        trn.trns.push("2000001".into());
        assert!(trn.shares_a_key(&trn.clone()), "a TRN");
        assert!(!a.shares_a_key(&FactQuery::default()));
    }

    #[test]
    fn facts_read_ahead_hold_only_if_nothing_that_bears_on_them_was_committed() {
        let mine = query(&["a@x"], &[("lee", 1)], &["1"]);
        let ahead = |at: i64| FactsAhead { facts: ChunkFacts::default(), query: mine.clone(), read_at: FeedMark(at) };
        let last = |began: i64, ended: i64, query: FactQuery, moves_people: bool| CommittedChunk {
            began: FeedMark(began),
            ended: FeedMark(ended),
            query,
            moves_people,
        };
        let other = query(&["b@x"], &[("lee", 2)], &["2"]);
        // Nothing committed since the read.
        assert!(ahead(7).still_true(Some(FeedMark(7)), None).is_some());
        // Something committed, and no chunk of ours to account for it.
        assert!(ahead(7).still_true(Some(FeedMark(9)), None).is_none());
        // Only the chunk before, begun when they were read, about other people.
        assert!(ahead(7).still_true(Some(FeedMark(9)), Some(&last(7, 9, other.clone(), false))).is_some());
        // ... but it wrote one of their identifiers,
        let shared = query(&["b@x"], &[("lee", 1)], &[]);
        assert!(ahead(7).still_true(Some(FeedMark(9)), Some(&last(7, 9, shared, false))).is_none());
        // ... or moved people to keys nobody asked about,
        assert!(ahead(7).still_true(Some(FeedMark(9)), Some(&last(7, 9, other.clone(), true))).is_none());
        // ... or someone else committed before it began, or after it ended.
        assert!(ahead(6).still_true(Some(FeedMark(9)), Some(&last(7, 9, other.clone(), false))).is_none());
        assert!(ahead(7).still_true(Some(FeedMark(10)), Some(&last(7, 9, other, false))).is_none());
        // Where sessions overlap there are no marks: never.
        assert!(ahead(7).still_true(None, None).is_none());
    }
}
