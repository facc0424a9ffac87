//! Reads an import file, in pieces, into its header and numbered rows. Bounded memory: the
//! caller takes rows away as they complete.

use identity_core::import::header::HeaderError;
use identity_core::import::records::{RawRecord, RecordSplitter};
use identity_core::import::rules::{nul_problem, record_problem};
use identity_core::import::{Column, Header};

use crate::engine::InputRow;

/// Why a file was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error("the file has a header but no data rows")]
    NoRows,
}

#[derive(Debug, Default)]
pub struct CsvInput {
    splitter: RecordSplitter,
    header: Option<Header>,
    records: Vec<RawRecord>,
    rows: i64,
}

impl CsvInput {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next piece of the file; completed rows are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<InputRow>) -> Result<(), FileError> {
        self.splitter.feed(bytes, &mut self.records);
        self.drain(out)
    }

    /// Ends the file. Refuses an empty file and a file with only a header.
    pub fn finish(&mut self, out: &mut Vec<InputRow>) -> Result<(), FileError> {
        self.splitter.finish(&mut self.records);
        self.drain(out)?;
        if self.header.is_none() {
            return Err(HeaderError::Empty.into());
        }
        if self.rows == 0 {
            return Err(FileError::NoRows);
        }
        Ok(())
    }

    /// The header, once read.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Data rows read so far.
    pub fn rows(&self) -> i64 {
        self.rows
    }

    fn drain(&mut self, out: &mut Vec<InputRow>) -> Result<(), FileError> {
        for record in self.records.drain(..) {
            let Some(header) = &self.header else {
                self.header = Some(parse_header(&record)?);
                continue;
            };
            self.rows += 1;
            let problem = record_problem(&record).map(str::to_owned).or_else(|| nul_problem(header, &record));
            let source_id = if problem.is_none() {
                record
                    .fields
                    .get(header.position(Column::Id))
                    .map(|f| String::from_utf8_lossy(f).trim().to_owned())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            out.push(InputRow { row_number: self.rows, source_id, raw: stored_text(&record.raw), problem });
        }
        Ok(())
    }
}

/// A record's text as it is kept: bytes that are not UTF-8, and NUL characters (which
/// PostgreSQL's text cannot hold), each shown as U+FFFD.
fn stored_text(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    if text.contains('\0') {
        text.replace('\0', "\u{fffd}")
    } else {
        text.into_owned()
    }
}

/// The header record's columns. A header with more columns than a record keeps, or longer than
/// a record may be, arrives without its fields: its names are then read from its (bounded) text,
/// so that the refusal names the column that should not be there rather than a missing `ID`.
fn parse_header(record: &RawRecord) -> Result<Header, HeaderError> {
    if !record.too_long && record.fields.len() == record.field_count {
        return Header::parse(&record.fields);
    }
    let names: Vec<Vec<u8>> = record
        .raw
        .split(|b| *b == b',')
        .map(|f| f.strip_prefix(b"\"").and_then(|f| f.strip_suffix(b"\"")).unwrap_or(f).to_vec())
        .collect();
    Header::parse(&names)?;
    let unexpected = vec![format!("{} columns", record.field_count)];
    Err(HeaderError::Columns { unexpected, duplicate: Vec::new(), missing: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH";

    fn read(input: &[u8]) -> Result<Vec<InputRow>, FileError> {
        let mut csv = CsvInput::new();
        let mut out = Vec::new();
        csv.feed(input, &mut out)?;
        csv.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn rows_are_numbered_from_one_with_their_text_and_problems() {
        let input = format!("\u{feff}{HEADER}\r\n a1 ,a@b.co,,A,,B,,01011990\r\nshort,row\r\n\r\n");
        let rows = read(input.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].row_number, rows[0].source_id.as_str(), rows[0].raw.as_str()),
            (1, "a1", " a1 ,a@b.co,,A,,B,,01011990")
        );
        assert_eq!(rows[0].problem, None);
        assert_eq!(rows[1].problem.as_deref(), Some("Exactly 8 fields expected (this row has less)"));
        assert_eq!(rows[1].source_id, "");
    }

    #[test]
    fn whole_file_problems_are_refused() {
        assert_eq!(read(b""), Err(FileError::Header(HeaderError::Empty)));
        assert_eq!(read(format!("{HEADER}\n\n").as_bytes()), Err(FileError::NoRows));
        assert!(matches!(read(b"ID,EMAIL\n1,a@b.co\n"), Err(FileError::Header(HeaderError::Columns { .. }))));
        let unexpected = |names: Vec<String>| {
            Err(FileError::Header(HeaderError::Columns { unexpected: names, duplicate: vec![], missing: vec![] }))
        };
        // Too many columns for a record to keep: still the columns that should not be there.
        let wide: String = (0..10_000).map(|i| format!(",X{i}")).collect();
        assert_eq!(
            read(format!("{HEADER}{wide}\n1,a@b.co,,A,,B,,01011990\n").as_bytes()),
            unexpected((0..20).map(|i| format!("X{i}")).collect())
        );
        let long = "Y".repeat(70_000);
        assert_eq!(
            read(format!("{HEADER},{long}\n1,a@b.co,,A,,B,,01011990,x\n").as_bytes()),
            unexpected(vec!["Y".repeat(100)])
        );
    }

    #[test]
    fn bad_bytes_are_kept_visible_in_raw_data() {
        let rows =
            read(format!("{HEADER}\n1,caf\u{e9}@b.co,,A,,B,,01011990\n").replace('\u{e9}', "\u{fffd}").as_bytes())
                .unwrap();
        assert_eq!(rows[0].problem, None, "U+FFFD is valid UTF-8");
        let mut bytes = format!("{HEADER}\n").into_bytes();
        bytes.extend_from_slice(b"1,caf\xe9@b.co,,A,,B,,01011990\n");
        let rows = read(&bytes).unwrap();
        assert_eq!(rows[0].problem.as_deref(), Some("Row contains bytes that are not valid UTF-8"));
        assert!(rows[0].raw.contains('\u{fffd}'));
    }

    #[test]
    fn a_nul_character_makes_its_row_invalid_naming_the_field() {
        let rows =
            read(format!("{HEADER}\n1,a@b.co,,A\0n,,B,,01011990\n2,b@b.co,,A,,B,,01011990\n").as_bytes()).unwrap();
        assert_eq!(rows[0].problem.as_deref(), Some("FIRST_NAME field must not contain NUL characters"));
        assert_eq!(rows[0].raw, "1,a@b.co,,A\u{fffd}n,,B,,01011990", "kept, with the NUL shown");
        assert_eq!(rows[1].problem, None);
    }
}
