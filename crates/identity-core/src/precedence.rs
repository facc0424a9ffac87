//! Which source supplies each field of the combined profile (DESIGN.md §7.2): an ordered list of
//! source patterns per field, best first. A pattern names one source (`sso`, `registry`,
//! `import:hr`) or every import (`import:*`); a source no pattern matches never supplies the
//! field. Among the profiles one pattern matches (several imports), the newest wins, ties broken
//! by name, so the result never depends on the order profiles were loaded in.
//!
//! First, middle and last name are one group, `names`: they all come from the first source that
//! gives a first or last name. Mixing a registry's first name with another source's middle name
//! would produce a name that nobody asserted.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use crate::profile::Field;
use crate::source::Source;

/// One entry of a field's list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourcePattern {
    /// Exactly this source.
    Is(Source),
    /// Every import (`import:*`).
    AnyImport,
}

impl SourcePattern {
    pub fn matches(&self, source: &Source) -> bool {
        match self {
            Self::Is(s) => s == source,
            Self::AnyImport => matches!(source, Source::Import(_)),
        }
    }

    pub fn parse(text: &str) -> Result<Self, PrecedenceError> {
        if text == "import:*" {
            return Ok(Self::AnyImport);
        }
        text.parse().map(Self::Is).map_err(|e: crate::source::SourceError| PrecedenceError::Pattern {
            pattern: text.to_owned(),
            reason: e.to_string(),
        })
    }
}

impl fmt::Display for SourcePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Is(s) => s.fmt(f),
            Self::AnyImport => f.write_str("import:*"),
        }
    }
}

/// A field of the precedence document: the name group, or one field outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decided {
    Names,
    One(Field),
}

impl Decided {
    /// Every entry of a document, in the order `show` prints them.
    pub const ALL: [Self; 15] = [
        Self::Names,
        Self::One(Field::PreferredName),
        Self::One(Field::DisplayName),
        Self::One(Field::Email),
        Self::One(Field::DateOfBirth),
        Self::One(Field::Trn),
        Self::One(Field::Emails),
        Self::One(Field::ContactEmail),
        Self::One(Field::Phones),
        Self::One(Field::Pronouns),
        Self::One(Field::NamePronunciation),
        Self::One(Field::JobTitle),
        Self::One(Field::Grade),
        Self::One(Field::Team),
        Self::One(Field::Manager),
    ];

