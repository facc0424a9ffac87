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

/// Why a header was refused. Each names the column concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the file is empty: expected a header line {}", expected())]
    Empty,
    #[error("the header is not valid UTF-8")]
    NotUtf8,
    #[error("unexpected column {0:?} in the header (expected {list})", list = expected())]
    Unexpected(String),
    #[error("column {0} appears more than once in the header")]
    Duplicate(Column),
    #[error("column {0} is missing from the header (expected {list})", list = expected())]
    Missing(Column),
}

fn expected() -> String {
    Column::ALL.map(Column::name).join(",")
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
        for field in fields {
            let name = std::str::from_utf8(field).map_err(|_| HeaderError::NotUtf8)?;
            let column =
                Column::from_name(name).ok_or_else(|| HeaderError::Unexpected(name.chars().take(100).collect()))?;
            if order.contains(&column) {
                return Err(HeaderError::Duplicate(column));
            }
            order.push(column);
        }
        if let Some(missing) = Column::ALL.into_iter().find(|c| !order.contains(c)) {
            return Err(HeaderError::Missing(missing));
        }
        Ok(Self { order })
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
    fn wrong_headers_name_the_column() {
        let cases = [
            (
                "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME",
                HeaderError::Missing(Column::DateOfBirth),
            ),
            (
                "ID,EMAIL,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH",
                HeaderError::Unexpected("EMAIL".into()),
            ),
            (
                "id,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH",
                HeaderError::Unexpected("id".into()),
            ),
            (
                "ID,ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH",
                HeaderError::Duplicate(Column::Id),
            ),
            (
                "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH,EXTRA",
                HeaderError::Unexpected("EXTRA".into()),
            ),
            (
                " ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH",
                HeaderError::Unexpected(" ID".into()),
            ),
        ];
        for (line, err) in cases {
            assert_eq!(Header::parse(&fields(line)), Err(err.clone()), "{line}");
            let shown = err.to_string();
            assert!(shown.contains("ID") || shown.contains("EMAIL") || shown.contains("DATE_OF_BIRTH"), "{shown}");
        }
        assert_eq!(Header::parse(&[b"\xff".to_vec()]), Err(HeaderError::NotUtf8));
    }
}
