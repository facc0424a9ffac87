//! Applies a chunk of rows: reads them, checks them against the field rules and the registry,
//! gathers the flowchart's facts in one round of queries, decides each row in order (earlier
//! rows of the file count as existing people for later ones), and writes the lot in the
//! caller's transaction. The rules themselves are `identity_core::import`'s; this only moves
//! data between them and the store.

use std::collections::{BTreeSet, HashMap};

use identity_core::import::records::RecordSplitter;
use identity_core::import::result::ResultRow;
use identity_core::import::rules::notes;
use identity_core::import::{check, decide, Action, Candidate, ExistingUser, Facts, Fields, Header, Outcome, ValidRow};
use identity_core::nicknames::Nicknames;
use identity_core::normalize::name_key;
use identity_core::{ProfileFields, ServiceName, Trn, UserId};
use identity_store::{
    ChunkFacts, FactQuery, ImportSession, ImportWrites, ImportedUser, NewImportReview, StoreError, TrnUpdate,
    Uniqueness,
};

use crate::registry::{Registry, RegistryError};

/// A row of an import file, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRow {
    pub row_number: i64,
    pub source_id: String,
    pub raw: String,
    /// Why it cannot be read as eight fields (its only note), if so.
    pub problem: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Someone else wrote one of the same people meanwhile: the chunk is retried with fresh facts.
    #[error("a concurrent write touched the same people ({0})")]
    Conflict(Uniqueness),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadyExists(u) => Self::Conflict(u),
            other => Self::Store(other),
        }
    }
}

/// The people a dry run would have added. Its transaction is rolled back, so they never exist:
/// a result file that showed their ids would hand out ids nobody holds. `hide` blanks the
/// USER_ID of every row that would add a person, and of every later row of the same run that
/// refers to one of them (linked to, or updated), and a note naming one of them names the row
/// that would add it instead; rows about people who exist keep theirs. It keeps every such id,
/// with its row, for the whole run (about 48 bytes a person added), since any later row may
/// refer to any earlier one.
#[derive(Debug, Default)]
pub struct WouldBeAdded(HashMap<UserId, u64>);

impl WouldBeAdded {
    /// Blanks the ids of `rows` (the next rows of the run, in order) that nobody will hold.
    pub fn hide(&mut self, rows: &mut [ResultRow]) {
        for row in rows {
            if row.outcome == Outcome::UserAdded {
                if let Some(id) = row.user_id.take() {
                    self.0.insert(id, row.row_number);
                }
            } else if row.user_id.is_some_and(|id| self.0.contains_key(&id)) {
                row.user_id = None;
            }
            for note in &mut row.notes {
                // `Existing user ID <id>`, with the rule that fired after a colon for a potential
                // duplicate.
                let Some(named) = note.strip_prefix("Existing user ID ") else { continue };
                let (id, rule) = named.split_once(':').map_or((named, ""), |(id, rest)| (id, rest));
                if let Some(added_by) = id.parse::<UserId>().ok().and_then(|by| self.0.get(&by)) {
                    *note = format!(
                        "Existing user: the person row {added_by} would add{}",
                        if rule.is_empty() { String::new() } else { format!(":{rule}") }
                    );
                }
            }
        }
    }
}

/// Where a chunk is going.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub header: &'a Header,
    pub service: &'a ServiceName,
    /// Who writes, for the change log.
    pub actor: &'a str,
    /// The upload's job, named by the review items of its rows; none for the command line.
    pub job: Option<uuid::Uuid>,
}

#[derive(Debug, Clone)]
enum Checked {
    Invalid(Vec<String>),
    Valid(Box<ValidRow>),
}

/// A chunk's rows through the field rules and the registry: done before any transaction opens,
/// so no database lock is held while a remote registry answers.
#[derive(Debug, Clone)]
pub struct Checks(Vec<Checked>);

pub struct Engine<R> {
    registry: R,
    nicknames: &'static Nicknames,
}

