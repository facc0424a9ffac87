//! Import jobs and their rows (a queue workers share), and the session a worker applies a chunk
//! of rows in: the facts of the flowchart read, the writes made, and the job's checkpoint moved,
//! in one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use identity_core::change::{ChangeKind, NewChange, Origin};
use identity_core::import::{Candidate, ExistingUser, Outcome};
use identity_core::{ProfileFields, ServiceName, Source, UserId, UserStatus};
use serde_json::Value;
use sqlx::{QueryBuilder, Row as _};
use uuid::Uuid;

use super::rows::{self, corrupt, now};
use super::write::{self, Batch, OnLinked, UserWrite, BATCH};
use super::{Backend, Db, Row, Tx, DIALECT};
use crate::columns::{Column, Columns};
use crate::error::{Result, StoreError};
use crate::model::{
    ChunkFacts, ChunkResults, FactQuery, ImportJob, ImportJobStatus, ImportRow, ImportWrites, NewImportJob,
    NewImportRow, OutcomeCounts,
};
use crate::Claims;

const JOB_COLUMNS: &str = "id, service, file_name, submitted_by, dry_run, status, columns, rows_total, rows_done, \
     count_none, count_added, count_updated, count_invalid, error, attempts, created_at, started_at, finished_at, data_removed_at";

fn job(row: &Row) -> Result<ImportJob> {
    let service: String = row.try_get("service")?;
    let status: String = row.try_get("status")?;
    Ok(ImportJob {
        id: row.try_get("id")?,
        service: ServiceName::new(&service).map_err(|e| corrupt("import_jobs.service", e))?,
        file_name: row.try_get("file_name")?,
        submitted_by: row.try_get("submitted_by")?,
        dry_run: row.try_get("dry_run")?,
        status: ImportJobStatus::parse(&status).ok_or_else(|| corrupt("import_jobs.status", &status))?,
        columns: row.try_get("columns")?,
        rows_total: row.try_get("rows_total")?,
        rows_done: row.try_get("rows_done")?,
        counts: OutcomeCounts {
            none: row.try_get("count_none")?,
            added: row.try_get("count_added")?,
            updated: row.try_get("count_updated")?,
            invalid: row.try_get("count_invalid")?,
        },
        error: row.try_get("error")?,
        attempts: row.try_get("attempts")?,
        created_at: rows::time(row, "created_at")?,
        started_at: row.try_get::<Option<DateTime<Utc>>, _>("started_at")?,
        finished_at: row.try_get::<Option<DateTime<Utc>>, _>("finished_at")?,
        data_removed_at: row.try_get::<Option<DateTime<Utc>>, _>("data_removed_at")?,
    })
}

pub(super) fn import_row(row: &Row) -> Result<ImportRow> {
    let outcome: Option<String> = row.try_get("outcome")?;
    Ok(ImportRow {
        row_number: row.try_get("row_number")?,
        source_id: row.try_get("source_id")?,
        raw_data: row.try_get("raw_data")?,
        problem: row.try_get("problem")?,
        outcome: outcome.map(|o| o.parse::<Outcome>().map_err(|e| corrupt("import_rows.outcome", e))).transpose()?,
        notes: row.try_get("notes")?,
        user_id: row.try_get::<Option<Uuid>, _>("user_id")?.map(UserId::from_uuid),
    })
}

