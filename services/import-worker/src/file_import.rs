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

use crate::engine::{Checks, Engine, EngineError, InputRow, Target, WouldBeAdded};
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
        // A chunk checked and waiting to be applied: the next chunk's checks (parsing, field
        // rules, registry) run while the database applies this one.
        let mut checked: Option<(Vec<InputRow>, Checks)> = None;
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
                    let next = match checked.take() {
                        None => engine.check(&header, &chunk).await,
                        Some((rows, checks)) => {
                            let (applied, next) = tokio::join!(
                                apply_chunk(store, engine, target, &rows, &checks),
                                engine.check(&header, &chunk)
                            );
                            out.write(&applied.map_err(|e| explain(e, out.summary.rows))?)?;
                            next
                        }
                    };
                    checked = Some((chunk, next.map_err(|e| explain(e, out.summary.rows))?));
                }
                bar.set_message(format!("{} rows", out.summary.rows));
            }
            if n == 0 {
                break csv.header().cloned();
            }
        };
        if let (Some((rows, checks)), Some(header), Some(out)) = (checked, header, &mut results) {
            let target = Target { header: &header, service: &self.service, actor: &actor };
            let applied = apply_chunk(store, engine, target, &rows, &checks).await;
            out.write(&applied.map_err(|e| explain(e, out.summary.rows))?)?;
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