impl<R: Registry> Engine<R> {
    pub fn new(registry: R) -> Self {
        Self { registry, nicknames: Nicknames::built_in() }
    }

    /// Checks and then decides and writes `rows` in `session`; returns their results in order.
    pub async fn process(
        &self,
        session: &mut ImportSession,
        to: Target<'_>,
        rows: &[InputRow],
    ) -> Result<Vec<ResultRow>, EngineError> {
        let checks = self.check(to.header, rows).await?;
        self.apply(session, to, rows, &checks).await
    }

    /// Decides and writes `rows`, already checked, in `session`; returns their results in order.
    pub async fn apply(
        &self,
        session: &mut ImportSession,
        to: Target<'_>,
        rows: &[InputRow],
        checks: &Checks,
    ) -> Result<Vec<ResultRow>, EngineError> {
        let decided = self.decide(session, to, rows, checks, &Linked::default(), None).await?;
        decided.write(session).await
    }

    /// What the facts of `checks`' valid rows are about: each list sorted, without repeats.
    pub fn query(checks: &Checks) -> FactQuery {
        let valid: Vec<&ValidRow> =
            checks.0.iter().filter_map(|c| if let Checked::Valid(v) = c { Some(&**v) } else { None }).collect();
        let unique = |items: Vec<String>| items.into_iter().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>();
        FactQuery {
            emails: unique(valid.iter().map(|v| v.email.key()).collect()),
            trns: unique(valid.iter().filter_map(|v| v.trn.as_ref().map(|t| t.as_str().to_owned())).collect()),
            names: valid.iter().flat_map(|v| match_keys(v)).collect::<BTreeSet<_>>().into_iter().collect(),
            ids: unique(valid.iter().map(|v| v.id.clone()).collect()),
        }
    }