impl Backend {
    pub(crate) async fn import_job_create(&self, new: &NewImportJob) -> Result<ImportJob> {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO import_jobs (id, service, file_name, submitted_by, dry_run, status, columns, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'receiving', $6, $7)",
        )
        .bind(id)
        .bind(new.service.as_str())
        .bind(&new.file_name)
        .bind(&new.submitted_by)
        .bind(new.dry_run)
        .bind(&new.columns)
        .bind(now())
        .execute(&self.write)
        .await?;
        self.import_job(id).await
    }

    /// Stores uploaded records of a job that is still receiving.
    pub(crate) async fn import_rows_append(&self, job_id: Uuid, rows: &[NewImportRow]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(BATCH) {
            let mut qb =
                QueryBuilder::<Db>::new("INSERT INTO import_rows (job_id, row_number, source_id, raw_data, problem) ");
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(job_id)
                    .push_bind(r.row_number)
                    .push_bind(r.source_id.clone())
                    .push_bind(r.raw_data.clone())
                    .push_bind(r.problem.clone());
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends an upload: the job is queued for workers.
    pub(crate) async fn import_job_queue(&self, job_id: Uuid, rows_total: i64) -> Result<ImportJob> {
        let done = sqlx::query(
            "UPDATE import_jobs SET status = 'queued', rows_total = $2 WHERE id = $1 AND status = 'receiving'",
        )
        .bind(job_id)
        .bind(rows_total)
        .execute(&self.write)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.import_job(job_id).await
    }

    pub(crate) async fn import_job(&self, id: Uuid) -> Result<ImportJob> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = $1");
        let row = self.conns.fetch_optional(sqlx::query(&sql).bind(id)).await?.ok_or(StoreError::NotFound)?;
        job(&row)
    }

    /// The newest jobs first.
    pub(crate) async fn import_jobs_recent(
        &self,
        limit: u32,
        services: Option<&[ServiceName]>,
    ) -> Result<Vec<ImportJob>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {JOB_COLUMNS} FROM import_jobs"));
        if let Some(services) = services {
            if services.is_empty() {
                return Ok(Vec::new());
            }
            qb.push(" WHERE ");
            let names = services.iter().map(|s| Some(s.as_str().to_owned())).collect();
            super::push_in(&mut qb, "service", Column::Text(names));
        }
        qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
        self.conns.fetch_all(qb.build()).await?.iter().map(job).collect()
    }

    /// Claims the oldest queued job, or a running one whose worker's lease ran out (it crashed):
    /// on PostgreSQL without waiting on jobs other workers are claiming.
    pub(crate) async fn import_job_claim(&self, worker: &str, lease_until: DateTime<Utc>) -> Result<Option<ImportJob>> {
        let at = now();
        let sql = format!(
            "UPDATE import_jobs SET status = 'running', claimed_by = $1, lease_until = $2, attempts = attempts + 1, \
             started_at = coalesce(started_at, $3) WHERE id = (SELECT id FROM import_jobs \
             WHERE status = 'queued' OR (status = 'running' AND lease_until < $3) ORDER BY created_at LIMIT 1{}) \
             RETURNING {JOB_COLUMNS}",
            DIALECT.for_update_skip_locked()
        );
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(&sql).bind(worker).bind(lease_until).bind(at).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        claimed.as_ref().map(job).transpose()
    }

    /// Extends a claim; `NotFound` if the worker no longer holds it.
    pub(crate) async fn import_job_renew(&self, job_id: Uuid, worker: &str, lease_until: DateTime<Utc>) -> Result<()> {
        let mut conn = self.write.acquire().await?;
        renew(&mut conn, job_id, worker, lease_until).await
    }

    /// Holds `worker`'s claim on a job until [`ClaimHold::release`]: on PostgreSQL a transaction
    /// on its own connection locks the job's row, which claims (`FOR UPDATE SKIP LOCKED`) pass
    /// over however long ago the lease ran out. SQLite needs none while the caller's writing
    /// transaction holds the one write lock. The lease moves to `lease_until` meanwhile.
    /// `NotFound` if the claim is already lost.
    pub(crate) async fn import_claim_hold(
        &self,
        job_id: Uuid,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<ClaimHold> {
        let tx = if DIALECT.locks_rows_apart() {
            let mut t = self.begin_write().await?;
            renew(&mut t, job_id, worker, lease_until).await?;
            Some(t)
        } else {
            self.import_job_renew(job_id, worker, lease_until).await?;
            None
        };
        Ok(ClaimHold { tx, write: self.write.clone(), job_id, worker: worker.to_owned() })
    }

    /// Ends a job: done, or failed with a reason. Only its claimant may.
    pub(crate) async fn import_job_finish(&self, job_id: Uuid, worker: &str, error: Option<&str>) -> Result<()> {
        let status = if error.is_some() { "failed" } else { "done" };
        let done = sqlx::query(
            "UPDATE import_jobs SET status = $3, error = $4, finished_at = $5, lease_until = NULL \
             WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
        )
        .bind(job_id)
        .bind(worker)
        .bind(status)
        .bind(error)
        .bind(now())
        .execute(&self.write)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Puts a failed job back in the queue; it resumes after its checkpoint, with its count of
    /// claims started again. Not once the retention sweep removed its rows' data.
    pub(crate) async fn import_job_resume(&self, job_id: Uuid) -> Result<ImportJob> {
        let done = sqlx::query(
            "UPDATE import_jobs SET status = 'queued', error = NULL, finished_at = NULL, claimed_by = NULL, lease_until = NULL, \
             attempts = 0 WHERE id = $1 AND status = 'failed' AND rows_total > 0 AND data_removed_at IS NULL",
        )
        .bind(job_id)
        .execute(&self.write)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.import_job(job_id).await
    }

    /// Forgets a claimed job's progress (a dry run starting over after a crash).
    pub(crate) async fn import_job_restart(&self, job_id: Uuid, worker: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE import_jobs SET rows_done = 0, count_none = 0, count_added = 0, count_updated = 0, count_invalid = 0 \
             WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
        )
        .bind(job_id)
        .bind(worker)
        .execute(&self.write)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Fails a job that never got queued (its upload broke off).
    pub(crate) async fn import_job_abandon(&self, job_id: Uuid, error: &str) -> Result<()> {
        sqlx::query("UPDATE import_jobs SET status = 'failed', error = $2, finished_at = $3 WHERE id = $1 AND status = 'receiving'")
            .bind(job_id)
            .bind(error)
            .bind(now())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Fails every job still receiving that was created before `created_before`: its upload
    /// ended without the job being queued or failed (the process receiving it stopped). Returns
    /// how many.
    pub(crate) async fn import_jobs_abandon_stale(&self, created_before: DateTime<Utc>, error: &str) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE import_jobs SET status = 'failed', error = $2, finished_at = $3 \
             WHERE status = 'receiving' AND created_at < $1",
        )
        .bind(created_before)
        .bind(error)
        .bind(now())
        .execute(&self.write)
        .await?
        .rows_affected())
    }

    /// Rows after `after`, in order (the rows to process, or a page of the result file).
    pub(crate) async fn import_rows(&self, job_id: Uuid, after: i64, limit: u32) -> Result<Vec<ImportRow>> {
        let query = sqlx::query(
            "SELECT row_number, source_id, raw_data, problem, outcome, notes, user_id FROM import_rows \
             WHERE job_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3",
        )
        .bind(job_id)
        .bind(after)
        .bind(i64::from(limit));
        let found = self.conns.fetch_all(query).await?;
        found.iter().map(import_row).collect()
    }

    /// A transaction for applying rows. Commit it, or drop it to roll back (a dry run).
    pub(crate) async fn import_session(&self, claims: Claims) -> Result<Session> {
        let horizon = self.horizon.load(std::sync::atomic::Ordering::Relaxed);
        let mut tx = self.begin_write().await?;
        // The session's own key, held until it ends, that a later session waits on before it
        // commits (`Session::after`).
        let order = i64::from_ne_bytes(Uuid::new_v4().as_u64_pair().0.to_ne_bytes());
        if claims == Claims::Take && DIALECT.locks_rows_apart() {
            claim(&mut tx, vec![order]).await?;
        }
        // With the one write lock held, so nothing can be committed between this mark and the
        // session's own reads.
        let began = if DIALECT.locks_rows_apart() { None } else { Some(feed_mark(&mut tx).await?) };
        Ok(Session {
            tx,
            claims,
            changes: Vec::new(),
            horizon,
            order,
            began,
            precedence: self.precedence.clone(),
            derived_with: None,
        })
    }

    /// A chunk's facts read on a connection of their own, in one read transaction, with the
    /// mark of the change log they saw. For SQLite, whose one writer is meanwhile busy with
    /// the chunk before (see `Store::facts_ahead`).
    pub(crate) async fn facts_ahead(&self, service: &ServiceName, q: &FactQuery) -> Result<(i64, ChunkFacts)> {
        let mut leased = self.conns.acquire().await?;
        let read = async {
            let mut tx = sqlx::Connection::begin(leased.start()).await?;
            let mark = feed_mark(&mut tx).await?;
            let facts = read_facts(&mut tx, service, q).await?;
            tx.commit().await?;
            Ok::<_, StoreError>((mark, facts))
        }
        .await;
        match read {
            Ok(read) => leased.finish(Ok::<_, StoreError>(read)),
            // Left marked in use, so that the connection is closed rather than lent again
            // with the read transaction perhaps still open.
            Err(e) => Err(e),
        }
    }
}

