//! The review queue: a subject (an import row, or a person) and the people it may be, each with
//! the matcher's score and reasons; and the decisions a reviewer can make about it.

use serde::{Deserialize, Serialize};

use crate::matcher::Reason;
use crate::source::ServiceName;
use crate::user::UserId;

/// Someone the subject may be, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewCandidate {
    pub person: UserId,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// Where an item comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An import row the seed's rules sent to manual review.
    ImportRow,
    /// Two people the matcher found alike.
    People,
}

impl Kind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ImportRow => "import_row",
            Self::People => "people",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::ImportRow, Self::People].into_iter().find(|k| k.as_str() == text)
    }
}

/// An import row waiting for review: the row, and what it would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSubject {
    pub service: ServiceName,
    /// The row's ID in the service.
    pub id: String,
    pub row: i64,
    /// The upload's job; none for a command-line import.
    pub job: Option<uuid::Uuid>,
}

/// What a reviewer decided (`{"decision": "same", "survivor"|"person": …}` or
/// `{"decision": "different"}` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// People: the same person; the other is merged into `survivor`.
    Merge { survivor: UserId },
    /// An import row: it is `person`, who gets its link and import profile.
    Link { person: UserId },
    /// Not the same. People: the pair is remembered and never queued again. An import row: a new
    /// person is made from it.
    Different,
}

/// Why a decision does not fit its item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("this item is decided already")]
    Decided,
    #[error("a people item is decided with a survivor, not a person to link")]
    LinkForPeople,
    #[error("an import row is decided with the person it is, not a survivor")]
    MergeForImportRow,
    #[error("{0} is not one of this item's people")]
    NotInItem(UserId),
}

/// Whether `decision` fits an open item of `kind` about `subject` (for people) with these
/// candidates: the survivor or the person linked must be one of the item's people.
pub fn check(
    kind: Kind,
    subject: Option<UserId>,
    candidates: &[ReviewCandidate],
    decision: &Decision,
) -> Result<(), DecisionError> {
    let named = |id: UserId| subject == Some(id) || candidates.iter().any(|c| c.person == id);
    match (kind, decision) {
        (_, Decision::Different) => Ok(()),
        (Kind::People, Decision::Link { .. }) => Err(DecisionError::LinkForPeople),
        (Kind::ImportRow, Decision::Merge { .. }) => Err(DecisionError::MergeForImportRow),
        (_, Decision::Merge { survivor: id } | Decision::Link { person: id }) => {
            if named(*id) {
                Ok(())
            } else {
                Err(DecisionError::NotInItem(*id))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(person: UserId) -> ReviewCandidate {
        ReviewCandidate { person, score: 0.9, reasons: vec![] }
    }

    #[test]
    fn a_decision_names_one_of_the_items_people() {
        let (subject, other, stranger) = (UserId::random(), UserId::random(), UserId::random());
        let people = [candidate(other)];
        assert_eq!(check(Kind::People, Some(subject), &people, &Decision::Merge { survivor: subject }), Ok(()));
        assert_eq!(check(Kind::People, Some(subject), &people, &Decision::Merge { survivor: other }), Ok(()));
        assert_eq!(
            check(Kind::People, Some(subject), &people, &Decision::Merge { survivor: stranger }),
            Err(DecisionError::NotInItem(stranger))
        );
        assert_eq!(
            check(Kind::People, Some(subject), &people, &Decision::Link { person: other }),
            Err(DecisionError::LinkForPeople)
        );
        assert_eq!(check(Kind::ImportRow, None, &people, &Decision::Link { person: other }), Ok(()));
        assert_eq!(
            check(Kind::ImportRow, None, &people, &Decision::Link { person: stranger }),
            Err(DecisionError::NotInItem(stranger))
        );
        assert_eq!(
            check(Kind::ImportRow, None, &people, &Decision::Merge { survivor: other }),
            Err(DecisionError::MergeForImportRow)
        );
        assert_eq!(check(Kind::ImportRow, None, &people, &Decision::Different), Ok(()));
    }
}
