//! The seed's flowchart: what happens to a row that passed the field rules. Pure: the caller
//! looks up the facts (by email, by TRN, by name and date of birth) and carries out the action.

use std::fmt;
use std::str::FromStr;

use crate::import::rules::{notes, ValidRow};
use crate::matcher::{self, Person};
use crate::nicknames::Nicknames;
use crate::normalize::name_key;
use crate::profile::Trn;
use crate::review::ReviewCandidate;
use crate::user::UserId;

/// A row's result, as the result file spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    None,
    UserAdded,
    UserUpdated,
    Invalid,
}

impl Outcome {
    pub const ALL: [Self; 4] = [Self::None, Self::UserAdded, Self::UserUpdated, Self::Invalid];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::UserAdded => "UserAdded",
            Self::UserUpdated => "UserUpdated",
            Self::Invalid => "Invalid",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|o| o.as_str() == s).ok_or_else(|| format!("unknown outcome {s:?}"))
    }
}

/// A live user that holds the row's email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingUser {
    pub id: UserId,
    pub trn: Option<Trn>,
}

/// A live user with the row's last name and date of birth (first names are compared here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: UserId,
    pub first_name: String,
}

/// What the store knows that bears on a row, including rows earlier in the same file.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The user this service's ID is already linked to (a re-run).
    pub linked: Option<UserId>,
    pub by_email: Option<&'a ExistingUser>,
    /// The user holding the row's TRN.
    pub trn_holder: Option<UserId>,
    pub candidates: &'a [Candidate],
}

/// What the caller must write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing at all (an Invalid row, or a row already linked).
    Nothing,
    /// Link the row's (service, ID) to an existing user (again, on a re-run); no personal data
    /// changes.
    Link(UserId),
    /// Create a user with the row's import profile (and the registry's, with a TRN).
    AddUser,
    /// Give an existing user the row's TRN and the registry's names.
    UpdateTrn(UserId),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    pub notes: Vec<String>,
    pub action: Action,
    /// For a row the seed sends to manual review: the people its rule fired on, each with the
    /// matcher's score and reasons over what the rule compared. Empty otherwise.
    pub review: Vec<ReviewCandidate>,
}

impl Decision {
    fn of(outcome: Outcome, note: Option<&str>, action: Action) -> Self {
        Self { outcome, notes: note.map(str::to_owned).into_iter().collect(), action, review: Vec::new() }
    }
}

/// The matcher's view of what a rule compared: `a` and `b` as far as the rule saw them.
fn reviewed(person: UserId, a: &Person, b: &Person, nicknames: &Nicknames) -> ReviewCandidate {
    let m = matcher::compare(a, b, nicknames);
    ReviewCandidate { person, score: m.score, reasons: m.reasons }
}

/// Names the user a rule fired on, so a reviewer can act on the row.
pub fn existing_user_note(id: UserId) -> String {
    format!("Existing user ID {id}")
}

fn invalid(note: &str, candidate: ReviewCandidate) -> Decision {
    Decision {
        outcome: Outcome::Invalid,
        notes: vec![note.to_owned(), existing_user_note(candidate.person)],
        action: Action::Nothing,
        review: vec![candidate],
    }
}

/// The candidates (in the caller's order) whose first name is the row's or a synonym of it, each
/// with the note that names them and the rule that fired: `Existing user ID <id>: the same first
/// name, last name and date of birth`, or `…: a nickname of the first name, the same last name and
/// date of birth`. The candidate's own values are not written: the result file goes to the
/// importing service, and the person is someone else's record.
pub fn potential_duplicates(row: &ValidRow, candidates: &[Candidate], nicknames: &Nicknames) -> Vec<(UserId, String)> {
    let first = name_key(row.first_name());
    candidates
        .iter()
        .filter_map(|c| {
            let theirs = name_key(&c.first_name);
            let rule = if theirs == first {
                "the same first name, last name and date of birth"
            } else if nicknames.are_synonym_keys(&first, &theirs) {
                "a nickname of the first name, the same last name and date of birth"
            } else {
                return None;
            };
            Some((c.id, format!("{}: {rule}", existing_user_note(c.id))))
        })
        .collect()
}

pub fn decide(row: &ValidRow, facts: Facts<'_>, nicknames: &Nicknames) -> Decision {
    if let Some(user) = facts.linked {
        // Re-running a file: the row was applied before; answer as then, change nothing.
        return Decision::of(Outcome::None, None, Action::Link(user));
    }
    // What the identifier rules compared: the TRN, or the email address and both TRNs.
    let by_trn = |trn: &Trn| Person::default().with_trn(trn.as_str());
    let by_email = |trn: &Trn| Person::default().with_email(row.email.as_str()).with_trn(trn.as_str());
    if let Some(existing) = facts.by_email {
        return match (&row.trn, &existing.trn) {
            (None, _) => Decision::of(Outcome::None, Some(notes::EMAIL_EXISTS), Action::Link(existing.id)),
            (Some(row_trn), None) => match facts.trn_holder {
                Some(holder) if holder != existing.id => invalid(
                    notes::TRN_EXISTS_DIFFERENT_EMAIL,
                    reviewed(holder, &by_trn(row_trn), &by_trn(row_trn), nicknames),
                ),
                _ => Decision::of(
                    Outcome::UserUpdated,
                    Some(notes::UPDATED_TRN_AND_NAME),
                    Action::UpdateTrn(existing.id),
                ),
            },
            (Some(row_trn), Some(user_trn)) if row_trn == user_trn => {
                Decision::of(Outcome::None, Some(notes::EMAIL_EXISTS), Action::Link(existing.id))
            }
            (Some(row_trn), Some(user_trn)) => invalid(
                notes::EMAIL_EXISTS_DIFFERENT_TRN,
                reviewed(existing.id, &by_email(row_trn), &by_email(user_trn), nicknames),
            ),
        };
    }
    let duplicates = potential_duplicates(row, facts.candidates, nicknames);
    if !duplicates.is_empty() {
        // The candidates share the row's last name and date of birth (that is how they were
        // found); the rule compared first names.
        let dob = Some(row.date_of_birth.date());
        let theirs = |c: &Candidate| Person::new(&c.first_name, row.last_name(), dob);
        let ours = Person::new(row.first_name(), row.last_name(), dob);
        let review = duplicates
            .iter()
            .filter_map(|(id, _)| facts.candidates.iter().find(|c| c.id == *id))
            .map(|c| reviewed(c.id, &ours, &theirs(c), nicknames))
            .collect();
        let mut notes = vec![notes::POTENTIAL_DUPLICATE.to_owned()];
        notes.extend(duplicates.into_iter().map(|(_, note)| note));
        return Decision { outcome: Outcome::Invalid, notes, action: Action::Nothing, review };
    }
    if let (Some(holder), Some(trn)) = (facts.trn_holder, &row.trn) {
        return invalid(notes::TRN_EXISTS, reviewed(holder, &by_trn(trn), &by_trn(trn), nicknames));
    }
    Decision::of(Outcome::UserAdded, None, Action::AddUser)
}
