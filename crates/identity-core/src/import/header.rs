//! The import file's header: eight names, exact and case-sensitive, each once, in any order.

use std::fmt;

/// The columns of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Id,
    EmailAddress,
    Trn,
    FirstName,
    MiddleName,
    LastName,
    PreferredName,
    DateOfBirth,
}

impl Column {
    pub const ALL: [Self; 8] = [
        Self::Id,
        Self::EmailAddress,
        Self::Trn,
        Self::FirstName,
        Self::MiddleName,
        Self::LastName,
        Self::PreferredName,
        Self::DateOfBirth,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Id => "ID",
            Self::EmailAddress => "EMAIL_ADDRESS",
            Self::Trn => "TRN",
            Self::FirstName => "FIRST_NAME",
            Self::MiddleName => "MIDDLE_NAME",
            Self::LastName => "LAST_NAME",
            Self::PreferredName => "PREFERRED_NAME",
            Self::DateOfBirth => "DATE_OF_BIRTH",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a header was refused. A header with wrong columns names every one of them, so that a
/// file is mended in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the file is empty: expected a header line {}", expected())]
    Empty,
    #[error("the header is not valid UTF-8")]
    NotUtf8,
    #[error("{}", columns_message(unexpected, duplicate, missing))]
    Columns {
        /// Names that are not columns, as the file spelled them (at most 100 characters each).
        unexpected: Vec<String>,
        /// Columns that appear more than once.
        duplicate: Vec<Column>,
        /// Columns that do not appear.
        missing: Vec<Column>,
    },
}

/// At most this many unexpected names are listed (a header of 10,000 columns names 20).
const MAX_LISTED: usize = 20;

fn expected() -> String {
    Column::ALL.map(Column::name).join(",")
}

fn columns_message(unexpected: &[String], duplicate: &[Column], missing: &[Column]) -> String {
    let list = |names: Vec<String>| names.join(", ");
    let mut parts = Vec::new();
    if !unexpected.is_empty() {
        // Names are exact: one that is a column but for case or spaces says which it would be.
        let quoted = unexpected
            .iter()
            .map(|n| match Column::from_name(&n.trim().to_ascii_uppercase()) {
                Some(c) => format!("{n:?} (names are exact: {c}?)"),
                None => format!("{n:?}"),
            })
            .collect();
        let noun = if unexpected.len() == 1 { "unexpected column" } else { "unexpected columns" };
        parts.push(format!("{noun} {}", list(quoted)));
    }
    if !duplicate.is_empty() {
        let noun = if duplicate.len() == 1 { "column" } else { "columns" };
        parts.push(format!("{noun} {} more than once", list(duplicate.iter().map(ToString::to_string).collect())));
    }
    if !missing.is_empty() {
        let noun = if missing.len() == 1 { "missing column" } else { "missing columns" };
        parts.push(format!("{noun} {}", list(missing.iter().map(ToString::to_string).collect())));
    }
    format!("the header is wrong: {} (expected {})", parts.join("; "), expected())
}

/// Where each column sits in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Column of each position.
    order: Vec<Column>,
}

impl Header {
    /// Checks a header record's fields.
    pub fn parse(fields: &[Vec<u8>]) -> Result<Self, HeaderError> {
        let mut order = Vec::with_capacity(8);
        let (mut unexpected, mut duplicate) = (Vec::new(), Vec::new());
        for field in fields {
            let name = std::str::from_utf8(field).map_err(|_| HeaderError::NotUtf8)?;
            match Column::from_name(name) {
                Some(column) if order.contains(&column) && !duplicate.contains(&column) => duplicate.push(column),
                Some(column) if order.contains(&column) => {}
                Some(column) => order.push(column),
                None if unexpected.len() < MAX_LISTED => unexpected.push(name.chars().take(100).collect()),
                None => {}
            }
        }
        let missing: Vec<Column> = Column::ALL.into_iter().filter(|c| !order.contains(c)).collect();
        if unexpected.is_empty() && duplicate.is_empty() && missing.is_empty() {
            Ok(Self { order })
        } else {
            Err(HeaderError::Columns { unexpected, duplicate, missing })
        }
    }

    /// The header as the file spelled it, in its order (stored with a job to read rows later).
    pub fn to_line(&self) -> String {
        self.order.iter().map(|c| c.name()).collect::<Vec<_>>().join(",")
    }

    /// Rebuilds a header saved with [`Header::to_line`].
    pub fn from_line(line: &str) -> Result<Self, HeaderError> {
        let fields: Vec<Vec<u8>> = line.split(',').map(|s| s.as_bytes().to_vec()).collect();
        Self::parse(&fields)
    }

    /// The position of a column.
    pub fn position(&self, column: Column) -> usize {
        self.order.iter().position(|c| *c == column).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<Vec<u8>> {
        line.split(',').map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn columns_in_any_order_are_accepted() {
        let h = Header::parse(&fields(
            "DATE_OF_BIRTH,ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME",
        ))
        .unwrap();
        assert_eq!(h.position(Column::Id), 1);
        assert_eq!(h.position(Column::DateOfBirth), 0);
        assert_eq!(Header::from_line(&h.to_line()).unwrap(), h);
    }

    #[test]
    fn wrong_headers_name_every_wrong_column() {
        let columns = |unexpected: &[&str], duplicate: &[Column], missing: &[Column]| HeaderError::Columns {
            unexpected: unexpected.iter().map(|s| (*s).to_owned()).collect(),
            duplicate: duplicate.to_vec(),
            missing: missing.to_vec(),
        };
        let cases = [
            (
                "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME",
                columns(&[], &[], &[Column::DateOfBirth]),
            ),
            (
                "ID,EMAIL,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH",
                columns(&["EMAIL"], &[], &[Column::EmailAddress]),
            ),
            (
                "id,email_address,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH",
                columns(&["id", "email_address"], &[], &[Column::Id, Column::EmailAddress]),
            ),
            (
                "ID,ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH",
                columns(&[], &[Column::Id], &[]),
            ),
            (
                "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH,EXTRA",
                columns(&["EXTRA"], &[], &[]),
            ),
            (
                " ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH",
                columns(&[" ID"], &[], &[Column::Id]),
            ),
        ];
        for (line, err) in cases {
            assert_eq!(Header::parse(&fields(line)), Err(err.clone()), "{line}");
        }
        assert_eq!(
            Header::parse(&fields("id,email,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH,TRN"))
                .unwrap_err()
                .to_string(),
            "the header is wrong: unexpected columns \"id\" (names are exact: ID?), \"email\"; column TRN more than \
             once; missing columns ID, EMAIL_ADDRESS (expected ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,\
             PREFERRED_NAME,DATE_OF_BIRTH)"
        );
        let wide: Vec<Vec<u8>> = (0..1000).map(|i| format!("X{i}").into_bytes()).collect();
        let Err(HeaderError::Columns { unexpected, missing, .. }) = Header::parse(&wide) else { panic!() };
        assert_eq!((unexpected.len(), missing.len()), (MAX_LISTED, 8));
        assert_eq!(Header::parse(&[b"\xff".to_vec()]), Err(HeaderError::NotUtf8));
    }
}
