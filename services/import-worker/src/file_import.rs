//! `import-worker import FILE --service NAME --output RESULTS [--dry-run]`: a newcomer's first
//! import, synchronous, with a progress bar on a terminal. Reads the file in pieces and applies
//! it chunk by chunk (each chunk committed), so memory does not grow with the file; a dry run
//! applies everything in one transaction that is rolled back at the end, and its result file
//! leaves out the ids of the people it would have added (they will not exist).

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};

use identity_core::import::result::{ResultRow, RESULT_HEADER};
use identity_core::ServiceName;
use identity_store::{CommittedChunk, FactsAhead, ImportSession, OutcomeCounts, SessionOrder, Store, StoreError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::io::AsyncReadExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::engine::{Checks, Decided, Engine, EngineError, InputRow, Linked, Target, WouldBeAdded};
use crate::reader::CsvInput;
use crate::registry::Registry;

const READ_PIECE: usize = 64 * 1024;
const CONFLICT_RETRIES: u32 = 5;

pub struct FileImport<'a> {
    pub input: &'a Path,
    pub service: ServiceName,
    pub output: &'a Path,
    pub dry_run: bool,
    pub chunk_rows: usize,
}

/// What an import did, for the summary line.
#[derive(Debug, Default)]
pub struct Summary {
    pub rows: i64,
    pub counts: OutcomeCounts,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counts;
        write!(
            f,
            "{} rows: None {}, UserAdded {}, UserUpdated {}, Invalid {}",
            self.rows, c.none, c.added, c.updated, c.invalid
        )
    }
}

struct Results {
    file: std::io::BufWriter<std::fs::File>,
    partial: PathBuf,
    summary: Summary,
}

impl Results {
    fn create(output: &Path) -> Result<Self, String> {
        // Written beside the target and renamed at the end: a failed import leaves no result
        // file that looks complete.
        let partial = output.with_extension("partial");
        let file = std::fs::File::create(&partial).map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        let mut file = std::io::BufWriter::new(file);
        write!(file, "{RESULT_HEADER}\r\n").map_err(|e| e.to_string())?;
        Ok(Self { file, partial, summary: Summary::default() })
    }

