//! The review queue: items added by imports (in the chunk's transaction) and by the matcher, read
//! oldest first, and decided in one transaction with what the decision does (a merge, a link, a
//! new person, a pair remembered as different).

use chrono::{DateTime, Utc};
use identity_core::precedence::Precedence;
use identity_core::review::{self, Decision, DecisionError, ImportSubject, Kind, ReviewCandidate};
use identity_core::{CombinedProfile, ProfileFields, ServiceName, Source, SourceProfile, UserId, UserStatus};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row as _};
use uuid::Uuid;

use super::rows::{self, corrupt, now};
use super::write::{self, Batch, Claim, OnLinked, UserWrite};
use super::{Backend, Conn, Db, Row, DIALECT};
use crate::columns::{Column, Columns};
use crate::error::{Result, StoreError};
use crate::model::{
    Actor, NewImportReview, NewMerge, NewPeopleReview, Page, ReviewDecided, ReviewItem, ReviewQuery, ReviewSubject,
};

pub(super) const ITEM_COLUMNS: &str =
    "id, kind, subject_person, candidate_person, import_service, import_id, import_row, \
     import_job, import_fields, candidates, created_at, decision, decision_person, decided_by, decided_at";

pub(super) fn item(row: &Row) -> Result<ReviewItem> {
    let kind_text: String = row.try_get("kind")?;
    let kind = Kind::parse(&kind_text).ok_or_else(|| corrupt("review_items.kind", &kind_text))?;
    let subject = match kind {
        Kind::People => ReviewSubject::Person(rows::user_id(row, "subject_person")?),
        Kind::ImportRow => {
            let service: String = row.try_get("import_service")?;
            ReviewSubject::Import {
                subject: ImportSubject {
                    service: ServiceName::new(&service).map_err(|e| corrupt("review_items.import_service", e))?,
                    id: row.try_get("import_id")?,
                    row: row.try_get("import_row")?,
                    job: row.try_get("import_job")?,
                },
                fields: Box::new(
                    row.try_get::<Option<Json<ProfileFields>>, _>("import_fields")?.map(|j| j.0).unwrap_or_default(),
                ),
            }
        }
    };
    let decision: Option<String> = row.try_get("decision")?;
    let person = row.try_get::<Option<Uuid>, _>("decision_person")?.map(UserId::from_uuid);
    let decision = match (decision.as_deref(), person, kind) {
        (None, ..) => None,
        (Some("different"), ..) => Some(Decision::Different),
        (Some("same"), Some(survivor), Kind::People) => Some(Decision::Merge { survivor }),
        (Some("same"), Some(person), Kind::ImportRow) => Some(Decision::Link { person }),
        (Some(other), ..) => return Err(corrupt("review_items.decision", other)),
    };
    let decided = match (decision, row.try_get::<Option<String>, _>("decided_by")?, row.try_get("decided_at")?) {
        (Some(decision), Some(by), Some(at)) => Some(ReviewDecided { decision, by, at }),
        _ => None,
    };
    Ok(ReviewItem {
        id: row.try_get("id")?,
        kind,
        subject,
        candidates: row.try_get::<Json<Vec<ReviewCandidate>>, _>("candidates")?.0,
        created_at: rows::time(row, "created_at")?,
        decided,
    })
}

