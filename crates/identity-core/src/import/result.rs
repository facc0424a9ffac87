//! The result file: `ROW_NUMBER,ID,USER_ID,USER_IMPORT_ROW_RESULT,NOTES,RAW_DATA`, one line per
//! input record in input order. (Seed 002 spells the fourth column USER_USER_IMPORT_ROW_RESULT;
//! DESIGN.md fixes the typo.)

use crate::import::decide::Outcome;
use crate::user::UserId;

pub const RESULT_HEADER: &str = "ROW_NUMBER,ID,USER_ID,USER_IMPORT_ROW_RESULT,NOTES,RAW_DATA";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    /// Counts data records from 1.
    pub row_number: u64,
    /// The row's ID field, when it could be read.
    pub id: String,
    pub user_id: Option<UserId>,
    pub outcome: Outcome,
    pub notes: Vec<String>,
    /// The record's original text.
    pub raw: String,
}

/// Notes as the file shows them: joined with ". ", no trailing period.
pub fn join_notes(notes: &[String]) -> String {
    notes.join(". ")
}

/// Quotes a CSV field when it needs it (RFC 4180): commas, quotes, line breaks, or surrounding
/// spaces, which some readers would trim.
fn field(out: &mut String, value: &str) {
    let needs = value.contains([',', '"', '\n', '\r']) || value.starts_with(' ') || value.ends_with(' ');
    if needs {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

impl ResultRow {
    /// The row as one CSV record, with a CRLF terminator (RFC 4180; Excel reads it everywhere).
    pub fn to_csv_line(&self) -> String {
        let mut out = String::with_capacity(self.raw.len() + 96);
        out.push_str(&self.row_number.to_string());
        out.push(',');
        field(&mut out, &self.id);
        out.push(',');
        if let Some(id) = self.user_id {
            out.push_str(&id.to_string());
        }
        out.push(',');
        out.push_str(self.outcome.as_str());
        out.push(',');
        field(&mut out, &join_notes(&self.notes));
        out.push(',');
        field(&mut out, &self.raw);
        out.push_str("\r\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::records::split_all;

    #[test]
    fn lines_quote_what_needs_quoting_and_read_back() {
        let id = UserId::random();
        let row = ResultRow {
            row_number: 7,
            id: "A-1".into(),
            user_id: Some(id),
            outcome: Outcome::Invalid,
            notes: vec!["Potential duplicate user".into(), "Existing user ID x".into()],
            raw: "A-1,\"ann, \"\"jo\"\"\",x\nmore".into(),
        };
        let line = row.to_csv_line();
        assert!(line.starts_with(&format!("7,A-1,{id},Invalid,Potential duplicate user. Existing user ID x,\"")));
        assert!(line.ends_with("\r\n"));
        let back = split_all(line.as_bytes());
        assert_eq!(back.len(), 1);
        assert_eq!(String::from_utf8(back[0].fields[5].clone()).unwrap(), row.raw);
        let plain = ResultRow {
            row_number: 1,
            id: String::new(),
            user_id: None,
            outcome: Outcome::None,
            notes: vec![],
            raw: "x".into(),
        };
        assert_eq!(plain.to_csv_line(), "1,,,None,,x\r\n");
    }
}
