//! First-name synonyms: `robert`, `bob`, `rob`, `bobby` … are one person's name.
//!
//! The table ships with the project (`data/nicknames/`, Apache-2.0, source in `SOURCE.md`) and is
//! parsed once, on first use. A row `robert,has_nickname,bob` says `bob` can stand for `robert`.
//! Two names are synonyms when they are equal, when a row relates them either way, or when both
//! are nicknames of one name that is not itself a nickname of either. That last condition keeps
//! the relation from spreading across groups: the table lists `robert` and `william` as nicknames
//! of `bill`, but `bill` is a nickname of both, so `robert` and `william` are not synonyms, while
//! `rob` and `robby` (both nicknames of `robert`) are.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::normalize::name_key;

const TABLE: &str = include_str!("../../../data/nicknames/names.csv");

static BUILT_IN: LazyLock<Nicknames> = LazyLock::new(|| Nicknames::parse(TABLE));

/// The nickname relation between first names, by name key.
#[derive(Debug, Default)]
pub struct Nicknames {
    /// name → its nicknames.
    nicknames: HashMap<String, HashSet<String>>,
    /// nickname → the names it can stand for.
    stands_for: HashMap<String, Vec<String>>,
}

impl Nicknames {
    /// The table that ships with the project.
    pub fn built_in() -> &'static Self {
        &BUILT_IN
    }

    /// Parses `name1,has_nickname,name2` lines; a header line and malformed lines are skipped
    /// (a test checks that the shipped table has none, so nothing is skipped silently).
    pub fn parse(table: &str) -> Self {
        let mut t = Self::default();
        for line in table.lines() {
            let mut parts = line.split(',');
            let (Some(name), Some("has_nickname"), Some(nick), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let (name, nick) = (name_key(name), name_key(nick));
            if name.is_empty() || nick.is_empty() || name == nick {
                continue;
            }
            if t.nicknames.entry(name.clone()).or_default().insert(nick.clone()) {
                t.stands_for.entry(nick).or_default().push(name);
            }
        }
        t
    }

    /// Whether two first names can be the same person's.
    pub fn are_synonyms(&self, a: &str, b: &str) -> bool {
        self.are_synonym_keys(&name_key(a), &name_key(b))
    }

    /// [`Nicknames::are_synonyms`] for names already passed through [`name_key`].
    pub fn are_synonym_keys(&self, a: &str, b: &str) -> bool {
        let has = |name: &str, nick: &str| self.nicknames.get(name).is_some_and(|n| n.contains(nick));
        if a == b || has(a, b) || has(b, a) {
            return true;
        }
        let (Some(heads_a), Some(heads_b)) = (self.stands_for.get(a), self.stands_for.get(b)) else {
            return false;
        };
        heads_a.iter().any(|c| heads_b.contains(c) && !has(a, c) && !has(b, c))
    }

    /// How many names have nicknames in the table.
    pub fn len(&self) -> usize {
        self.nicknames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nicknames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses_completely() {
        let data_lines = TABLE.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
        let well_formed = TABLE.lines().skip(1).filter(|l| l.split(',').nth(1) == Some("has_nickname")).count();
        assert_eq!(data_lines, well_formed, "every line of names.csv is a has_nickname triplet");
        assert!(Nicknames::built_in().len() > 900);
    }

    #[test]
    fn canonical_names_and_their_nicknames_are_synonyms() {
        let t = Nicknames::built_in();
        assert!(t.are_synonyms("Robert", "Bob"));
        assert!(t.are_synonyms("bob", "ROBERT"));
        assert!(t.are_synonyms("Rob", "Robby"), "two nicknames of one name");
        assert!(t.are_synonyms("Bob", "Rob"));
        assert!(t.are_synonyms("William", "Bill"));
        assert!(t.are_synonyms("Zoë", "zoe"), "equal names after normalisation");
    }

    #[test]
    fn unrelated_names_are_not_synonyms() {
        let t = Nicknames::built_in();
        assert!(!t.are_synonyms("Robert", "William"));
        assert!(!t.are_synonyms("Robert", "Roberta"));
        assert!(!t.are_synonyms("Xyzzy", "Plugh"));
    }

    #[test]
    fn synonymy_does_not_spread_across_groups() {
        let t = Nicknames::parse(
            "name1,relationship,name2\nrobert,has_nickname,bill\nwilliam,has_nickname,bill\nbill,has_nickname,robert\nbill,has_nickname,william\nrobert,has_nickname,rob\nrobert,has_nickname,bob\n",
        );
        assert!(t.are_synonyms("robert", "bill"));
        assert!(t.are_synonyms("william", "bill"));
        assert!(t.are_synonyms("rob", "bob"));
        assert!(!t.are_synonyms("robert", "william"));
        let shipped = Nicknames::built_in();
        assert!(shipped.are_synonyms("bill", "robert") && shipped.are_synonyms("bill", "william"));
        assert!(!shipped.are_synonyms("robert", "william"));
    }

    #[test]
    fn malformed_lines_are_ignored() {
        let t = Nicknames::parse("robert,has_nickname\n,has_nickname,bob\nann,is,annie\nann,has_nickname,nan\n");
        assert_eq!(t.len(), 1);
        assert!(!t.are_synonyms("ann", "annie"));
        assert!(t.are_synonyms("ann", "nan"));
    }
}
