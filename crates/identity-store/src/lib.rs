#![doc = include_str!("../README.md")]

mod columns;
mod dialect;
pub mod error;
mod migrations;
pub mod model;
mod postgres;
mod sqlite;
pub mod testing;

use std::time::Duration;

use identity_core::change::Change;

use identity_core::{Source, Trn, UserId};
use uuid::Uuid;

pub use error::{PeopleFinderRefusal, Result, StoreError, Uniqueness};
pub use model::*;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// Picks the backend from a database URL: `postgres://` / `postgresql://` or `sqlite:`.
    pub fn of_url(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(StoreError::Url("expected a postgres://… or sqlite:… URL".into()))
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// Connection pool settings.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Connections for reads and single statements; `None` picks the backend's best on two cores: 8 on PostgreSQL, 4
    /// on SQLite (each SQLite connection is a thread, and more of them only contend for the
    /// cores: the floor's pool sweep found 4, and sso-scim's GET by id measured 16k req/s with
    /// 4 against 11k with 8). Transactions have a pool of their own: as many connections again
    /// on PostgreSQL, one on SQLite (it has one writer at a time).
    pub max_connections: Option<u32>,
    /// How long a request waits for a connection before the store reports `Unavailable`.
    pub acquire_timeout: Duration,
    /// Shown in PostgreSQL's `pg_stat_activity`.
    pub application_name: String,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self { max_connections: None, acquire_timeout: Duration::from_secs(5), application_name: "identity".into() }
    }
}

#[derive(Clone)]
enum Inner {
    Postgres(postgres::Backend),
    Sqlite(sqlite::Backend),
}

