//! The field rules of an import row (DESIGN.md §4, seed 002): every failing rule adds its note,
//! in the table's order, to the letter.

use crate::import::header::{Column, Header};
use crate::import::records::{RawRecord, MAX_RECORD_BYTES};
use crate::profile::{DateOfBirth, Email, Trn};
use crate::registry::RegistryRecord;

/// The notes, to the letter of the seed (and ours, for what it leaves open, marked).
pub mod notes {
    pub const FIELDS_LESS: &str = "Exactly 8 fields expected (this row has less)";
    pub const FIELDS_MORE: &str = "Exactly 8 fields expected (this row has more)";
    /// Ours: a record longer than the reader keeps.
    pub const TOO_LONG: &str = "Row is longer than the maximum of 65536 bytes";
    /// Ours: bytes that are not UTF-8 (the file was saved in another encoding).
    pub const NOT_UTF8: &str = "Row contains bytes that are not valid UTF-8";
    pub const ID_EMPTY: &str = "ID field is empty";
    pub const ID_TOO_LONG: &str = "ID field should have a maximum of 100 characters";
    pub const EMAIL_EMPTY: &str = "EMAIL_ADDRESS field is empty";
    pub const EMAIL_TOO_LONG: &str = "EMAIL_ADDRESS field should have a maximum of 200 characters";
    pub const EMAIL_FORMAT: &str = "EMAIL_ADDRESS field should be in a valid email address format";
    pub const TRN_FORMAT: &str = "TRN field must be empty or a 7 digit number";
    pub const TRN_NOT_IN_REGISTRY: &str = "TRN field must match a record in DQT";
    pub const PREFERRED_NAME_TOO_LONG: &str = "PREFERRED_NAME field should have a maximum of 200 characters";
    pub const DOB_EMPTY: &str = "DATE_OF_BIRTH field is empty";
    pub const DOB_FORMAT: &str = "DATE_OF_BIRTH field should be a valid date in ddMMyyyy format";
    pub const POTENTIAL_DUPLICATE: &str = "Potential duplicate user";
    pub const EMAIL_EXISTS: &str = "A user already exists with the specified email address";
    pub const EMAIL_EXISTS_DIFFERENT_TRN: &str =
        "A user already exists with the specified email address but a different TRN";
    pub const TRN_EXISTS_DIFFERENT_EMAIL: &str =
        "A user already exists with the specified TRN but a different email address";
    pub const TRN_EXISTS: &str = "A user already exists with the specified TRN";
    pub const UPDATED_TRN_AND_NAME: &str = "Updated TRN and name for existing user";

    pub fn name_empty(column: &str) -> String {
        format!("{column} field is empty")
    }

    pub fn name_too_long(column: &str) -> String {
        format!("{column} field should have a maximum of 200 characters")
    }

    pub fn name_must_be_empty(column: &str) -> String {
        format!("{column} field must be empty when TRN field is specified")
    }

    /// Ours: a NUL character, which no field needs and PostgreSQL's text cannot hold.
    pub fn contains_nul(column: &str) -> String {
        format!("{column} field must not contain NUL characters")
    }
}

/// A row that passed every field rule, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRow {
    pub id: String,
    pub email: Email,
    pub trn: Option<Trn>,
    /// From the row; all absent when the row gives a TRN (the registry's are used).
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub preferred_name: Option<String>,
    pub date_of_birth: DateOfBirth,
    /// The registry's record of the row's TRN.
    pub registry: Option<RegistryRecord>,
}

impl ValidRow {
    /// The first name a person is matched on: the registry's when the row gives a TRN.
    pub fn first_name(&self) -> &str {
        self.registry.as_ref().map_or(self.first_name.as_deref().unwrap_or(""), |r| &r.first_name)
    }

    pub fn last_name(&self) -> &str {
        self.registry.as_ref().map_or(self.last_name.as_deref().unwrap_or(""), |r| &r.last_name)
    }
}

/// Why a record cannot even be read as eight fields, if so. Decided when the file is read;
/// such a record gets only this note.
pub fn record_problem(record: &RawRecord) -> Option<&'static str> {
    if record.field_count < Column::ALL.len() {
        Some(notes::FIELDS_LESS)
    } else if record.field_count > Column::ALL.len() {
        Some(notes::FIELDS_MORE)
    } else if record.too_long || record.raw.len() > MAX_RECORD_BYTES {
        Some(notes::TOO_LONG)
    } else if record.fields.iter().any(|f| std::str::from_utf8(f).is_err()) {
        Some(notes::NOT_UTF8)
    } else {
        None
    }
}

