//! A typed filter over a source profile's document: what a SCIM filter becomes once the protocol
//! layer has parsed it and resolved every attribute against its schema. The store turns it into
//! SQL; nothing here knows SQL or the filter's text syntax.

use chrono::{DateTime, Utc};

/// The type of an attribute, as its schema declares it (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// A resolved attribute: its path in the document (canonical spelling, extension attributes
/// under their schema URN) and how values compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// `["userName"]`, `["name", "givenName"]`,
    /// `["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department"]`.
    /// Inside [`Filter::Any`], relative to the element: `["type"]`.
    pub path: Vec<String>,
    pub ty: AttrType,
    pub case_exact: bool,
}

impl Attr {
    pub fn new(path: &[&str], ty: AttrType, case_exact: bool) -> Self {
        Self { path: path.iter().map(|s| (*s).to_owned()).collect(), ty, case_exact }
    }

    /// The path joined with dots, for messages.
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value, already typed for the attribute it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Boolean(bool),
    Number(f64),
    DateTime(DateTime<Utc>),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare {
        attr: Attr,
        op: CompareOp,
        value: Value,
    },
    Present(Attr),
    /// Some element of the multi-valued attribute `attr` satisfies `filter`, whose attributes
    /// are relative to the element: `emails[type eq "work" and value co "@x"]`, and also
    /// `emails.value eq "x"` (as `Any(emails, value eq "x")`).
    Any {
        attr: Attr,
        filter: Box<Filter>,
    },
}

impl Filter {
    pub fn and(a: Filter, b: Filter) -> Self {
        Self::And(Box::new(a), Box::new(b))
    }

    pub fn or(a: Filter, b: Filter) -> Self {
        Self::Or(Box::new(a), Box::new(b))
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(a: Filter) -> Self {
        Self::Not(Box::new(a))
    }

    /// How deeply operators nest, counting each `and`, `or`, `not` and `[ ]`.
    pub fn depth(&self) -> usize {
        match self {
            Self::And(a, b) | Self::Or(a, b) => 1 + a.depth().max(b.depth()),
            Self::Not(a) => 1 + a.depth(),
            Self::Any { filter, .. } => 1 + filter.depth(),
            Self::Compare { .. } | Self::Present(_) => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Ascending,
    Descending,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(name: &str) -> Filter {
        Filter::Compare {
            attr: Attr::new(&[name], AttrType::String, false),
            op: CompareOp::Eq,
            value: Value::String("x".into()),
        }
    }

    #[test]
    fn depth_counts_operators() {
        assert_eq!(cmp("a").depth(), 0);
        assert_eq!(Filter::and(cmp("a"), cmp("b")).depth(), 1);
        assert_eq!(Filter::not(Filter::or(cmp("a"), Filter::and(cmp("b"), cmp("c")))).depth(), 3);
        let any =
            Filter::Any { attr: Attr::new(&["emails"], AttrType::Complex, false), filter: Box::new(cmp("value")) };
        assert_eq!(any.depth(), 1);
    }

    #[test]
    fn attrs_print_dotted() {
        assert_eq!(Attr::new(&["name", "givenName"], AttrType::String, false).dotted(), "name.givenName");
    }
}