    fn write(&mut self, rows: &[ResultRow]) -> Result<(), String> {
        for r in rows {
            self.summary.rows += 1;
            self.summary.counts.add(r.outcome);
            self.file.write_all(r.to_csv_line().as_bytes()).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn finish(mut self, output: &Path) -> Result<Summary, String> {
        self.file.flush().map_err(|e| e.to_string())?;
        drop(self.file);
        std::fs::rename(&self.partial, output).map_err(|e| format!("cannot write {}: {e}", output.display()))?;
        Ok(self.summary)
    }
}

fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

impl FileImport<'_> {
    pub async fn run<R: Registry>(&self, store: &Store, engine: &Engine<R>) -> Result<Summary, String> {
        let mut file = tokio::fs::File::open(self.input)
            .await
            .map_err(|e| format!("cannot read {}: {e}", self.input.display()))?;
        let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
        let bar = progress(len);
        let mut csv = CsvInput::new();
        let mut pending: Vec<InputRow> = Vec::new();
        let mut results: Option<Results> = None;
        // A dry run keeps one transaction open for the whole file.
        let mut dry_session = None;
        let mut would_be_added = WouldBeAdded::default();
        let mut pipeline = Pipeline::new(store, engine);
        let mut buf = vec![0u8; READ_PIECE];
        let actor = "import-cli".to_owned();
        let header = loop {
            let n = file.read(&mut buf).await.map_err(|e| format!("cannot read {}: {e}", self.input.display()))?;
            if n == 0 {
                csv.finish(&mut pending).map_err(|e| e.to_string())?;
            } else {
                csv.feed(&buf[..n], &mut pending).map_err(|e| e.to_string())?;
                bar.inc(n as u64);
            }
            while pending.len() >= self.chunk_rows || (n == 0 && !pending.is_empty()) {
                let take = pending.len().min(self.chunk_rows);
                let chunk: Vec<InputRow> = pending.drain(..take).collect();
                let Some(header) = csv.header().cloned() else { break };
                let target = Target { header: &header, service: &self.service, actor: &actor, job: None };
                let out = match &mut results {
                    Some(r) => r,
                    None => results.insert(Results::create(self.output)?),
                };
                if self.dry_run {
                    let session = match &mut dry_session {
                        Some(s) => s,
                        None => dry_session.insert(store.import_dry_run_session().await.map_err(|e| e.to_string())?),
                    };
                    let mut rows =
                        engine.process(session, target, &chunk).await.map_err(|e| explain(e, out.summary.rows))?;
                    would_be_added.hide(&mut rows);
                    out.write(&rows)?;
                } else {
                    pipeline.advance(target, Some(chunk), out).await?;
                }
                bar.set_message(format!("{} rows", out.summary.rows));
            }
            if n == 0 {
                break csv.header().cloned();
            }
        };
        if let (Some(header), Some(out)) = (header, &mut results) {
            let target = Target { header: &header, service: &self.service, actor: &actor, job: None };
            while !pipeline.is_empty() {
                pipeline.advance(target, None, out).await?;
            }
        }
        if let Some(session) = dry_session {
            session.rollback().await.map_err(|e| e.to_string())?;
        }
        bar.finish_and_clear();
        match results {
            Some(r) => r.finish(self.output),
            None => Err("the file has a header but no data rows".to_owned()),
        }
    }
}

/// The chunks of an import on their way to the database. The newest chunk is checked (parsing,
/// field rules, registry) while the database works on the ones before it. Where the store lets
/// import sessions overlap (PostgreSQL), two chunks are in the database at once, each in a
/// session of its own, so that both of the server's cores work: one is decided (its facts claimed
/// and read) and its writes begun while the chunk before it is still being written or committed.
/// Writing and committing run as tasks, on the runtime's other thread, so that the next chunk's
/// CPU work here never holds up their statements.
///
/// The chunk decided early cannot miss what the chunk before it writes: what they share (an
/// email, a TRN, a name with a date of birth) it claimed, so it read it after that chunk
/// committed; the service IDs that chunk linked, which are not claimed, are handed over
/// (`Linked`); and after a chunk that gives existing people other names (`moves_people`), the
/// next waits for its commit. Chunks commit in file order: each waits, before committing, for
/// the session before it to end (`ImportSession::after`, a wait the server sees, so a circle of
/// waits is a deadlock it breaks, not a hang) and commits only if that one did. A chunk that meets
/// a concurrent write is redone, with every chunk after it, one at a time and with fresh facts.
/// On SQLite (one writer) a chunk is decided and written in one go, with the facts read for it
/// on a reading connection while the writer wrote the chunk before (`Store::facts_ahead`): they
/// are used if only that chunk was committed since they were read and it shared none of their
/// identifiers and moved nobody (the rule the claims enforce on PostgreSQL); otherwise the
/// chunk reads them again under the write lock.
struct Pipeline<'a, R> {
    store: &'a Store,
    engine: &'a Engine<R>,
    checked: Option<Checked>,
    /// Chunks being written and committed, oldest first: at most two.
    writing: VecDeque<Writing>,
    /// SQLite: the chunk committed last, for `FactsAhead::still_true`.
    last: Option<CommittedChunk>,
}

/// A chunk checked, with its facts when they could be read ahead.
struct Checked {
    rows: Vec<InputRow>,
    checks: Checks,
    ahead: Option<FactsAhead>,
}

/// A chunk whose writes and commit a task is making.
struct Writing {
    rows: Vec<InputRow>,
    checks: Checks,
    /// Its service IDs' links, for the chunk decided while it is written.
    linked: Linked,
    moves_people: bool,
    order: SessionOrder,
    /// Whether it committed, for the task of the chunk after it.
    committed: Option<oneshot::Receiver<bool>>,
    task: JoinHandle<Result<Vec<ResultRow>, Unwritten>>,
}

/// Why a chunk's task committed nothing.
#[derive(Debug)]
enum Unwritten {
    /// The chunk before it did not commit, so it may not either.
    Earlier,
    Failed(EngineError),
}

impl<'a, R: Registry> Pipeline<'a, R> {
    fn new(store: &'a Store, engine: &'a Engine<R>) -> Self {
        Self { store, engine, checked: None, writing: VecDeque::new(), last: None }
    }

    fn is_empty(&self) -> bool {
        self.checked.is_none() && self.writing.is_empty()
    }