/// A record whose field holds a NUL character, with a note naming the first such field. Such a
/// record gets only this note.
pub fn nul_problem(header: &Header, record: &RawRecord) -> Option<String> {
    let at = record.fields.iter().position(|f| f.contains(&0))?;
    let column = Column::ALL.into_iter().find(|c| header.position(*c) == at)?;
    Some(notes::contains_nul(column.name()))
}

/// The eight fields of a record, by column, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields<'a> {
    values: [&'a str; 8],
}

impl<'a> Fields<'a> {
    /// Picks the columns out of a record's fields (which must be eight).
    pub fn new(header: &Header, fields: &[&'a str]) -> Option<Self> {
        if fields.len() != Column::ALL.len() {
            return None;
        }
        let mut values = [""; 8];
        for (i, column) in Column::ALL.into_iter().enumerate() {
            values[i] = fields.get(header.position(column)).map_or("", |v| v.trim());
        }
        Some(Self { values })
    }

    pub fn get(&self, column: Column) -> &'a str {
        let i = Column::ALL.iter().position(|c| *c == column).unwrap_or(0);
        self.values[i]
    }

    /// The TRN, when well-formed: what to look up in the registry before [`check`].
    pub fn trn(&self) -> Option<Trn> {
        Trn::parse(self.get(Column::Trn)).ok()
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn optional(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Applies the field rules. `registry` is the registry's record of the row's TRN, looked up by
/// the caller (absent when there is none).
pub fn check(fields: &Fields<'_>, registry: Option<&RegistryRecord>) -> Result<ValidRow, Vec<String>> {
    let mut notes: Vec<String> = Vec::new();
    let mut note = |n: &str| notes.push(n.to_owned());

    let id = fields.get(Column::Id);
    if id.is_empty() {
        note(notes::ID_EMPTY);
    } else if chars(id) > 100 {
        note(notes::ID_TOO_LONG);
    }

    let email_text = fields.get(Column::EmailAddress);
    let email = if email_text.is_empty() {
        note(notes::EMAIL_EMPTY);
        None
    } else {
        if chars(email_text) > 200 {
            note(notes::EMAIL_TOO_LONG);
        }
        match Email::parse(email_text) {
            Ok(e) => Some(e),
            Err(crate::profile::EmailError::TooLong) if chars(email_text) > 200 => None,
            Err(_) => {
                note(notes::EMAIL_FORMAT);
                None
            }
        }
    };

    let trn_text = fields.get(Column::Trn);
    let trn_given = !trn_text.is_empty();
    let trn = if trn_given {
        match Trn::parse(trn_text) {
            Ok(trn) => {
                if registry.is_none_or(|r| r.trn != trn) {
                    note(notes::TRN_NOT_IN_REGISTRY);
                }
                Some(trn)
            }
            Err(_) => {
                note(notes::TRN_FORMAT);
                None
            }
        }
    } else {
        None
    };

    for (column, required) in [(Column::FirstName, true), (Column::MiddleName, false), (Column::LastName, true)] {
        let value = fields.get(column);
        if trn_given {
            if !value.is_empty() {
                note(&notes::name_must_be_empty(column.name()));
            }
        } else if value.is_empty() {
            if required {
                note(&notes::name_empty(column.name()));
            }
        } else if chars(value) > 200 {
            note(&notes::name_too_long(column.name()));
        }
    }

    let preferred = fields.get(Column::PreferredName);
    if chars(preferred) > 200 {
        note(notes::PREFERRED_NAME_TOO_LONG);
    }

    let dob_text = fields.get(Column::DateOfBirth);
    let dob = if dob_text.is_empty() {
        note(notes::DOB_EMPTY);
        None
    } else {
        let parsed = DateOfBirth::parse_ddmmyyyy(dob_text).ok();
        if parsed.is_none() {
            note(notes::DOB_FORMAT);
        }
        parsed
    };

    match (email, dob) {
        (Some(email), Some(date_of_birth)) if notes.is_empty() => Ok(ValidRow {
            id: id.to_owned(),
            email,
            registry: trn.as_ref().and(registry.cloned()),
            trn,
            first_name: optional(fields.get(Column::FirstName)),
            middle_name: optional(fields.get(Column::MiddleName)),
            last_name: optional(fields.get(Column::LastName)),
            preferred_name: optional(preferred),
            date_of_birth,
        }),
        _ => Err(notes),
    }
}