/// Adds import rows' items in the chunk's transaction, in one statement per [`write::BATCH`]; a
/// row with an open item already (a re-run of the file) adds none.
pub(super) async fn add_import_reviews(
    conn: &mut Conn,
    service: &ServiceName,
    items: &[NewImportReview],
    at: DateTime<Utc>,
) -> Result<()> {
    let json = |v: serde_json::Result<serde_json::Value>| v.map_err(|e| corrupt("review item", e));
    for chunk in items.chunks(write::BATCH) {
        let n = chunk.len();
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO review_items (status, kind, id, import_service, import_id, import_row, import_job, \
             import_fields, candidates, created_at) SELECT 'open', 'import_row', v.* FROM (",
        );
        super::push_columns(
            &mut qb,
            Columns(vec![
                Column::Uuid((0..n).map(|_| Uuid::now_v7()).collect()),
                Column::Text(vec![Some(service.as_str().to_owned()); n]),
                Column::Text(chunk.iter().map(|i| Some(i.external_id.clone())).collect()),
                Column::Int(chunk.iter().map(|i| i.row).collect()),
                Column::MaybeUuid(chunk.iter().map(|i| i.job).collect()),
                Column::Json(chunk.iter().map(|i| json(serde_json::to_value(&i.fields))).collect::<Result<_>>()?),
                Column::Json(chunk.iter().map(|i| json(serde_json::to_value(&i.candidates))).collect::<Result<_>>()?),
                Column::Time(vec![at; n]),
            ]),
            "true",
        );
        qb.push(
            ") AS v WHERE true ON CONFLICT (import_service, import_id) WHERE kind = 'import_row' AND status = 'open' DO NOTHING",
        );
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Queues pairs in the caller's transaction (see [`Backend::review_add_people`]).
pub(super) async fn add_people_reviews(conn: &mut Conn, pairs: &[NewPeopleReview]) -> Result<u64> {
    let at = now();
    let mut added = 0;
    for pair in pairs {
        let (low, high) = if pair.a < pair.b { (pair.a, pair.b) } else { (pair.b, pair.a) };
        let candidates = [ReviewCandidate { person: high, score: pair.score, reasons: pair.reasons.clone() }];
        added += sqlx::query(&format!(
            "INSERT INTO review_items (status, {ITEM_COLUMNS}) \
             SELECT 'open', $1, 'people', $2, $3, NULL, NULL, NULL, NULL, NULL, $4, $5, NULL, NULL, NULL, NULL \
             WHERE NOT EXISTS (SELECT 1 FROM review_different WHERE low = $2 AND high = $3) \
             AND (SELECT count(*) FROM users WHERE id IN ($2, $3) AND status NOT IN ('archived', 'erased')) = 2 \
             ON CONFLICT (subject_person, candidate_person) WHERE kind = 'people' AND status = 'open' DO NOTHING"
        ))
        .bind(Uuid::now_v7())
        .bind(low.as_uuid())
        .bind(high.as_uuid())
        .bind(Json(&candidates[..]))
        .bind(at)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(added)
}

/// The two people of a `people` item, as they are now; refused if a merge made them one.
fn pair_of(subject: Option<UserId>, candidates: &[ReviewCandidate]) -> Result<(UserId, UserId)> {
    let (Some(subject), Some(other)) = (subject, candidates.first().map(|c| c.person)) else {
        return Err(StoreError::NotFound);
    };
    if subject == other {
        return Err(StoreError::Refused(identity_core::merge::Refusal::SamePerson));
    }
    Ok((subject, other))
}

/// The person each of `ids` was merged into, for those merged.
async fn survivors_of(conn: &mut Conn, ids: &[UserId]) -> Result<std::collections::HashMap<UserId, UserId>> {
    let mut qb = QueryBuilder::<Db>::new("SELECT id, merged_into FROM users WHERE merged_into IS NOT NULL AND ");
    super::push_in(&mut qb, "id", Column::Uuid(ids.iter().map(|id| *id.as_uuid()).collect()));
    let mut out = std::collections::HashMap::new();
    for row in qb.build().fetch_all(&mut *conn).await? {
        out.insert(rows::user_id(&row, "id")?, rows::user_id(&row, "merged_into")?);
    }
    Ok(out)
}

fn undecidable(error: DecisionError) -> StoreError {
    StoreError::Undecidable(error)
}

impl Backend {
    /// Adds the matcher's pairs; a pair with an open item, decided different, or with someone
    /// archived (merged, say) adds none. Returns how many were added.
    pub(crate) async fn review_add_people(&self, pairs: &[NewPeopleReview]) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let added = add_people_reviews(&mut tx, pairs).await?;
        tx.commit().await?;
        Ok(added)
    }

    pub(crate) async fn review_get(&self, id: Uuid) -> Result<ReviewItem> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE id = $1");
        let row = self.conns.fetch_optional(sqlx::query(&sql).bind(id)).await?.ok_or(StoreError::NotFound)?;
        item(&row)
    }

    pub(crate) async fn review_list(&self, q: &ReviewQuery) -> Result<Page<ReviewItem, Uuid>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE status = "));
        qb.push_bind(if q.open { "open" } else { "decided" });
        if let Some(kind) = q.kind {
            qb.push(" AND kind = ").push_bind(kind.as_str());
        }
        if let Some(service) = &q.service {
            qb.push(" AND import_service = ").push_bind(service.as_str().to_owned());
        }
        if let Some(after) = q.after {
            qb.push(" AND id > ").push_bind(after);
        }
        qb.push(" ORDER BY id LIMIT ").push_bind(i64::from(q.limit) + 1);
        let found = self.conns.fetch_all(qb.build()).await?;
        let mut items = found.iter().map(item).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > q.limit as usize {
            items.truncate(q.limit as usize);
            items.last().map(|i| i.id)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Decides an open item and does what the decision says, in one transaction: a second
    /// reviewer deciding the same item waits for the first and is refused.
    pub(crate) async fn review_decide(&self, id: Uuid, decision: Decision, actor: &Actor) -> Result<ReviewItem> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE id = $1{}", DIALECT.for_update());
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let mut found = item(&row)?;
        if found.decided.is_some() {
            return Err(undecidable(DecisionError::Decided));
        }
        // Someone merged since the item was queued is decided as the person they were merged into.
        let mut named: Vec<UserId> = found.candidates.iter().map(|c| c.person).collect();
        if let ReviewSubject::Person(p) = &found.subject {
            named.push(*p);
        }
        if let Decision::Merge { survivor: p } | Decision::Link { person: p } = decision {
            named.push(p);
        }
        let survivors = survivors_of(&mut tx, &named).await?;
        // Everyone the decision may write, locked before the version is read (the writes lock
        // them again, a no-op): a version set after this reaches them by the re-derivation.
        let mut people: Vec<UserId> = named.iter().map(|p| survivors.get(p).copied().unwrap_or(*p)).collect();
        people.sort();
        people.dedup();
        write::lock_users(&mut tx, &people).await?;
        let precedence = super::precedence::in_force(&mut tx, &self.precedence).await?;
        let precedence = &precedence.precedence;
        let now = |p: UserId| survivors.get(&p).copied().unwrap_or(p);
        let candidates: Vec<ReviewCandidate> =
            found.candidates.iter().map(|c| ReviewCandidate { person: now(c.person), ..c.clone() }).collect();
        let decision = match decision {
            Decision::Merge { survivor } => Decision::Merge { survivor: now(survivor) },
            Decision::Link { person } => Decision::Link { person: now(person) },
            Decision::Different => Decision::Different,
        };
        let subject = match &found.subject {
            ReviewSubject::Person(p) => Some(now(*p)),
            ReviewSubject::Import { .. } => None,
        };
        review::check(found.kind, subject, &candidates, &decision).map_err(undecidable)?;
        match (&found.subject, decision) {
            (ReviewSubject::Person(_), Decision::Merge { survivor }) => {
                let (subject, other) = pair_of(subject, &candidates)?;
                let merged = if survivor == subject { other } else { subject };
                let merge = NewMerge { survivor, merged, reason: format!("review {id}") };
                super::merges::merge_in(&mut tx, &merge, precedence, actor, at).await?;
            }
            (ReviewSubject::Person(_), Decision::Different) => {
                let (subject, other) = pair_of(subject, &candidates)?;
                sqlx::query(
                    "INSERT INTO review_different (low, high, decided_by, decided_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (low, high) DO NOTHING",
                )
                .bind(subject.min(other).as_uuid())
                .bind(subject.max(other).as_uuid())
                .bind(&actor.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            (ReviewSubject::Import { subject, fields }, Decision::Link { person }) => {
                link_row(&mut tx, subject, fields, person, precedence, actor, at).await?;
            }
            (ReviewSubject::Import { subject, fields }, Decision::Different) => {
                new_person_of_row(&mut tx, subject, fields, precedence, actor, at).await?;
            }
            // `review::check` refused the rest.
            _ => return Err(undecidable(DecisionError::Decided)),
        }
        let (text, person) = match decision {
            Decision::Different => ("different", None),
            Decision::Merge { survivor: p } | Decision::Link { person: p } => ("same", Some(p)),
        };
        sqlx::query(
            "UPDATE review_items SET status = 'decided', decision = $2, decision_person = $3, decided_by = $4, \
             decided_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(text)
        .bind(person.map(|p| *p.as_uuid()))
        .bind(&actor.0)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        found.decided = Some(ReviewDecided { decision, by: actor.0.clone(), at });
        Ok(found)
    }
}

/// The row is `person`: the service's ID is linked to them and the row's import profile becomes
/// theirs, so the service reads the person's id (the api's lookup by link) as the seed's
/// "manual review" asks.
async fn link_row(
    conn: &mut Conn,
    subject: &ImportSubject,
    fields: &ProfileFields,
    person: UserId,
    precedence: &Precedence,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    let sql = format!("SELECT status FROM users WHERE id = $1{}", DIALECT.for_update());
    let row = sqlx::query(&sql).bind(person.as_uuid()).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound)?;
    let status = rows::status(&row, "status")?;
    if status.is_gone() {
        return Err(StoreError::Refused(identity_core::merge::Refusal::MergedArchived(person)));
    }
    let profiles = write::load_profiles(conn, person).await?;
    let source = Source::Import(subject.service.clone());
    let empty = serde_json::Value::Object(serde_json::Map::new());
    // Only the address the person ends with must be free: the row's may be someone else's (the
    // reason it was sent to review) and lose to the person's own by precedence.
    let mut own: Vec<SourceProfile> = profiles.own.iter().filter(|p| p.source != source).map(From::from).collect();
    own.push(SourceProfile { source: source.clone(), fields: fields.clone(), updated_at: at });
    let absorbed: Vec<SourceProfile> = profiles.absorbed.iter().map(From::from).collect();
    let email = CombinedProfile::derive_with(&own, &absorbed, precedence).email.map(|e| e.value.key());
    let mut batch = Batch::new(conn);
    let mut claims = vec![Claim::Link { source: &source, external_id: &subject.id, except: None }];
    claims.extend(email.filter(|_| status.holds_identifiers()).map(|key| Claim::Email { key, except: Some(person) }));
    batch.guard(&claims).await?;
    write::insert_links(&mut batch, &[(&source, subject.id.as_str(), person)], OnLinked::Fail, at).await?;
    let put = vec![(&source, Some(subject.id.as_str()), fields, &empty)];
    let user = UserWrite {
        user_id: person,
        status,
        is_new: false,
        status_changed: false,
        existing: &profiles.own,
        absorbed: &profiles.absorbed,
        put,
    };
    write::write_users(&mut batch, &[user], precedence, &actor.0, at).await?;
    batch.finish_guarded().await
}

/// The row is nobody identity holds: a new person is made from its import profile, as the
/// import would have made one.
async fn new_person_of_row(
    conn: &mut Conn,
    subject: &ImportSubject,
    fields: &ProfileFields,
    precedence: &Precedence,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    let id = UserId::random();
    let source = Source::Import(subject.service.clone());
    let empty = serde_json::Value::Object(serde_json::Map::new());
    let mut batch = Batch::new(conn);
    let email = fields.email.as_ref().map(|e| e.key());
    let mut claims = vec![Claim::Link { source: &source, external_id: &subject.id, except: None }];
    claims.extend(email.map(|key| Claim::Email { key, except: None }));
    // The registry links a TRN to one person: a row whose TRN is someone's is that person.
    let trn = fields.trn.as_ref().map(|t| t.as_str().to_owned());
    if let Some(trn) = &trn {
        claims.push(Claim::Link { source: &Source::Registry, external_id: trn, except: None });
    }
    batch.guard(&claims).await?;
    write::insert_users(&mut batch, &[(id, UserStatus::Active)], at).await?;
    write::insert_links(&mut batch, &[(&source, subject.id.as_str(), id)], OnLinked::Fail, at).await?;
    let put = vec![(&source, Some(subject.id.as_str()), fields, &empty)];
    let user = UserWrite {
        user_id: id,
        status: UserStatus::Active,
        is_new: true,
        status_changed: false,
        existing: &[],
        absorbed: &[],
        put,
    };
    write::write_users(&mut batch, &[user], precedence, &actor.0, at).await?;
    batch.finish_guarded().await
}