    /// Takes the next chunk (`None` at the end of the file) and moves the others on a stage,
    /// writing the results of every chunk committed meanwhile to `out`, in file order. On an
    /// error, the chunks already in the database finish first, so that `out` (and the count
    /// the error gives) holds every row applied.
    async fn advance(
        &mut self,
        to: Target<'_>,
        incoming: Option<Vec<InputRow>>,
        out: &mut Results,
    ) -> Result<(), String> {
        let (store, engine) = (self.store, self.engine);
        let check = async move {
            let Some(rows) = incoming else { return Ok(None) };
            let checks = engine.check(to.header, &rows).await?;
            let ahead = if store.import_sessions_overlap() {
                None
            } else {
                // Only a help: if it fails, the chunk's session reads its own facts.
                store.facts_ahead(to.service, Engine::<R>::query(&checks)).await.ok()
            };
            Ok(Some(Checked { rows, checks, ahead }))
        };
        let checked = self.checked.take();
        let (moved, next) = tokio::join!(self.move_on(to, checked, out), check);
        moved?;
        match next {
            Ok(next) => {
                self.checked = next;
                Ok(())
            }
            Err(e) => {
                self.drain(to, out).await?;
                Err(explain(e, out.summary.rows))
            }
        }
    }

    /// Takes a checked chunk into the database (`None`: lets the chunks there finish).
    async fn move_on(&mut self, to: Target<'_>, checked: Option<Checked>, out: &mut Results) -> Result<(), String> {
        let (store, engine) = (self.store, self.engine);
        let Some(Checked { rows, checks, ahead }) = checked else { return self.drain(to, out).await };
        if !store.import_sessions_overlap() {
            let results = apply_one(store, engine, to, &rows, &checks, ahead, &mut self.last).await;
            return out.write(&results.map_err(|e| explain(e, out.summary.rows))?);
        }
        while self.writing.len() >= 2 || self.writing.back().is_some_and(|w| w.moves_people) {
            self.finish_oldest(to, out).await?;
        }
        let none = Linked::default();
        let earlier = self.writing.back().map_or(&none, |w| &w.linked);
        let (session, decided) = match decide(store, engine, to, &rows, &checks, earlier).await {
            Ok(decided) => decided,
            Err(e) => {
                self.drain(to, out).await?;
                if !retryable(&e) {
                    return Err(explain(e, out.summary.rows));
                }
                match decide_retrying(store, engine, to, &rows, &checks).await {
                    Ok(decided) => decided,
                    Err(e) => return Err(explain(e, out.summary.rows)),
                }
            }
        };
        self.spawn(rows, checks, session, decided);
        while self.writing.front().is_some_and(|w| w.task.is_finished()) {
            self.finish_oldest(to, out).await?;
        }
        Ok(())
    }

    /// Starts the task that writes and commits a decided chunk, after the chunk before it.
    fn spawn(&mut self, rows: Vec<InputRow>, checks: Checks, session: ImportSession, mut decided: Decided) {
        let (tell, committed) = oneshot::channel();
        let before = self.writing.back_mut().and_then(|w| w.committed.take().map(|c| (w.order, c)));
        let (linked, moves_people, order) = (decided.take_linked(), decided.moves_people(), session.order());
        let task = tokio::spawn(write_and_commit(session, decided, before, tell));
        self.writing.push_back(Writing { rows, checks, linked, moves_people, order, committed: Some(committed), task });
    }

    /// Waits for the oldest chunk in the database and writes its results. If it met a
    /// concurrent write, it and every chunk after it (which then commit nothing) are redone in
    /// turn.
    async fn finish_oldest(&mut self, to: Target<'_>, out: &mut Results) -> Result<(), String> {
        let Some(oldest) = self.writing.pop_front() else { return Ok(()) };
        let failure = match joined(oldest.task).await {
            Ok(results) => return out.write(&results),
            Err(Unwritten::Earlier) => None,
            Err(Unwritten::Failed(e)) if retryable(&e) => None,
            Err(Unwritten::Failed(e)) => Some(e),
        };
        let later: Vec<Writing> = self.writing.drain(..).collect();
        let mut redo = vec![(oldest.rows, oldest.checks)];
        for w in later {
            // It waits for the oldest, which did not commit, so it rolls back.
            let _ = joined(w.task).await;
            redo.push((w.rows, w.checks));
        }
        if let Some(e) = failure {
            return Err(explain(e, out.summary.rows));
        }
        for (rows, checks) in redo {
            let results = apply_one(self.store, self.engine, to, &rows, &checks, None, &mut self.last).await;
            out.write(&results.map_err(|e| explain(e, out.summary.rows))?)?;
        }
        Ok(())
    }

    /// Lets every chunk in the database finish, writing their results.
    async fn drain(&mut self, to: Target<'_>, out: &mut Results) -> Result<(), String> {
        while !self.writing.is_empty() {
            self.finish_oldest(to, out).await?;
        }
        Ok(())
    }
}