/// identity's storage. Cheap to clone (pools are shared).
#[derive(Clone)]
pub struct Store {
    inner: Inner,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// Calls the same method on whichever backend was chosen at start-up.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.inner {
            Inner::Postgres(b) => b.$method($($arg),*).await,
            Inner::Sqlite(b) => b.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens a store for a database URL without touching the database, so a service can start
    /// (and report not ready) while its database is down. Call [`Store::migrate`] next.
    pub fn connect(url: &str, config: &PoolConfig) -> Result<Self> {
        let backend = Backend::of_url(url)?;
        let inner = match backend {
            Backend::Postgres => Inner::Postgres(postgres::connect(url, config)?),
            Backend::Sqlite => Inner::Sqlite(sqlite::connect(url, config)?),
        };
        Ok(Self { inner, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations (embedded in the binary). Safe to run from several processes
    /// at once: PostgreSQL serialises them with an advisory lock.
    pub async fn migrate(&self) -> Result<()> {
        dispatch!(self.migrate())
    }

    /// Succeeds when the database answers.
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self.ping())
    }

    pub async fn close(&self) {
        dispatch!(self.close())
    }

    // --- SCIM (sso source) ---

    /// Creates a user with its `sso` profile and link, in one transaction.
    pub async fn sso_create(&self, write: &SsoUserWrite, actor: &Actor) -> Result<SsoUser> {
        dispatch!(self.sso_create(write, actor))
    }

    /// A live (not archived) user with an `sso` profile.
    pub async fn sso_get(&self, id: UserId) -> Result<SsoUser> {
        dispatch!(self.sso_get(id))
    }

    /// Replaces the `sso` profile and status; `if_version` makes it conditional.
    pub async fn sso_replace(
        &self,
        id: UserId,
        write: &SsoUserWrite,
        if_version: Option<i64>,
        actor: &Actor,
    ) -> Result<SsoUser> {
        dispatch!(self.sso_replace(id, write, if_version, actor))
    }

    /// Archives a user; a second call answers `NotFound`.
    pub async fn sso_archive(&self, id: UserId, if_version: Option<i64>, actor: &Actor) -> Result<()> {
        dispatch!(self.sso_archive(id, if_version, actor))
    }

    pub async fn sso_list(&self, query: &SsoQuery) -> Result<SsoList> {
        dispatch!(self.sso_list(query))
    }

    // --- People Finder (peoplefinder source) ---

    /// Writes the People Finder profile of the active person Staff SSO knows as `sso_id` under
    /// `slug`, new (`create`) or replaced whole: `PeopleFinderRefused` when nobody active has
    /// that SSO id or (a replace) `slug` is not their profile's; `AlreadyExists(ExternalId)`
    /// when (a create) the slug is taken or they have one already.
    pub async fn peoplefinder_put(
        &self,
        sso_id: &str,
        slug: &str,
        write: &PeopleFinderWrite,
        create: bool,
        actor: &Actor,
    ) -> Result<PeopleFinderWritten> {
        dispatch!(self.peoplefinder_put(sso_id, slug, write, create, actor))
    }

    /// Every People Finder team (the root's `parent` is none).
    pub async fn teams(&self) -> Result<Vec<identity_core::team::Team>> {
        dispatch!(self.teams())
    }

    /// Adds a team under its parent: `TeamRefused` when the parent is unknown or the slug taken.
    pub async fn team_create(&self, team: &identity_core::team::Team) -> Result<()> {
        dispatch!(self.team_create(team))
    }

    /// Changes the team `slug` names; `TeamRefused` when the parent or the team is unknown, the
    /// move would break the tree, or no free slug can be made. Answers the team as it now is.
    pub async fn team_update(&self, slug: &str, update: &TeamUpdate) -> Result<identity_core::team::Team> {
        dispatch!(self.team_update(slug, update))
    }

    // --- The review queue (admin) ---

    /// Queues the matcher's pairs, except those with an open item or decided different; returns
    /// how many were queued.
    pub async fn review_add_people(&self, pairs: &[NewPeopleReview]) -> Result<u64> {
        dispatch!(self.review_add_people(pairs))
    }

    pub async fn review_get(&self, id: Uuid) -> Result<ReviewItem> {
        dispatch!(self.review_get(id))
    }

    /// A page of the queue, oldest first.
    pub async fn review_list(&self, query: &ReviewQuery) -> Result<Page<ReviewItem, Uuid>> {
        dispatch!(self.review_list(query))
    }

    /// Decides an open item and carries the decision out (a merge, a link, a new person, a pair
    /// remembered as different), all or nothing; `Undecidable` if it does not fit or the item
    /// is decided already.
    pub async fn review_decide(
        &self,
        id: Uuid,
        decision: identity_core::review::Decision,
        actor: &Actor,
    ) -> Result<ReviewItem> {
        dispatch!(self.review_decide(id, decision, actor))
    }

    // --- The matcher's feed follower (admin) ---

    /// Takes or renews the follower's lease for `holder`; the feed position to go on from, or
    /// `None` while another holder's lease runs.
    pub async fn matcher_lease(&self, holder: &str, until: chrono::DateTime<chrono::Utc>) -> Result<Option<i64>> {
        dispatch!(self.matcher_lease(holder, until))
    }

    /// Live people sharing any of `keys` (the matcher's blocking keys) that at most
    /// `max_per_key` people hold, but for `except`.
    pub async fn match_candidates(&self, keys: &[String], max_per_key: u32, except: &[UserId]) -> Result<Vec<Person>> {
        dispatch!(self.match_candidates(keys, max_per_key, except))
    }

    /// These people as they are now, whatever their status.
    pub async fn people_of(&self, ids: &[UserId]) -> Result<Vec<Person>> {
        dispatch!(self.people_of(ids))
    }

    /// Moves the follower from `from` to `to` with the keys and pairs it found, all or nothing;
    /// `NotFound` when `holder` lost the lease. Returns how many pairs were queued.
    pub async fn matcher_advance(
        &self,
        holder: &str,
        from: i64,
        to: i64,
        keys: &[(UserId, Vec<String>)],
        pairs: &[NewPeopleReview],
    ) -> Result<u64> {
        dispatch!(self.matcher_advance(holder, from, to, keys, pairs))
    }

    // --- Retention (import-worker's sweep) ---

    /// Takes or renews the retention sweep's lease for `holder`; false while another holder's
    /// lease runs.
    pub async fn retention_lease(&self, holder: &str, until: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        dispatch!(self.retention_lease(holder, until))
    }

    /// Gives the sweep's lease up.
    pub async fn retention_release(&self, holder: &str) -> Result<()> {
        dispatch!(self.retention_release(holder))
    }

    /// The precedence in force (version 0: the one the project ships), as this process read it
    /// at most a second ago: every write derives with it.
    pub async fn precedence(&self) -> Result<std::sync::Arc<PrecedenceVersion>> {
        dispatch!(self.precedence())
    }

    /// Stores `precedence` as the next version, by `by`. Writers take it up within a second;
    /// [`Store::rederive_step`] derives everyone again with it.
    pub async fn precedence_set(
        &self,
        precedence: &identity_core::precedence::Precedence,
        by: &str,
    ) -> Result<PrecedenceVersion> {
        dispatch!(self.precedence_set(precedence, by))
    }

    /// Takes or renews the re-derivation's lease for `holder`; false while another holder's
    /// lease runs.
    pub async fn rederive_lease(&self, holder: &str, until: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        dispatch!(self.rederive_lease(holder, until))
    }

    /// Gives the re-derivation's lease up.
    pub async fn rederive_release(&self, holder: &str) -> Result<()> {
        dispatch!(self.rederive_release(holder))
    }

    /// One chunk of the re-derivation after a new precedence (up to `limit` people, one
    /// transaction), renewing the lease until `until`; `NotFound` when `holder` lost the lease.
    pub async fn rederive_step(
        &self,
        holder: &str,
        limit: u32,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Rederived> {
        dispatch!(self.rederive_step(holder, limit, until))
    }

    /// One chunk of the sweep over import rows of jobs finished before `cutoff`, renewing the
    /// lease until `until`; `None` when none is left, `NotFound` when `holder` lost the lease.
    pub async fn retention_import_rows(
        &self,
        holder: &str,
        cutoff: chrono::DateTime<chrono::Utc>,
        limit: u32,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<SweptRows>> {
        dispatch!(self.retention_import_rows(holder, cutoff, limit, until))
    }

    /// One batch of the sweep over people archived before `cutoff`: how many had their history's
    /// values removed, `None` when none is left, `NotFound` when `holder` lost the lease.
    pub async fn retention_archived(
        &self,
        holder: &str,
        cutoff: chrono::DateTime<chrono::Utc>,
        limit: u32,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<u64>> {
        dispatch!(self.retention_archived(holder, cutoff, limit, until))
    }

    // --- Merges (admin) ---

    /// Merges `new.merged` into `new.survivor` (see `identity_core::merge`); `Refused` when the
    /// rules forbid it, `NotFound` when either person does not exist.
    pub async fn merge(&self, new: &NewMerge, actor: &Actor) -> Result<identity_core::merge::Merge> {
        dispatch!(self.merge(new, actor))
    }

    /// Puts both people of a merge back exactly as they were before it, or `Refused` with the
    /// reason it no longer can.
    pub async fn undo_merge(&self, id: Uuid, actor: &Actor) -> Result<identity_core::merge::Merge> {
        dispatch!(self.undo_merge(id, actor))
    }

    pub async fn merge_get(&self, id: Uuid) -> Result<identity_core::merge::Merge> {
        dispatch!(self.merge_get(id))
    }

    /// The merges a person took part in, on either side, newest first.
    pub async fn merges_of(&self, person: UserId) -> Result<Vec<identity_core::merge::Merge>> {
        dispatch!(self.merges_of(person))
    }

    // --- People (the api) ---

    /// A person, whatever its status (the caller decides what an archived user shows).
    pub async fn person(&self, id: UserId) -> Result<Person> {
        dispatch!(self.person(id))
    }

    pub async fn person_by_email(&self, email: &str) -> Result<Option<Person>> {
        let key = identity_core::normalize::email_key(email);
        dispatch!(self.person_by_email(&key))
    }

    pub async fn person_by_link(&self, source: &Source, external_id: &str) -> Result<Option<Person>> {
        dispatch!(self.person_by_link(source, external_id))
    }

    /// Who holds a source's id, without their profile.
    pub async fn link_holder(&self, source: &Source, external_id: &str) -> Result<Option<LinkHolder>> {
        dispatch!(self.link_holder(source, external_id))
    }

    pub async fn person_by_trn(&self, trn: &Trn) -> Result<Option<Person>> {
        dispatch!(self.person_by_link(&Source::Registry, trn.as_str()))
    }

    pub async fn list_people(&self, query: &PeopleQuery) -> Result<Page<Person, Uuid>> {
        dispatch!(self.list_people(query))
    }

    /// Every source profile of a user, as stored.
    pub async fn profiles(&self, id: UserId) -> Result<Vec<StoredProfile>> {
        dispatch!(self.profiles(id))
    }

    /// A person's own profiles and the merged people's, ranked as derivation ranks them.
    pub async fn ranked_profiles(&self, id: UserId) -> Result<RankedProfiles> {
        dispatch!(self.ranked_profiles(id))
    }

    /// The profiles of the people merged into `id`, each with its person.
    pub async fn merged_profiles(&self, id: UserId) -> Result<Vec<(UserId, StoredProfile)>> {
        dispatch!(self.merged_profiles(id))
    }

    // --- Personal data ---

    /// Erases a person and everyone merged into it (a merged person's id erases its survivor's
    /// group) in one transaction; a person erased already answers its recorded erasure with
    /// `erased_now: false`. `NotFound` for an unknown id.
    pub async fn erase(&self, id: UserId, reason: &str, actor: &Actor) -> Result<Erasure> {
        dispatch!(self.erase(id, reason, actor))
    }

    /// The erasure that erased `id`, or `None` if it was not erased.
    pub async fn erasure_of(&self, id: UserId) -> Result<Option<Erasure>> {
        dispatch!(self.erasure_of(id))
    }

    /// Every review item naming the person (subject, candidate, or the person decided for).
    pub async fn reviews_naming(&self, id: UserId) -> Result<Vec<ReviewItem>> {
        dispatch!(self.reviews_naming(id))
    }

    /// A page of the import rows whose result named the person, after `after` (job, row).
    pub async fn import_rows_naming(
        &self,
        id: UserId,
        after: Option<(Uuid, i64)>,
        limit: u32,
    ) -> Result<Vec<ImportRowNaming>> {
        dispatch!(self.import_rows_naming(id, after, limit))
    }

    // --- The sign-in profile (sso-profile) ---

    /// The sign-in profiles of up to `limit` active SSO users after `after`, in id order, and
    /// where the next page starts (`None` after the last).
    pub async fn sign_ins_page(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<(Vec<SignInProfile>, Option<UserId>)> {
        dispatch!(self.sign_ins_page(after, limit))
    }

    /// How many users have an `sso` profile, active or not.
    pub async fn sso_profiles_count(&self) -> Result<i64> {
        dispatch!(self.sso_profiles_count())
    }

    /// The sign-in profiles of those of `ids` that are active SSO users now.
    pub async fn sign_ins_of(&self, ids: &[UserId]) -> Result<Vec<SignInProfile>> {
        dispatch!(self.sign_ins_of(ids))
    }

    // --- The change feed ---

    /// The last numbered change's `seq`, 0 for an empty feed.
    pub async fn changes_end(&self) -> Result<i64> {
        dispatch!(self.changes_end())
    }

    pub async fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<Change>> {
        dispatch!(self.changes_after(after, limit))
    }

    /// A page of one person's numbered changes, oldest first, after row id `after`; each with
    /// its row id, the next page's `after`.
    pub async fn changes_written(&self, user: UserId, after: Option<i64>, limit: u32) -> Result<Vec<(i64, Change)>> {
        dispatch!(self.changes_written(user, after, limit))
    }

    /// One person's changes numbered before `before` (all, without it), newest first.
    pub async fn changes_of(&self, user: UserId, before: Option<i64>, limit: u32) -> Result<Vec<Change>> {
        dispatch!(self.changes_of(user, before, limit))
    }

    /// Numbers newly visible changes. The writers (sso-scim, import-worker) run it in the
    /// background every few hundred milliseconds; the change feed shows what it has numbered.
    pub async fn sequence_changes(&self) -> Result<u64> {
        dispatch!(self.sequence_changes())
    }

    // --- Credentials ---

    /// Stores a credential under an id the caller chose (it is part of the secret handed out).
    pub async fn credential_create_with_id(
        &self,
        id: Uuid,
        kind: CredentialKind,
        name: &str,
        secret_hash: &[u8],
        scopes: &[String],
    ) -> Result<Credential> {
        dispatch!(self.credential_create(id, kind, name, secret_hash, scopes))
    }

    pub async fn credentials(&self, kind: CredentialKind) -> Result<Vec<Credential>> {
        dispatch!(self.credentials(kind))
    }

    pub async fn live_credential(&self, kind: CredentialKind, id: Uuid) -> Result<Option<Credential>> {
        dispatch!(self.live_credential(kind, id))
    }

    pub async fn credential_revoke(&self, kind: CredentialKind, name: &str) -> Result<()> {
        dispatch!(self.credential_revoke(kind, name))
    }

    /// Records a Hawk request's (key id, nonce, timestamp); `false` if any process on this
    /// database recorded it before: the request is a replay.
    pub async fn hawk_nonce_first_use(&self, key_id: &str, nonce: &str, ts: i64) -> Result<bool> {
        dispatch!(self.hawk_nonce_first_use(key_id, nonce, ts))
    }

    /// Forgets Hawk nonces whose timestamp (seconds since the epoch) is before `before`;
    /// returns how many.
    pub async fn hawk_nonces_sweep(&self, before: i64) -> Result<u64> {
        dispatch!(self.hawk_nonces_sweep(before))
    }

    // --- Reference lists that are the department's data ---

    /// Replaces a reference list with `entries` (key and entry, in order), all or nothing.
    pub async fn reference_replace(&self, list: ReferenceList, entries: &[(String, serde_json::Value)]) -> Result<u64> {
        dispatch!(self.reference_replace(list, entries))
    }

    /// A reference list's entries in order; empty until one is loaded.
    pub async fn reference_entries(&self, list: ReferenceList) -> Result<Vec<serde_json::Value>> {
        dispatch!(self.reference_entries(list))
    }

    // --- The embedded registry ---

    pub async fn registry_put(&self, records: &[RegistryRecord]) -> Result<u64> {
        dispatch!(self.registry_put(records))
    }

    pub async fn registry_get(&self, trns: &[Trn]) -> Result<Vec<RegistryRecord>> {
        dispatch!(self.registry_get(trns))
    }

    // --- Imports ---

    /// Records a new job, receiving its upload.
    pub async fn import_job_create(&self, new: &NewImportJob) -> Result<ImportJob> {
        dispatch!(self.import_job_create(new))
    }

    /// Stores uploaded records of a receiving job.
    pub async fn import_rows_append(&self, job_id: Uuid, rows: &[NewImportRow]) -> Result<()> {
        dispatch!(self.import_rows_append(job_id, rows))
    }

    /// Ends an upload: the job is queued for the workers.
    pub async fn import_job_queue(&self, job_id: Uuid, rows_total: i64) -> Result<ImportJob> {
        dispatch!(self.import_job_queue(job_id, rows_total))
    }

    /// Puts a failed job back in the queue, to resume after its checkpoint; `NotFound` unless
    /// the job failed.
    pub async fn import_job_resume(&self, job_id: Uuid) -> Result<ImportJob> {
        dispatch!(self.import_job_resume(job_id))
    }

    /// Forgets a claimed job's progress (a dry run starting over).
    pub async fn import_job_restart(&self, job_id: Uuid, worker: &str) -> Result<()> {
        dispatch!(self.import_job_restart(job_id, worker))
    }

    /// Fails a job whose upload broke off.
    pub async fn import_job_abandon(&self, job_id: Uuid, error: &str) -> Result<()> {
        dispatch!(self.import_job_abandon(job_id, error))
    }

    pub async fn import_job(&self, id: Uuid) -> Result<ImportJob> {
        dispatch!(self.import_job(id))
    }

    /// The `limit` newest jobs, newest first: of the given services only, or of every service.
    pub async fn import_jobs_recent(
        &self,
        limit: u32,
        services: Option<&[identity_core::ServiceName]>,
    ) -> Result<Vec<ImportJob>> {
        dispatch!(self.import_jobs_recent(limit, services))
    }

    /// Claims the next job for `worker` until `lease_until`: a queued job, or a running one whose
    /// worker stopped renewing its lease.
    pub async fn import_job_claim(
        &self,
        worker: &str,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<ImportJob>> {
        dispatch!(self.import_job_claim(worker, lease_until))
    }

    /// Extends `worker`'s claim on a job; `NotFound` if it lost the claim.
    pub async fn import_job_renew(
        &self,
        job_id: Uuid,
        worker: &str,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        dispatch!(self.import_job_renew(job_id, worker, lease_until))
    }

    /// Ends a claimed job: done, or failed with a reason.
    pub async fn import_job_finish(&self, job_id: Uuid, worker: &str, error: Option<&str>) -> Result<()> {
        dispatch!(self.import_job_finish(job_id, worker, error))
    }

    /// Fails the jobs still receiving that were created before `created_before` (their upload
    /// stopped with the process receiving it); returns how many.
    pub async fn import_jobs_abandon_stale(
        &self,
        created_before: chrono::DateTime<chrono::Utc>,
        error: &str,
    ) -> Result<u64> {
        dispatch!(self.import_jobs_abandon_stale(created_before, error))
    }

    /// A job's rows after `after`, in order.
    pub async fn import_rows(&self, job_id: Uuid, after: i64, limit: u32) -> Result<Vec<ImportRow>> {
        dispatch!(self.import_rows(job_id, after, limit))
    }

    /// Holds a worker's claim on a job, however long the work takes, until
    /// [`ClaimHold::release`] extends the lease and lets go: no other worker takes the job
    /// meanwhile; its lease moves to `lease_until` now. `NotFound` if the claim is already lost.
    pub async fn import_claim_hold(
        &self,
        job_id: Uuid,
        worker: &str,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<ClaimHold> {
        Ok(ClaimHold(match &self.inner {
            Inner::Postgres(b) => HoldInner::Postgres(b.import_claim_hold(job_id, worker, lease_until).await?),
            Inner::Sqlite(b) => HoldInner::Sqlite(b.import_claim_hold(job_id, worker, lease_until).await?),
        }))
    }

    /// Whether import sessions may be open side by side, one chunk decided while the one before
    /// it is written: on PostgreSQL, where a session's claims make it wait for a session that
    /// claimed the same identifiers (see [`ImportSession::facts`]); SQLite has one writing
    /// transaction at a time.
    pub fn import_sessions_overlap(&self) -> bool {
        matches!(self.inner, Inner::Postgres(_))
    }

    /// A chunk's facts read now on a reading connection, for a session opened later (SQLite,
    /// whose one writer is meanwhile busy with the chunk before; where sessions overlap, a
    /// session reads and claims its own). Every write that bears on facts appends a change, so
    /// if the session's [`ImportSession::began_at`] equals the mark these were read at, they
    /// are the session's own facts; if only the caller's chunks were committed since, they
    /// still are for identifiers those chunks did not write ([`FactsAhead::still_true`]).
    pub async fn facts_ahead(&self, service: &identity_core::ServiceName, query: FactQuery) -> Result<FactsAhead> {
        let (mark, facts) = dispatch!(self.facts_ahead(service, &query))?;
        Ok(FactsAhead { facts, query, read_at: FeedMark(mark) })
    }

    /// A writing transaction for a chunk of import rows. Its facts are claimed (see
    /// [`ImportSession::facts`]), so that two jobs cannot both add the same person.
    pub async fn import_session(&self) -> Result<ImportSession> {
        self.session(Claims::Take).await
    }

    /// A transaction for a dry run, which is rolled back: its facts are read without claims (a
    /// dry run may span a whole file, and keeps nothing to race over).
    pub async fn import_dry_run_session(&self) -> Result<ImportSession> {
        self.session(Claims::None).await
    }

    async fn session(&self, claims: Claims) -> Result<ImportSession> {
        Ok(ImportSession(match &self.inner {
            Inner::Postgres(b) => SessionInner::Postgres(b.import_session(claims).await?),
            Inner::Sqlite(b) => SessionInner::Sqlite(b.import_session(claims).await?),
        }))
    }
}

/// Whether an import session claims the identifiers its facts are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claims {
    Take,
    None,
}

enum SessionInner {
    Postgres(postgres::Session),
    Sqlite(sqlite::Session),
}

enum HoldInner {
    Postgres(postgres::ClaimHold),
    Sqlite(sqlite::ClaimHold),
}

/// A worker's claim on a job, held (see [`Store::import_claim_hold`]).
pub struct ClaimHold(HoldInner);

impl std::fmt::Debug for ClaimHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimHold").finish_non_exhaustive()
    }
}

impl ClaimHold {
    /// Extends the claim to `lease_until` and lets go; `NotFound` if the claim was lost.
    pub async fn release(self, lease_until: chrono::DateTime<chrono::Utc>) -> Result<()> {
        match self.0 {
            HoldInner::Postgres(h) => h.release(lease_until).await,
            HoldInner::Sqlite(h) => h.release(lease_until).await,
        }
    }
}

/// Where an import session stands among sessions that must commit in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOrder(i64);

/// One transaction of an import worker: read the facts of a chunk, write its users, record its
/// results, then commit (or roll back: a dry run). Dropping it rolls back.
pub struct ImportSession(SessionInner);

impl std::fmt::Debug for ImportSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportSession").finish_non_exhaustive()
    }
}

macro_rules! session {
    (&mut $self:ident . $method:ident ( $($arg:expr),* )) => {
        match &mut $self.0 {
            SessionInner::Postgres(s) => s.$method($($arg),*).await,
            SessionInner::Sqlite(s) => s.$method($($arg),*).await,
        }
    };
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self.0 {
            SessionInner::Postgres(s) => s.$method($($arg),*).await,
            SessionInner::Sqlite(s) => s.$method($($arg),*).await,
        }
    };
}

impl ImportSession {
    /// The facts of the flowchart for a chunk's rows. First it claims, until the session ends,
    /// every identifier they are about (email addresses, TRNs, last name with date of birth):
    /// a session that claimed one of them before has committed or rolled back by the time these
    /// facts are read, so its new people are among them. (PostgreSQL; on SQLite a writing
    /// session holds the database's only write lock already.)
    pub async fn facts(&mut self, service: &identity_core::ServiceName, query: &FactQuery) -> Result<ChunkFacts> {
        session!(&mut self.facts(service, query))
    }

