//! What admin answers about review items, over HTTP and on the command line
//! (`admin reviews list --json`): the shape of docs/DESIGN.md §7.3; and a person's changes, as
//! their history and their export show them.

use chrono::{DateTime, Utc};
use identity_core::change::Change;
use identity_core::review::{Decision, ReviewCandidate};
use identity_core::{ProfileFields, UserId};
use identity_store::{ReviewItem, ReviewSubject};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub struct ItemView {
    pub id: Uuid,
    pub status: &'static str,
    pub kind: &'static str,
    pub subject: SubjectView,
    pub candidates: Vec<ReviewCandidate>,
    pub created_at: DateTime<Utc>,
    pub decision: Option<DecisionView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectView {
    Person(UserId),
    Import(ImportView),
}

#[derive(Debug, Serialize)]
pub struct ImportView {
    pub service: String,
    pub id: String,
    pub row: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<Uuid>,
    /// The import profile the row would write: what a reviewer compares with the candidates.
    pub fields: Box<ProfileFields>,
}

#[derive(Debug, Serialize)]
pub struct DecisionView {
    pub decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub survivor: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<UserId>,
    pub by: String,
    pub at: DateTime<Utc>,
}

impl From<ReviewItem> for ItemView {
    fn from(item: ReviewItem) -> Self {
        let subject = match item.subject {
            ReviewSubject::Person(p) => SubjectView::Person(p),
            ReviewSubject::Import { subject, fields } => SubjectView::Import(ImportView {
                service: subject.service.to_string(),
                id: subject.id,
                row: subject.row,
                job: subject.job,
                fields,
            }),
        };
        let decision = item.decided.map(|d| {
            let (decision, survivor, person) = match d.decision {
                Decision::Merge { survivor } => ("same", Some(survivor), None),
                Decision::Link { person } => ("same", None, Some(person)),
                Decision::Different => ("different", None, None),
            };
            DecisionView { decision, survivor, person, by: d.by, at: d.at }
        });
        Self {
            id: item.id,
            status: if decision.is_some() { "decided" } else { "open" },
            kind: item.kind.as_str(),
            subject,
            candidates: item.candidates,
            created_at: item.created_at,
            decision,
        }
    }
}

/// One change of a person's, as the history and the export show it.
#[derive(Debug, Serialize)]
pub struct ChangeView {
    pub seq: i64,
    /// The person, or (in an export) a record merged into them.
    pub user_id: UserId,
    pub kind: String,
    pub source: String,
    pub actor: String,
    pub fields: Vec<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub survivor: Option<UserId>,
    pub at: DateTime<Utc>,
}

impl From<Change> for ChangeView {
    fn from(c: Change) -> Self {
        Self {
            seq: c.seq,
            user_id: c.user_id,
            kind: c.kind.to_string(),
            source: c.source.to_string(),
            actor: c.actor,
            fields: c.fields.iter().map(ToString::to_string).collect(),
            status: c.status.to_string(),
            survivor: c.survivor,
            at: c.at,
        }
    }
}