/// Where the change log ends. Every write that bears on an import's facts (a person, a profile,
/// a link) appends a change, and changes are never deleted, so two equal marks mean nothing
/// of the kind was committed between them. (SQLite numbers a change's `id` one past the last.)
async fn feed_mark(conn: &mut super::Conn) -> Result<i64> {
    let row = sqlx::query("SELECT coalesce(max(id), 0) AS mark FROM changes").fetch_one(&mut *conn).await?;
    Ok(row.try_get("mark")?)
}

/// The users that `source` links these external keys to. One index probe per key, whatever the
/// statistics say: with `source = $1 AND external_key IN (…)`, PostgreSQL planned a service's
/// first import from statistics that still counted none of its links, probed the index by
/// source alone and filtered every link made so far, so each chunk was slower than the last.
async fn linked_users(conn: &mut super::Conn, source: &Source, keys: &[String]) -> Result<Vec<(String, UserId)>> {
    let mut qb = QueryBuilder::<Db>::new("WITH wanted (external_key) AS (");
    super::push_columns(&mut qb, Columns(vec![Column::Text(keys.iter().cloned().map(Some).collect())]), "true");
    qb.push(") SELECT w.external_key, (SELECT l.user_id FROM links l WHERE l.source = ")
        .push_bind(source.to_string())
        .push(" AND l.external_key = w.external_key) AS user_id FROM wanted w");
    let mut found = Vec::new();
    for row in qb.build().fetch_all(&mut *conn).await? {
        if let Some(user) = row.try_get::<Option<Uuid>, _>("user_id")? {
            found.push((row.try_get("external_key")?, UserId::from_uuid(user)));
        }
    }
    Ok(found)
}