    /// Reads the facts of `rows` (claiming what they are about, see `ImportSession::facts`) and
    /// decides each row. `earlier` are the links of a chunk decided before this one whose writes
    /// are not committed yet: its people, emails, TRNs and names are claimed, so this session's
    /// claims wait for it to commit and then read them, but a service's IDs are not claimed.
    /// `known` are the facts when the caller has them already, read ahead of the session and
    /// still true in it (`Store::facts_ahead`). What it returns is written by
    /// [`Decided::write`], in the same session.
    pub async fn decide(
        &self,
        session: &mut ImportSession,
        to: Target<'_>,
        rows: &[InputRow],
        checks: &Checks,
        earlier: &Linked,
        known: Option<ChunkFacts>,
    ) -> Result<Decided, EngineError> {
        let checked = &checks.0;
        let query = Self::query(checks);
        let mut facts = match known {
            Some(facts) => facts,
            None => session.facts(to.service, &query).await?,
        };
        for id in &query.ids {
            if let Some(user) = earlier.0.get(id) {
                facts.links.insert(id.clone(), *user);
            }
        }

        let mut writes = ImportWrites {
            service: to.service.clone(),
            actor: to.actor.to_owned(),
            new_users: Vec::new(),
            trn_updates: Vec::new(),
            links: Vec::new(),
            reviews: Vec::new(),
        };
        let mut results = Vec::with_capacity(rows.len());
        let mut moves_people = false;
        for (row, checked) in rows.iter().zip(checked.iter().cloned()) {
            let result = |outcome, notes, user_id| ResultRow {
                row_number: u64::try_from(row.row_number).unwrap_or_default(),
                id: row.source_id.clone(),
                user_id,
                outcome,
                notes,
                raw: row.raw.clone(),
            };
            let v = match checked {
                Checked::Invalid(notes) => {
                    results.push(result(Outcome::Invalid, notes, None));
                    continue;
                }
                Checked::Valid(v) => v,
            };
            let email_key = v.email.key();
            let name = (name_key(v.last_name()), v.date_of_birth.date());
            let decision = decide(
                &v,
                Facts {
                    linked: facts.links.get(&v.id).copied(),
                    by_email: facts.by_email.get(&email_key),
                    trn_holder: v.trn.as_ref().and_then(|t| facts.trn_holders.get(t.as_str()).copied()),
                    candidates: facts.candidates.get(&name).map_or(&[], Vec::as_slice),
                },
                self.nicknames,
            );
            // What this row writes becomes a fact for the rows after it.
            let user_id = match decision.action {
                Action::Nothing => None,
                Action::Link(user) => {
                    if facts.links.insert(v.id.clone(), user).is_none() {
                        flush_if_written(session, &mut writes, user).await?;
                        writes.links.push((v.id.clone(), user));
                    }
                    Some(user)
                }
                Action::AddUser => {
                    let id = UserId::random();
                    facts.by_email.insert(email_key, ExistingUser { id, trn: v.trn.clone() });
                    if let Some(trn) = &v.trn {
                        facts.trn_holders.insert(trn.as_str().to_owned(), id);
                    }
                    for key in match_keys(&v) {
                        facts
                            .candidates
                            .entry(key)
                            .or_default()
                            .push(Candidate { id, first_name: v.first_name().to_owned() });
                    }
                    facts.links.insert(v.id.clone(), id);
                    writes.new_users.push(ImportedUser {
                        id,
                        external_id: v.id.clone(),
                        import: import_fields(&v),
                        registry: v.registry.clone(),
                    });
                    Some(id)
                }
                Action::UpdateTrn(user) => {
                    moves_people = true;
                    flush_if_written(session, &mut writes, user).await?;
                    if let (Some(existing), Some(trn)) = (facts.by_email.get_mut(&email_key), &v.trn) {
                        existing.trn = Some(trn.clone());
                        facts.trn_holders.insert(trn.as_str().to_owned(), user);
                    }
                    facts.links.insert(v.id.clone(), user);
                    // The person takes the registry's names and date of birth: later rows find
                    // them under those, as they would once this chunk is committed, and no longer
                    // under the ones they had.
                    for found in facts.candidates.values_mut() {
                        found.retain(|c| c.id != user);
                    }
                    for key in match_keys(&v) {
                        facts
                            .candidates
                            .entry(key)
                            .or_default()
                            .push(Candidate { id: user, first_name: v.first_name().to_owned() });
                    }
                    if let Some(registry) = v.registry.clone() {
                        writes.trn_updates.push(TrnUpdate {
                            user_id: user,
                            external_id: v.id.clone(),
                            import: import_fields(&v),
                            registry,
                        });
                    }
                    Some(user)
                }
            };
            if !decision.review.is_empty() {
                writes.reviews.push(NewImportReview {
                    external_id: v.id.clone(),
                    row: row.row_number,
                    job: to.job,
                    fields: import_fields(&v),
                    candidates: decision.review,
                });
            }
            results.push(result(decision.outcome, decision.notes, user_id));
        }
        Ok(Decided { writes, results, linked: Linked(facts.links), moves_people, query })
    }

    /// Field rules, with one registry round for the chunk's TRNs.
    pub async fn check(&self, header: &Header, rows: &[InputRow]) -> Result<Checks, EngineError> {
        let mut splitter = RecordSplitter::new();
        let records: Vec<Option<Vec<String>>> = rows
            .iter()
            .map(|row| {
                if row.problem.is_some() {
                    return None;
                }
                let mut records = splitter.split(row.raw.as_bytes());
                (records.len() == 1).then(|| {
                    records.remove(0).fields.into_iter().map(|f| String::from_utf8_lossy(&f).into_owned()).collect()
                })
            })
            .collect();
        let fields: Vec<Option<Fields<'_>>> = records
            .iter()
            .map(|r| {
                r.as_ref().and_then(|cells| Fields::new(header, &cells.iter().map(String::as_str).collect::<Vec<_>>()))
            })
            .collect();
        let trns: Vec<Trn> =
            fields.iter().flatten().filter_map(Fields::trn).collect::<BTreeSet<_>>().into_iter().collect();
        let registry: HashMap<Trn, _> =
            if trns.is_empty() { HashMap::new() } else { self.registry.lookup(&trns).await? };
        Ok(Checks(
            rows.iter()
                .zip(&fields)
                .map(|(row, fields)| match (&row.problem, fields) {
                    (Some(problem), _) => Checked::Invalid(vec![problem.clone()]),
                    (None, None) => Checked::Invalid(vec![notes::FIELDS_LESS.to_owned()]),
                    (None, Some(f)) => match check(f, f.trn().and_then(|t| registry.get(&t))) {
                        Ok(v) => Checked::Valid(Box::new(v)),
                        Err(notes) => Checked::Invalid(notes),
                    },
                })
                .collect(),
        ))
    }
}