/// Worth trying again: someone else wrote one of the same people meanwhile, the server broke a
/// deadlock or ran out of lock space, or a new precedence was set while the chunk derived.
fn retryable(e: &EngineError) -> bool {
    matches!(e, EngineError::Conflict(_) | EngineError::Store(StoreError::Busy(_) | StoreError::PrecedenceChanged))
}

/// Decides a chunk in a new session, left open for its writes; rolled back if it fails.
async fn decide<R: Registry>(
    store: &Store,
    engine: &Engine<R>,
    to: Target<'_>,
    rows: &[InputRow],
    checks: &Checks,
    earlier: &Linked,
) -> Result<(ImportSession, Decided), EngineError> {
    let mut session = store.import_session().await?;
    match engine.decide(&mut session, to, rows, checks, earlier, None).await {
        Ok(decided) => Ok((session, decided)),
        Err(e) => {
            roll_back(session).await;
            Err(e)
        }
    }
}

/// [`decide`] with nothing else in the database, trying again while concurrent writes conflict.
async fn decide_retrying<R: Registry>(
    store: &Store,
    engine: &Engine<R>,
    to: Target<'_>,
    rows: &[InputRow],
    checks: &Checks,
) -> Result<(ImportSession, Decided), EngineError> {
    let mut attempt = 0;
    loop {
        match decide(store, engine, to, rows, checks, &Linked::default()).await {
            Err(e) if retryable(&e) && attempt < CONFLICT_RETRIES => attempt += 1,
            decided => return decided,
        }
    }
}

/// A chunk's task: writes it, waits for the session before it to end, and commits if that one
/// committed (telling the next chunk's task whether this one did).
async fn write_and_commit(
    mut session: ImportSession,
    decided: Decided,
    before: Option<(SessionOrder, oneshot::Receiver<bool>)>,
    tell: oneshot::Sender<bool>,
) -> Result<Vec<ResultRow>, Unwritten> {
    let written = async {
        let results = decided.write(&mut session).await.map_err(Unwritten::Failed)?;
        if let Some((order, committed)) = before {
            session.after(order).await.map_err(|e| Unwritten::Failed(e.into()))?;
            if committed.await != Ok(true) {
                return Err(Unwritten::Earlier);
            }
        }
        Ok(results)
    }
    .await;
    let answer = match written {
        Ok(results) => session.commit().await.map(|()| results).map_err(|e| Unwritten::Failed(e.into())),
        Err(e) => {
            roll_back(session).await;
            Err(e)
        }
    };
    let _ = tell.send(answer.is_ok());
    answer
}

/// Rolls a session back after a failure, which stays the error to report.
async fn roll_back(session: ImportSession) {
    if let Err(e) = session.rollback().await {
        tracing::warn!(error = %e, "rolling back an import chunk failed; the server rolls it back when the connection closes");
    }
}

/// A chunk task's answer; its panic goes on here (tasks are never cancelled).
async fn joined<T>(task: JoinHandle<T>) -> T {
    match task.await {
        Ok(answer) => answer,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => unreachable!("import chunk tasks are never cancelled: {e}"),
    }
}

/// Applies a chunk in a session of its own, retrying while concurrent writes conflict: with its
/// facts read ahead if they still hold (SQLite), noting in `last` what it committed.
async fn apply_one<R: Registry>(
    store: &Store,
    engine: &Engine<R>,
    to: Target<'_>,
    rows: &[InputRow],
    checks: &Checks,
    mut ahead: Option<FactsAhead>,
    last: &mut Option<CommittedChunk>,
) -> Result<Vec<ResultRow>, EngineError> {
    let mut attempt = 0;
    loop {
        let mut session = store.import_session().await?;
        let began = session.began_at();
        let known = ahead.take().and_then(|a| a.still_true(began, last.as_ref()));
        let applied = async {
            let mut decided = engine.decide(&mut session, to, rows, checks, &Linked::default(), known).await?;
            let (query, moves_people) = (decided.take_query(), decided.moves_people());
            Ok::<_, EngineError>((decided.write(&mut session).await?, query, moves_people))
        }
        .await;
        match applied {
            Ok((results, query, moves_people)) => {
                let ended = session.commit_marked().await?;
                *last = began.zip(ended).map(|(began, ended)| CommittedChunk { began, ended, query, moves_people });
                return Ok(results);
            }
            Err(e) if retryable(&e) && attempt < CONFLICT_RETRIES => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

fn explain(e: EngineError, applied: i64) -> String {
    match e {
        EngineError::Registry(e) => format!(
            "{e}; the first {applied} rows were applied; run the same command again to continue (rows already applied answer None)"
        ),
        other => other.to_string(),
    }
}
