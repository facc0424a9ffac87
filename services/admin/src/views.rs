//! What admin answers about review items, over HTTP and on the command line
//! (`admin reviews list --json`): the shape of docs/DESIGN.md §7.3.

use chrono::{DateTime, Utc};
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