    pub async fn apply(&mut self, writes: &ImportWrites) -> Result<()> {
        session!(&mut self.apply(writes))
    }

    /// Stores a chunk's results and the job's checkpoint; `NotFound` if the claim was lost.
    pub async fn record_results(&mut self, results: &ChunkResults) -> Result<()> {
        session!(&mut self.record_results(results))
    }

    pub async fn commit(self) -> Result<()> {
        self.commit_marked().await.map(drop)
    }

    /// Commits, and tells where the change log then ends (SQLite; `None` where sessions
    /// overlap): a later session whose [`ImportSession::began_at`] is the same found nothing
    /// committed in between.
    pub async fn commit_marked(self) -> Result<Option<FeedMark>> {
        Ok(session!(self.commit())?.map(FeedMark))
    }

    /// Where the change log ended when this session began (SQLite; `None` where sessions
    /// overlap). Taken under the write lock, so nothing was committed between it and the
    /// session's own reads.
    pub fn began_at(&self) -> Option<FeedMark> {
        match &self.0 {
            SessionInner::Postgres(s) => s.began(),
            SessionInner::Sqlite(s) => s.began(),
        }
        .map(FeedMark)
    }

    /// This session's place, for a later session to wait on ([`ImportSession::after`]).
    pub fn order(&self) -> SessionOrder {
        SessionOrder(match &self.0 {
            SessionInner::Postgres(s) => s.order(),
            SessionInner::Sqlite(s) => s.order(),
        })
    }

    /// Waits until the session at `earlier` has committed or rolled back. The wait is the
    /// server's (PostgreSQL), so a circle of waits through it is a deadlock the server ends
    /// (`StoreError::Busy`) rather than a hang. Call it before committing a session that must
    /// commit after another.
    pub async fn after(&mut self, earlier: SessionOrder) -> Result<()> {
        session!(&mut self.after(earlier.0))
    }

    pub async fn rollback(self) -> Result<()> {
        session!(self.rollback())
    }
}
