//! The seed's flowchart: what happens to a row that passed the field rules. Pure: the caller
//! looks up the facts (by email, by TRN, by name and date of birth) and carries out the action.

use std::fmt;
use std::str::FromStr;

use crate::import::rules::{notes, ValidRow};
use crate::nicknames::Nicknames;
use crate::normalize::name_key;
use crate::profile::Trn;
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub notes: Vec<String>,
    pub action: Action,
}

/// Names the user a rule fired on, so a reviewer can act on the row.
pub fn existing_user_note(id: UserId) -> String {
    format!("Existing user ID {id}")
}

fn invalid(note: &str, user: UserId) -> Decision {
    Decision {
        outcome: Outcome::Invalid,
        notes: vec![note.to_owned(), existing_user_note(user)],
        action: Action::Nothing,
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
        return Decision { outcome: Outcome::None, notes: Vec::new(), action: Action::Link(user) };
    }
    if let Some(existing) = facts.by_email {
        return match (&row.trn, &existing.trn) {
            (None, _) => Decision {
                outcome: Outcome::None,
                notes: vec![notes::EMAIL_EXISTS.to_owned()],
                action: Action::Link(existing.id),
            },
            (Some(_), None) => match facts.trn_holder {
                Some(holder) if holder != existing.id => invalid(notes::TRN_EXISTS_DIFFERENT_EMAIL, holder),
                _ => Decision {
                    outcome: Outcome::UserUpdated,
                    notes: vec![notes::UPDATED_TRN_AND_NAME.to_owned()],
                    action: Action::UpdateTrn(existing.id),
                },
            },
            (Some(row_trn), Some(user_trn)) if row_trn == user_trn => Decision {
                outcome: Outcome::None,
                notes: vec![notes::EMAIL_EXISTS.to_owned()],
                action: Action::Link(existing.id),
            },
            (Some(_), Some(_)) => invalid(notes::EMAIL_EXISTS_DIFFERENT_TRN, existing.id),
        };
    }
    let duplicates = potential_duplicates(row, facts.candidates, nicknames);
    if !duplicates.is_empty() {
        let mut notes = vec![notes::POTENTIAL_DUPLICATE.to_owned()];
        notes.extend(duplicates.into_iter().map(|(_, note)| note));
        return Decision { outcome: Outcome::Invalid, notes, action: Action::Nothing };
    }
    if let Some(holder) = facts.trn_holder {
        return invalid(notes::TRN_EXISTS, holder);
    }
    Decision { outcome: Outcome::UserAdded, notes: Vec::new(), action: Action::AddUser }
}