/// A job's claim held while a long transaction runs on another connection (a dry run's); see
/// `Backend::import_claim_hold`.
pub(crate) struct ClaimHold {
    /// On PostgreSQL, the transaction that locks the job's row.
    tx: Option<Tx>,
    write: sqlx::Pool<Db>,
    job_id: Uuid,
    worker: String,
}

/// Moves a claim's lease on; `NotFound` if `worker` no longer holds it.
async fn renew(conn: &mut super::Conn, job_id: Uuid, worker: &str, lease_until: DateTime<Utc>) -> Result<()> {
    let done =
        sqlx::query("UPDATE import_jobs SET lease_until = $3 WHERE id = $1 AND claimed_by = $2 AND status = 'running'")
            .bind(job_id)
            .bind(worker)
            .bind(lease_until)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

impl ClaimHold {
    /// Extends the claim to `lease_until` and lets the row go, in one step: no other worker can
    /// take the job between the end of the long transaction and the renewal.
    pub(crate) async fn release(self, lease_until: DateTime<Utc>) -> Result<()> {
        match self.tx {
            Some(mut tx) => {
                renew(&mut tx, self.job_id, &self.worker, lease_until).await?;
                Ok(tx.commit().await?)
            }
            None => {
                let mut conn = self.write.acquire().await?;
                renew(&mut conn, self.job_id, &self.worker, lease_until).await
            }
        }
    }
}

/// One transaction of an import worker.
pub(crate) struct Session {
    tx: Tx,
    claims: Claims,
    /// The changes of what was applied, written numbered at the commit (not a dry run's).
    changes: Vec<(NewChange, DateTime<Utc>)>,
    /// The change log's horizon when the session began (`Dialect::sequencer`).
    horizon: i64,
    /// The key this session holds until it ends (see `Backend::import_session`).
    order: i64,
    /// The change log's mark when the session began (SQLite, see `feed_mark`).
    began: Option<i64>,
    /// Where the session finds the precedence its combined profiles are derived with.
    precedence: super::precedence::Cache,
    /// The version its writes derived with, if it wrote.
    derived_with: Option<i64>,
}

/// The key of a claim on an identifier: a 64-bit FNV-1a hash of its kind and value, the same in
/// every process and version (two identifiers sharing a key only wait for each other).
fn claim_key(kind: &str, value: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0]).chain(value.bytes()) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Takes transaction-scoped advisory locks on `keys`, in order (so two sessions never wait on
/// each other in a circle), in as few statements as the bind limit allows.
async fn claim(conn: &mut super::Conn, mut keys: Vec<i64>) -> Result<()> {
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(MERGED_CLAIMS) {
        let mut qb = QueryBuilder::<Db>::new("SELECT pg_advisory_xact_lock(k) FROM (");
        super::push_columns(&mut qb, Columns(vec![Column::Int(chunk.to_vec())]), "true");
        qb.push(") AS claimed (k)");
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Claims per statement: under PostgreSQL's 65,535 bound values.
const MERGED_CLAIMS: usize = 30_000;

/// The facts of the flowchart for a chunk, as `conn` sees them.
async fn read_facts(conn: &mut super::Conn, service: &ServiceName, q: &FactQuery) -> Result<ChunkFacts> {
    let mut facts = ChunkFacts::default();
    for chunk in q.emails.chunks(BATCH) {
        let mut qb = QueryBuilder::<Db>::new("SELECT user_id, email_key, trn FROM combined_profiles WHERE ");
        super::push_in(&mut qb, "email_key", Column::Text(chunk.iter().cloned().map(Some).collect()));
        for row in qb.build().fetch_all(&mut *conn).await? {
            let trn = rows::trn(row.try_get("trn")?)?;
            facts.by_email.insert(row.try_get("email_key")?, ExistingUser { id: rows::user_id(&row, "user_id")?, trn });
        }
    }
    for chunk in q.trns.chunks(BATCH) {
        facts.trn_holders.extend(linked_users(conn, &Source::Registry, chunk).await?);
    }
    for chunk in q.names.chunks(BATCH) {
        // A join with the list of (last name, date of birth) pairs, not a row-value IN: with
        // hundreds of pairs PostgreSQL planned the IN as an OR of that many conditions, and
        // spent most of a chunk's time there.
        let mut qb = QueryBuilder::<Db>::new("WITH wanted (last_name_key, date_of_birth) AS (");
        let columns = Columns(vec![
            Column::Text(chunk.iter().map(|(last, _)| Some(last.clone())).collect()),
            Column::Date(chunk.iter().map(|(_, dob)| Some(*dob)).collect()),
        ]);
        super::push_columns(&mut qb, columns, "true");
        qb.push(
            ") SELECT c.user_id, c.first_name, c.last_name_key, c.date_of_birth FROM wanted w \
             JOIN combined_profiles c ON c.last_name_key = w.last_name_key AND c.date_of_birth = w.date_of_birth \
             JOIN users u ON u.id = c.user_id WHERE u.status NOT IN ('archived', 'erased') ORDER BY c.user_id",
        );
        for row in qb.build().fetch_all(&mut *conn).await? {
            let key: (String, NaiveDate) = (row.try_get("last_name_key")?, row.try_get("date_of_birth")?);
            let first_name: Option<String> = row.try_get("first_name")?;
            facts
                .candidates
                .entry(key)
                .or_default()
                .push(Candidate { id: rows::user_id(&row, "user_id")?, first_name: first_name.unwrap_or_default() });
        }
    }
    let source = Source::Import(service.clone());
    for chunk in q.ids.chunks(BATCH) {
        facts.links.extend(linked_users(conn, &source, chunk).await?);
    }
    Ok(facts)
}

impl Session {
    /// Writes the changes held back (numbered: `write::append_numbered_changes`), and commits.
    /// Returns the change log's mark after it (SQLite; `None` where sessions overlap).
    /// `PrecedenceChanged` (nothing committed; the chunk is done again) when a new precedence
    /// version was set since its writes derived: the people it adds are locked by nobody, and on
    /// PostgreSQL a session may wait for the one before it to commit, long enough for the
    /// re-derivation to have passed them unseen.
    pub(crate) async fn commit(mut self) -> Result<Option<i64>> {
        if let Some(version) = self.derived_with {
            if super::precedence::in_force(&mut self.tx, &self.precedence).await?.version != version {
                self.tx.rollback().await?;
                return Err(StoreError::PrecedenceChanged);
            }
        }
        write::append_numbered_changes(&mut self.tx, self.horizon, &self.changes).await?;
        let ended = match self.began {
            Some(_) => Some(feed_mark(&mut self.tx).await?),
            None => None,
        };
        self.tx.commit().await?;
        Ok(ended)
    }

    pub(crate) fn began(&self) -> Option<i64> {
        self.began
    }

    pub(crate) async fn rollback(self) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }

    pub(crate) fn order(&self) -> i64 {
        self.order
    }

    /// Waits until the session that holds `order` has ended (committed or rolled back); on the
    /// server, so that a wait in a circle is a deadlock it detects and ends. Only where sessions
    /// may overlap (`Store::import_sessions_overlap`).
    pub(crate) async fn after(&mut self, order: i64) -> Result<()> {
        if self.claims == Claims::Take && DIALECT.locks_rows_apart() {
            claim(&mut self.tx, vec![order]).await?;
        }
        Ok(())
    }

    /// The facts of the flowchart for a chunk, as this transaction sees them (a dry run's own
    /// earlier, uncommitted rows included).
    pub(crate) async fn facts(&mut self, service: &ServiceName, q: &FactQuery) -> Result<ChunkFacts> {
        let conn = &mut *self.tx;
        if self.claims == Claims::Take && DIALECT.locks_rows_apart() {
            let emails = q.emails.iter().map(|e| claim_key("email", e));
            let trns = q.trns.iter().map(|t| claim_key("trn", t));
            let names = q.names.iter().map(|(last, dob)| claim_key("name", &format!("{last}|{dob}")));
            claim(conn, emails.chain(trns).chain(names).collect()).await?;
        }
        read_facts(conn, service, q).await
    }

    /// Makes a chunk's writes: new users, TRN updates, links.
    pub(crate) async fn apply(&mut self, w: &ImportWrites) -> Result<()> {
        let at = now();
        let conn = &mut *self.tx;
        let source = Source::Import(w.service.clone());
        let empty = Value::Object(serde_json::Map::new());

        // Existing users this chunk writes are locked first (a SCIM write to one of them waits,
        // or is waited for), so their profiles, read next, stay current until the commit. One
        // archived meanwhile fails the chunk: the worker retries it with fresh facts.
        let updated: Vec<UserId> = w.trn_updates.iter().map(|u| u.user_id).collect();
        let linked: Vec<UserId> = w.links.iter().map(|(_, u)| *u).collect();
        let mut touched: Vec<UserId> = updated.iter().chain(&linked).copied().collect();
        touched.sort();
        touched.dedup();
        let statuses = write::lock_users(conn, &touched).await?;
        // Read once the people it writes are locked, not when the session began: deciding the
        // chunk (asking the registry) may take a while. The new people it adds are locked by
        // nobody: `commit` checks the version is still in force.
        let precedence = super::precedence::in_force(conn, &self.precedence).await?;
        self.derived_with = Some(precedence.version);
        if statuses.len() != touched.len() || statuses.values().any(|s| s.is_gone()) {
            return Err(StoreError::AlreadyExists(crate::error::Uniqueness::Id));
        }
        let existing = write::load_profiles_of(conn, &updated).await?;

        // New users, each with its import profile and, with a TRN, the registry's.
        let users: Vec<(UserId, UserStatus)> = w.new_users.iter().map(|u| (u.id, UserStatus::Active)).collect();
        let registry_fields: Vec<Option<ProfileFields>> =
            w.new_users.iter().map(|u| u.registry.as_ref().map(|r| r.profile_fields())).collect();
        let mut links: Vec<(&Source, &str, UserId)> = Vec::new();
        let mut writes = Vec::with_capacity(w.new_users.len() + w.trn_updates.len());
        for (u, registry) in w.new_users.iter().zip(&registry_fields) {
            links.push((&source, &u.external_id, u.id));
            let mut put = vec![(&source, Some(u.external_id.as_str()), &u.import, &empty)];
            if let (Some(fields), Some(record)) = (registry, &u.registry) {
                links.push((&Source::Registry, record.trn.as_str(), u.id));
                put.push((&Source::Registry, Some(record.trn.as_str()), fields, &empty));
            }
            writes.push(UserWrite {
                user_id: u.id,
                status: UserStatus::Active,
                is_new: true,
                status_changed: false,
                existing: &[],
                absorbed: &[],
                put,
            });
        }
        let update_fields: Vec<ProfileFields> = w.trn_updates.iter().map(|u| u.registry.profile_fields()).collect();
        for (u, registry) in w.trn_updates.iter().zip(&update_fields) {
            links.push((&source, &u.external_id, u.user_id));
            links.push((&Source::Registry, u.registry.trn.as_str(), u.user_id));
            writes.push(UserWrite {
                user_id: u.user_id,
                status: statuses.get(&u.user_id).copied().unwrap_or(UserStatus::Active),
                is_new: false,
                status_changed: false,
                existing: existing.get(&u.user_id).map_or(&[], |p| p.own.as_slice()),
                absorbed: existing.get(&u.user_id).map_or(&[], |p| p.absorbed.as_slice()),
                put: vec![
                    (&source, Some(u.external_id.as_str()), &u.import, &empty),
                    (&Source::Registry, Some(u.registry.trn.as_str()), registry, &empty),
                ],
            });
        }
        let matched: Vec<(&Source, &str, UserId)> =
            w.links.iter().map(|(id, user)| (&source, id.as_str(), *user)).collect();

        let mut batch = Batch::new(conn);
        // A dry run's changes are written as they come (to be rolled back): held, they would
        // grow with the file.
        if self.claims == Claims::Take {
            batch.hold_changes();
        }
        write::insert_users(&mut batch, &users, at).await?;
        // A TRN or an ID taken meanwhile by someone else fails the chunk (the worker retries it
        // with fresh facts); an ID already linked to the same user is a re-run.
        write::insert_links(&mut batch, &links, OnLinked::Fail, at).await?;
        write::write_users(&mut batch, &writes, &precedence.precedence, &w.actor, at).await?;
        write::insert_links(&mut batch, &matched, OnLinked::Keep, at).await?;
        // A matched row links the service's id to a person: no field changes, but consumers
        // reading the person, or following the feed, see the new link.
        let mut newly_linked = linked;
        newly_linked.sort();
        newly_linked.dedup();
        write::touch_combined(&mut batch, &newly_linked, at).await?;
        let changes: Vec<NewChange> = newly_linked
            .iter()
            .map(|id| NewChange {
                user_id: *id,
                source: Origin::Source(source.clone()),
                actor: w.actor.clone(),
                kind: ChangeKind::Linked,
                fields: Vec::new(),
                status: statuses.get(id).copied().unwrap_or(UserStatus::Active),
            })
            .collect();
        write::append_changes(&mut batch, &changes, at).await?;
        let held = batch.finish_holding_changes().await?;
        self.changes.extend(held);
        super::reviews::add_import_reviews(conn, &w.service, &w.reviews, at).await?;
        Ok(())
    }

    /// Stores a chunk's results and moves the job's checkpoint, if the caller still holds the
    /// job's claim and the job is at the chunk's starting checkpoint (else `NotFound`, and the
    /// caller rolls back). Progress starts the count of
    /// claims again: only claims that move nothing count towards giving the job up.
    pub(crate) async fn record_results(&mut self, r: &ChunkResults) -> Result<()> {
        let conn = &mut *self.tx;
        let moved = sqlx::query(
            "UPDATE import_jobs SET rows_done = $3, lease_until = $4, attempts = 0, count_none = count_none + $5, \
             count_added = count_added + $6, count_updated = count_updated + $7, count_invalid = count_invalid + $8 \
             WHERE id = $1 AND claimed_by = $2 AND status = 'running' AND rows_done = $9",
        )
        .bind(r.job_id)
        .bind(&r.worker)
        .bind(r.rows_done)
        .bind(r.lease_until)
        .bind(r.counts.none)
        .bind(r.counts.added)
        .bind(r.counts.updated)
        .bind(r.counts.invalid)
        .bind(r.after)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if moved == 0 {
            return Err(StoreError::NotFound);
        }
        for chunk in r.results.chunks(BATCH) {
            let mut qb = QueryBuilder::<Db>::new("WITH v (row_number, outcome, notes, user_id) AS (");
            let columns = Columns(vec![
                Column::Int(chunk.iter().map(|r| r.row_number).collect()),
                Column::Text(chunk.iter().map(|r| Some(r.outcome.as_str().to_owned())).collect()),
                Column::Text(chunk.iter().map(|r| Some(r.notes.clone())).collect()),
                Column::MaybeUuid(chunk.iter().map(|r| r.user_id.map(|u| *u.as_uuid())).collect()),
            ]);
            super::push_columns(&mut qb, columns, "true");
            qb.push(") UPDATE import_rows SET outcome = v.outcome, notes = v.notes, user_id = v.user_id FROM v WHERE import_rows.job_id = ")
                .push_bind(r.job_id)
                .push(" AND import_rows.row_number = v.row_number");
            qb.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// Every process and every version must take the same lock for the same identifier: a
    /// rolling deploy runs two versions side by side.
    #[test]
    fn claim_keys_are_fixed() {
        assert_eq!(super::claim_key("email", "ann@example.org"), super::claim_key("email", "ann@example.org"));
        assert_ne!(super::claim_key("email", "1"), super::claim_key("trn", "1"));
        assert_eq!(super::claim_key("", ""), 0xaf63_bd4c_8601_b7df_u64 as i64);
    }
}
