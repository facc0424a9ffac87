//! `import-worker import FILE --service NAME --output RESULTS [--dry-run]`: a newcomer's first
//! import, synchronous, with a progress bar on a terminal. Reads the file in pieces and applies
//! it chunk by chunk (each chunk committed), so memory does not grow with the file; a dry run
//! applies everything in one transaction that is rolled back at the end, and its result file
//! leaves out the ids of the people it would have added (they will not exist).

use std::io::Write;
use std::path::{Path, PathBuf};

use identity_core::import::result::{ResultRow, RESULT_HEADER};
use identity_core::ServiceName;
use identity_store::{ImportSession, OutcomeCounts, Store};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::io::AsyncReadExt;

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
                let target = Target { header: &header, service: &self.service, actor: &actor };
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
                    let applied = pipeline.advance(target, Some(chunk)).await;
                    out.write(&applied.map_err(|e| explain(e, out.summary.rows))?)?;
                }
                bar.set_message(format!("{} rows", out.summary.rows));
            }
            if n == 0 {
                break csv.header().cloned();
            }
        };
        if let (Some(header), Some(out)) = (header, &mut results) {
            let target = Target { header: &header, service: &self.service, actor: &actor };
            while !pipeline.is_empty() {
                let applied = pipeline.advance(target, None).await;
                out.write(&applied.map_err(|e| explain(e, out.summary.rows))?)?;
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

/// The chunks of an import on their way to the database, each stage overlapping the one
/// before: the newest chunk is checked (parsing, field rules, registry) while the database works
/// on the one before. Where the store lets import sessions overlap (PostgreSQL), that work is
/// itself two stages in two sessions: one chunk is decided (its facts claimed and read) while
/// the chunk before it is written and committed, so both of the server's cores are busy. The
/// chunk decided early cannot miss what the chunk before it writes: what they share (an email, a
/// TRN, a name with a date of birth) it claimed, so it read the facts after that chunk committed,
/// and the service IDs that chunk linked are handed over (`Linked`). Chunks commit in file order.
/// On SQLite a chunk is decided and written in one go.
struct Pipeline<'a, R> {
    store: &'a Store,
    engine: &'a Engine<R>,
    checked: Option<(Vec<InputRow>, Checks)>,
    decided: Option<Decision>,
}

/// A chunk decided in a session of its own, to be written and committed.
struct Decision {
    rows: Vec<InputRow>,
    checks: Checks,
    session: ImportSession,
    decided: Decided,
}

impl<'a, R: Registry> Pipeline<'a, R> {
    fn new(store: &'a Store, engine: &'a Engine<R>) -> Self {
        Self { store, engine, checked: None, decided: None }
    }

    fn is_empty(&self) -> bool {
        self.checked.is_none() && self.decided.is_none()
    }

    /// Takes the next chunk (`None` at the end of the file) and moves every chunk on a stage;
    /// returns the results of the chunk committed meanwhile, if one was.
    async fn advance(
        &mut self,
        to: Target<'_>,
        incoming: Option<Vec<InputRow>>,
    ) -> Result<Vec<ResultRow>, EngineError> {
        let (store, engine) = (self.store, self.engine);
        let check = async move {
            match incoming {
                Some(rows) => engine.check(to.header, &rows).await.map(|checks| Some((rows, checks))),
                None => Ok(None),
            }
        };
        match (self.decided.take(), self.checked.take()) {
            (None, None) => {
                self.checked = check.await?;
                Ok(Vec::new())
            }
            (None, Some((rows, checks))) if !store.import_sessions_overlap() => {
                let (applied, next) = tokio::join!(apply_chunk(store, engine, to, &rows, &checks), check);
                self.checked = next?;
                applied
            }
            (None, Some((rows, checks))) => {
                let none = Linked::default();
                let (decided, next) = tokio::join!(decide(store, engine, to, &rows, &checks, &none), check);
                self.checked = next?;
                let (session, decided) = decided?;
                self.decided = Some(Decision { rows, checks, session, decided });
                Ok(Vec::new())
            }
            (Some(mut current), checked) => {
                let earlier = current.decided.take_linked();
                let following = async {
                    match &checked {
                        Some((rows, checks)) => Some(decide(store, engine, to, rows, checks, &earlier).await),
                        None => None,
                    }
                };
                let committing = committed(tokio::spawn(commit(current.session, current.decided)));
                let (written, following, next) = tokio::join!(committing, following, check);
                let next = next?;
                let written = match written {
                    Ok(results) => results,
                    Err(EngineError::Conflict(_)) => {
                        // Someone else wrote one of the same people meanwhile. The chunk after
                        // it was decided from what this one was to write: it is decided again
                        // once this one is, with fresh facts.
                        if let Some(Ok((session, _))) = following {
                            session.rollback().await?;
                        }
                        let results = apply_chunk(store, engine, to, &current.rows, &current.checks).await?;
                        self.decided = self.decide_retrying(to, checked).await?;
                        self.checked = next;
                        return Ok(results);
                    }
                    Err(e) => return Err(e),
                };
                self.decided = match (following, checked) {
                    (Some(Ok((session, decided))), Some((rows, checks))) => {
                        Some(Decision { rows, checks, session, decided })
                    }
                    (Some(Err(EngineError::Conflict(_))), checked) => self.decide_retrying(to, checked).await?,
                    (Some(Err(e)), _) => return Err(e),
                    _ => None,
                };
                self.checked = next;
                Ok(written)
            }
        }
    }

    /// Decides `checked` (after every chunk before it has committed), trying again while
    /// concurrent writes conflict.
    async fn decide_retrying(
        &self,
        to: Target<'_>,
        checked: Option<(Vec<InputRow>, Checks)>,
    ) -> Result<Option<Decision>, EngineError> {
        let Some((rows, checks)) = checked else { return Ok(None) };
        let mut attempt = 0;
        loop {
            match decide(self.store, self.engine, to, &rows, &checks, &Linked::default()).await {
                Ok((session, decided)) => return Ok(Some(Decision { rows, checks, session, decided })),
                Err(EngineError::Conflict(_)) if attempt < CONFLICT_RETRIES => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }
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
    match engine.decide(&mut session, to, rows, checks, earlier).await {
        Ok(decided) => Ok((session, decided)),
        Err(e) => {
            session.rollback().await?;
            Err(e)
        }
    }
}

/// The answer of a chunk's commit, run as a task of its own: on the runtime's other thread, so
/// that the next chunk's checks and decisions (CPU work on this task) never hold up its
/// statements.
async fn committed(
    task: tokio::task::JoinHandle<Result<Vec<ResultRow>, EngineError>>,
) -> Result<Vec<ResultRow>, EngineError> {
    match task.await {
        Ok(answer) => answer,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Writes a decided chunk and commits; rolled back if a write fails.
async fn commit(mut session: ImportSession, decided: Decided) -> Result<Vec<ResultRow>, EngineError> {
    match decided.write(&mut session).await {
        Ok(results) => {
            session.commit().await?;
            Ok(results)
        }
        Err(e) => {
            session.rollback().await?;
            Err(e)
        }
    }
}

async fn apply_chunk<R: Registry>(
    store: &Store,
    engine: &Engine<R>,
    target: Target<'_>,
    chunk: &[InputRow],
    checks: &Checks,
) -> Result<Vec<ResultRow>, EngineError> {
    let mut attempt = 0;
    loop {
        let mut session: ImportSession = store.import_session().await?;
        match engine.apply(&mut session, target, chunk, checks).await {
            Ok(rows) => {
                session.commit().await?;
                return Ok(rows);
            }
            Err(EngineError::Conflict(_)) if attempt < CONFLICT_RETRIES => attempt += 1,
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