/// A service's IDs and the people they are linked to, as a chunk leaves them.
#[derive(Debug, Default)]
pub struct Linked(HashMap<String, UserId>);

/// A chunk decided, its writes still to make (see [`Engine::decide`]).
#[derive(Debug)]
pub struct Decided {
    writes: ImportWrites,
    results: Vec<ResultRow>,
    linked: Linked,
    moves_people: bool,
    /// What its facts were about.
    query: FactQuery,
}

impl Decided {
    /// Makes the writes in the session the chunk was decided in; returns the rows' results.
    pub async fn write(self, session: &mut ImportSession) -> Result<Vec<ResultRow>, EngineError> {
        session.apply(&self.writes).await?;
        Ok(self.results)
    }

    /// What the chunk's facts were about (the identifiers its writes can touch).
    pub fn take_query(&mut self) -> FactQuery {
        std::mem::take(&mut self.query)
    }

    /// The chunk's links, for the chunk decided next while these are written.
    pub fn take_linked(&mut self) -> Linked {
        std::mem::take(&mut self.linked)
    }

    /// Whether the writes give people who exist other names or another date of birth (a TRN
    /// update takes the registry's): the keys they leave are not claimed, so a chunk decided
    /// before these commit could still find the people under them.
    pub const fn moves_people(&self) -> bool {
        self.moves_people
    }
}

/// The store writes a person at most once per batch (on PostgreSQL a batch is one statement, and
/// a statement may touch a row once): a person already written earlier in this chunk is written
/// first, and the next write then finds them as it would in a later chunk.
async fn flush_if_written(
    session: &mut ImportSession,
    writes: &mut ImportWrites,
    user: UserId,
) -> Result<(), EngineError> {
    let written = writes.new_users.iter().any(|u| u.id == user)
        || writes.trn_updates.iter().any(|u| u.user_id == user)
        || writes.links.iter().any(|(_, u)| *u == user);
    if written {
        session.apply(writes).await?;
        writes.new_users.clear();
        writes.trn_updates.clear();
        writes.links.clear();
    }
    Ok(())
}

/// The (last name, date of birth) keys a row's person can be matched by: the row's date of
/// birth, and for a row with a TRN the registry's too, since the person's combined profile takes
/// its date of birth from the registry. Both are read as facts and claimed, so a later row, or
/// another job, matching either finds the person.
fn match_keys(v: &ValidRow) -> Vec<(String, chrono::NaiveDate)> {
    let last = name_key(v.last_name());
    let mut keys = vec![(last.clone(), v.date_of_birth.date())];
    if let Some(r) = v.registry.as_ref().filter(|r| r.date_of_birth != v.date_of_birth) {
        keys.push((last, r.date_of_birth.date()));
    }
    keys
}

/// What the import source says about the person: the row's values (no names when it gives a
/// TRN: those are the registry's).
fn import_fields(v: &ValidRow) -> ProfileFields {
    ProfileFields {
        first_name: v.first_name.clone(),
        middle_name: v.middle_name.clone(),
        last_name: v.last_name.clone(),
        preferred_name: v.preferred_name.clone(),
        display_name: None,
        email: Some(v.email.clone()),
        date_of_birth: Some(v.date_of_birth),
        trn: v.trn.clone(),
        details: Default::default(),
    }
}