    /// The entry that decides `field`.
    pub const fn of(field: Field) -> Self {
        match field {
            Field::FirstName | Field::MiddleName | Field::LastName => Self::Names,
            other => Self::One(other),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Names => "names",
            Self::One(field) => field.as_str(),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrecedenceError {
    #[error(
        "unknown field {0:?} (expected names, preferred_name, display_name, email, date_of_birth, trn, emails, \
         contact_email, phones, pronouns, name_pronunciation, job_title, grade, team or manager; names decides \
         first, middle and last name together)"
    )]
    UnknownField(String),
    #[error("{0} is given twice")]
    Twice(&'static str),
    #[error("{0} is missing: every field needs its list")]
    MissingField(&'static str),
    #[error("{0} lists no source: every field needs at least one")]
    Empty(&'static str),
    #[error("bad source pattern {pattern:?}: {reason} (or import:* for every import)")]
    Pattern { pattern: String, reason: String },
    #[error("{field} lists {pattern} twice")]
    Repeated { field: &'static str, pattern: String },
    #[error("{field} lists {pattern} after import:*, which matches it already")]
    Unreachable { field: &'static str, pattern: String },
    #[error("not a precedence document: {0}")]
    Toml(String),
    #[error("{0} must be a list of sources, such as [\"sso\", \"import:*\"]")]
    NotAList(String),
}

/// The lists of every entry, checked: each present, none empty, no pattern twice, none after
/// one that already covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precedence {
    lists: BTreeMap<Decided, Vec<SourcePattern>>,
}

fn list(patterns: &[&str]) -> Vec<SourcePattern> {
    patterns.iter().filter_map(|p| SourcePattern::parse(p).ok()).collect()
}

static STANDARD: LazyLock<Precedence> = LazyLock::new(|| Precedence {
    lists: BTreeMap::from([
        // The registry holds legal names checked against documents; SSO's come from HR.
        // People Finder's are what people type about themselves: after both.
        (Decided::Names, list(&["registry", "sso", "peoplefinder", "import:*"])),
        // What people choose to be called, where they keep their own profile.
        (Decided::One(Field::PreferredName), list(&["peoplefinder", "sso", "import:*"])),
        (Decided::One(Field::DisplayName), list(&["sso", "import:*"])),
        // SSO's address is the one people sign in with; imports bring personal addresses.
        // People Finder's work address is among `emails`, not a rival for this one.
        (Decided::One(Field::Email), list(&["sso", "import:*"])),
        (Decided::One(Field::DateOfBirth), list(&["registry", "import:*", "sso"])),
        (Decided::One(Field::Trn), list(&["registry", "import:*"])),
        // The identity provider's list is the accounts a person has; People Finder's, what
        // they enter.
        (Decided::One(Field::Emails), list(&["sso", "peoplefinder", "import:*"])),
        // How people want to be reached and called, and who they work with, are theirs to say,
        // and People Finder is where they say it; SSO (HR behind it) fills the gaps.
        (Decided::One(Field::ContactEmail), list(&["peoplefinder", "sso"])),
        (Decided::One(Field::Phones), list(&["peoplefinder", "sso"])),
        (Decided::One(Field::Pronouns), list(&["peoplefinder", "sso"])),
        (Decided::One(Field::NamePronunciation), list(&["peoplefinder"])),
        // A job title is HR's record, sent through the identity provider.
        (Decided::One(Field::JobTitle), list(&["sso", "peoplefinder"])),
        (Decided::One(Field::Grade), list(&["peoplefinder", "sso"])),
        (Decided::One(Field::Team), list(&["peoplefinder", "sso"])),
        (Decided::One(Field::Manager), list(&["peoplefinder", "sso"])),
    ]),
});

impl Precedence {
    /// The precedence the project ships (DECISIONS.md "Precedence" gives the reasons).
    pub fn standard() -> &'static Self {
        &STANDARD
    }

    /// Checks `entries` (entry name, its patterns) and makes a precedence of them.
    pub fn from_lists<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Result<Self, PrecedenceError> {
        let mut lists = BTreeMap::new();
        for (name, patterns) in entries {
            let decided = Decided::parse(name).ok_or_else(|| PrecedenceError::UnknownField(name.to_owned()))?;
            let field = decided.as_str();
            if patterns.is_empty() {
                return Err(PrecedenceError::Empty(field));
            }
            let mut parsed: Vec<SourcePattern> = Vec::with_capacity(patterns.len());
            for text in patterns {
                let pattern = SourcePattern::parse(text)?;
                if parsed.contains(&pattern) {
                    return Err(PrecedenceError::Repeated { field, pattern: text.clone() });
                }
                if matches!(pattern, SourcePattern::Is(Source::Import(_))) && parsed.contains(&SourcePattern::AnyImport)
                {
                    return Err(PrecedenceError::Unreachable { field, pattern: text.clone() });
                }
                parsed.push(pattern);
            }
            if lists.insert(decided, parsed).is_some() {
                return Err(PrecedenceError::Twice(field));
            }
        }
        if let Some(missing) = Decided::ALL.into_iter().find(|d| !lists.contains_key(d)) {
            return Err(PrecedenceError::MissingField(missing.as_str()));
        }
        Ok(Self { lists })
    }

    /// Reads the TOML document [`Precedence::to_toml`] writes (`admin precedence set`): one key
    /// per entry, each a list of source patterns.
    pub fn from_toml(text: &str) -> Result<Self, PrecedenceError> {
        Self::read_toml(text, false)
    }

    /// [`Precedence::from_toml`] for a document stored earlier: an entry for a field added since
    /// it was set takes the shipped list (it was checked whole when it was set).
    pub fn from_stored_toml(text: &str) -> Result<Self, PrecedenceError> {
        Self::read_toml(text, true)
    }

    fn read_toml(text: &str, fill: bool) -> Result<Self, PrecedenceError> {
        let table: toml::Table =
            text.parse().map_err(|e: toml::de::Error| PrecedenceError::Toml(e.message().to_owned()))?;
        let mut entries = Vec::with_capacity(table.len());
        for (name, value) in &table {
            let not_a_list = || PrecedenceError::NotAList(name.clone());
            let patterns = value
                .as_array()
                .ok_or_else(not_a_list)?
                .iter()
                .map(|p| p.as_str().map(str::to_owned).ok_or_else(not_a_list))
                .collect::<Result<Vec<String>, _>>()?;
            entries.push((name.as_str(), patterns));
        }
        if fill {
            for (decided, list) in Self::standard().entries() {
                if !table.contains_key(decided.as_str()) {
                    entries.push((decided.as_str(), list.iter().map(ToString::to_string).collect()));
                }
            }
        }
        Self::from_lists(entries.iter().map(|(name, patterns)| (*name, patterns.as_slice())))
    }

    /// The list that decides `field`, best first.
    pub fn list(&self, field: Field) -> &[SourcePattern] {
        self.lists.get(&Decided::of(field)).map_or(&[], Vec::as_slice)
    }

    /// The TOML document `admin precedence show` prints and `set` reads.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# Which source supplies each field of the combined profile, best first: sso, peoplefinder,\n\
             # registry, import:<service>, or import:* for every import. names decides first, middle and last\n\
             # name together. A source not listed never supplies the field.\n",
        );
        for (decided, list) in self.entries() {
            let quoted: Vec<String> = list.iter().map(|p| format!("\"{p}\"")).collect();
            out.push_str(&format!("{} = [{}]\n", decided.as_str(), quoted.join(", ")));
        }
        out
    }

    /// Every entry with its list, in the document's order.
    pub fn entries(&self) -> impl Iterator<Item = (Decided, &[SourcePattern])> {
        Decided::ALL.into_iter().map(|d| (d, self.lists.get(&d).map_or(&[][..], Vec::as_slice)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ServiceName;

    fn lists(entries: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        entries.iter().map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect())).collect()
    }

    fn parse(entries: &[(&str, &[&str])]) -> Result<Precedence, PrecedenceError> {
        let owned = lists(entries);
        Precedence::from_lists(owned.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
    }

    const FULL: [(&str, &[&str]); 15] = [
        ("names", &["registry", "sso", "peoplefinder", "import:*"]),
        ("preferred_name", &["peoplefinder", "sso", "import:*"]),
        ("display_name", &["sso", "import:*"]),
        ("email", &["sso", "import:*"]),
        ("date_of_birth", &["registry", "import:*", "sso"]),
        ("trn", &["registry", "import:*"]),
        ("emails", &["sso", "peoplefinder", "import:*"]),
        ("contact_email", &["peoplefinder", "sso"]),
        ("phones", &["peoplefinder", "sso"]),
        ("pronouns", &["peoplefinder", "sso"]),
        ("name_pronunciation", &["peoplefinder"]),
        ("job_title", &["sso", "peoplefinder"]),
        ("grade", &["peoplefinder", "sso"]),
        ("team", &["peoplefinder", "sso"]),
        ("manager", &["peoplefinder", "sso"]),
    ];

    #[test]
    fn the_standard_precedence_reads_back_from_its_own_document() {
        assert_eq!(parse(&FULL).unwrap(), *Precedence::standard());
        let text = Precedence::standard().to_toml();
        assert!(text.contains("names = [\"registry\", \"sso\", \"peoplefinder\", \"import:*\"]\n"), "{text}");
        assert!(text.contains("trn = [\"registry\", \"import:*\"]\n"), "{text}");
        assert_eq!(Precedence::from_toml(&text).unwrap(), *Precedence::standard());
    }

    #[test]
    fn a_stored_document_older_than_a_field_takes_the_shipped_list_for_it() {
        let old = "names = [\"sso\"]\npreferred_name = [\"sso\"]\ndisplay_name = [\"sso\"]\nemail = [\"sso\"]\n\
                   date_of_birth = [\"registry\"]\ntrn = [\"registry\"]\n";
        assert_eq!(Precedence::from_toml(old), Err(PrecedenceError::MissingField("emails")), "set checks it whole");
        let read = Precedence::from_stored_toml(old).unwrap();
        assert_eq!(read.list(Field::FirstName), [SourcePattern::Is(Source::Sso)]);
        assert_eq!(read.list(Field::Pronouns), Precedence::standard().list(Field::Pronouns));
        assert!(Precedence::from_stored_toml("names = \"sso\"").is_err(), "what it holds is still checked");
    }

    #[test]
    fn patterns_match_one_source_or_every_import() {
        let hr = Source::Import(ServiceName::new("hr").unwrap());
        let npq = Source::Import(ServiceName::new("npq").unwrap());
        assert!(SourcePattern::parse("import:*").unwrap().matches(&hr));
        assert!(!SourcePattern::parse("import:*").unwrap().matches(&Source::Sso));
        assert!(SourcePattern::parse("import:hr").unwrap().matches(&hr));
        assert!(!SourcePattern::parse("import:hr").unwrap().matches(&npq));
        assert!(SourcePattern::parse("sso").unwrap().matches(&Source::Sso));
        assert!(!SourcePattern::parse("registry").unwrap().matches(&Source::Sso));
        assert_eq!(SourcePattern::parse("import:*").unwrap().to_string(), "import:*");
    }

    #[test]
    fn a_bad_document_is_refused_precisely() {
        let mut unknown = FULL.to_vec();
        unknown.push(("nickname", &["sso"]));
        assert_eq!(parse(&unknown), Err(PrecedenceError::UnknownField("nickname".into())));
        // first_name alone is not an entry: names decides the group.
        let mut split = FULL.to_vec();
        split[0] = ("first_name", &["sso"]);
        assert_eq!(parse(&split), Err(PrecedenceError::UnknownField("first_name".into())));
        assert_eq!(parse(&FULL[1..]), Err(PrecedenceError::MissingField("names")));
        let mut again = FULL.to_vec();
        again.push(("email", &["import:*"]));
        assert_eq!(parse(&again), Err(PrecedenceError::Twice("email")));
        let mut empty = FULL.to_vec();
        empty[3] = ("email", &[]);
        assert_eq!(parse(&empty), Err(PrecedenceError::Empty("email")));
        for bad in ["hr", "import:", "import:HR", "sso:*", "*"] {
            let mut with_bad = FULL.to_vec();
            let pattern = [bad];
            with_bad[3] = ("email", &pattern);
            assert!(matches!(parse(&with_bad), Err(PrecedenceError::Pattern { .. })), "{bad}");
        }
        let mut twice = FULL.to_vec();
        twice[3] = ("email", &["sso", "import:hr", "sso"]);
        assert_eq!(parse(&twice), Err(PrecedenceError::Repeated { field: "email", pattern: "sso".into() }));
        let mut shadowed = FULL.to_vec();
        shadowed[3] = ("email", &["import:*", "import:hr"]);
        assert_eq!(parse(&shadowed), Err(PrecedenceError::Unreachable { field: "email", pattern: "import:hr".into() }));
        // One service before the rest is fine.
        let mut first = FULL.to_vec();
        first[3] = ("email", &["import:hr", "sso", "import:*"]);
        assert!(parse(&first).is_ok());
    }

    #[test]
    fn a_document_reads_back_and_a_bad_one_says_why() {
        let standard = Precedence::standard();
        assert_eq!(Precedence::from_toml(&standard.to_toml()).as_ref(), Ok(standard));
        let custom = standard.to_toml().replace("email = [\"sso\", \"import:*\"]", "email = [\"import:hr\", \"sso\"]");
        let parsed = Precedence::from_toml(&custom).unwrap();
        assert_eq!(
            parsed.list(Field::Email),
            [SourcePattern::parse("import:hr").unwrap(), SourcePattern::Is(Source::Sso)]
        );
        assert!(matches!(Precedence::from_toml("names = ["), Err(PrecedenceError::Toml(_))));
        assert_eq!(
            Precedence::from_toml(
                &standard.to_toml().replace("trn = [\"registry\", \"import:*\"]", "trn = \"registry\"")
            ),
            Err(PrecedenceError::NotAList("trn".into()))
        );
        assert_eq!(
            Precedence::from_toml(
                &standard.to_toml().replace("trn = [\"registry\", \"import:*\"]", "trn = [\"registry\", 1]")
            ),
            Err(PrecedenceError::NotAList("trn".into()))
        );
        assert_eq!(
            Precedence::from_toml(&format!("{}nickname = [\"sso\"]\n", standard.to_toml())),
            Err(PrecedenceError::UnknownField("nickname".into()))
        );
    }

    #[test]
    fn the_name_group_shares_one_list() {
        let p = Precedence::standard();
        assert_eq!(p.list(Field::FirstName), p.list(Field::MiddleName));
        assert_eq!(p.list(Field::LastName), p.list(Field::FirstName));
        assert_eq!(p.entries().count(), Field::ALL.len() - 2, "first, middle and last name: one entry");
    }
}
