//! The CSV user import (seed 002, DESIGN.md §4) as pure functions: reading records, the header,
//! the field rules, the matching decision, and the result file's rows.

pub mod decide;
pub mod header;
pub mod records;
pub mod result;
pub mod rules;

#[cfg(test)]
mod tests;

pub use decide::{decide, Action, Candidate, Decision, ExistingUser, Facts, Outcome};
pub use header::{Column, Header, HeaderError};
pub use records::{RawRecord, RecordSplitter};
pub use rules::{check, record_problem, Fields, ValidRow};
