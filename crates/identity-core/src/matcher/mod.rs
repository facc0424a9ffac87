//! The matcher (DESIGN.md §7.4): how likely two records are one person, and why. Pure: the
//! store finds candidates by [`blocking_keys`] (people who share a key are compared, never
//! everyone with everyone), and the review queue keeps pairs that score at least
//! [`THRESHOLD`]. The import's own rules (`import::decide`) are the seed's and do not use it.
//!
//! A pair's score is its names' likeness times its dates of birth's, each the best of the named
//! comparisons below; a shared email address or TRN raises it, and two different TRNs (the
//! registry gives each teacher one) cap it. Every comparison that counted is a [`Reason`], naming
//! its rule, its field and what matched.

pub mod strings;

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::combined::CombinedProfile;
use crate::nicknames::Nicknames;
use crate::normalize::name_key;
use strings::{edit_distance, jaro_winkler, soundex};

/// The score from which a pair is queued for review.
pub const THRESHOLD: f64 = 0.8;

/// What the matcher compares of a person, as comparison keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub email: Option<String>,
    pub trn: Option<String>,
}

impl Person {
    pub fn new(first_name: &str, last_name: &str, date_of_birth: Option<NaiveDate>) -> Self {
        Self { first_name: name_key(first_name), last_name: name_key(last_name), date_of_birth, ..Self::default() }
    }

    #[must_use]
    pub fn with_email(mut self, email: &str) -> Self {
        self.email = Some(crate::normalize::email_key(email));
        self
    }

    #[must_use]
    pub fn with_trn(mut self, trn: &str) -> Self {
        self.trn = Some(trn.to_owned());
        self
    }

    pub fn from_combined(c: &CombinedProfile) -> Self {
        let text = |v: &Option<crate::Sourced<String>>| v.as_ref().map_or_else(String::new, |s| name_key(&s.value));
        Self {
            first_name: text(&c.first_name),
            last_name: text(&c.last_name),
            date_of_birth: c.date_of_birth.as_ref().map(|d| d.value.date()),
            email: c.email.as_ref().map(|e| e.value.key()),
            trn: c.trn.as_ref().map(|t| t.value.as_str().to_owned()),
        }
    }
}

/// A named comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    SameEmail,
    SameTrn,
    DifferentTrn,
    SameName,
    Nickname,
    Typo,
    Similar,
    SoundsAlike,
    FirstAndLastSwapped,
    SameDateOfBirth,
    DayAndMonthSwapped,
    OneDigitOff,
}

impl Rule {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SameEmail => "same_email",
            Self::SameTrn => "same_trn",
            Self::DifferentTrn => "different_trn",
            Self::SameName => "same_name",
            Self::Nickname => "nickname",
            Self::Typo => "typo",
            Self::Similar => "similar",
            Self::SoundsAlike => "sounds_alike",
            Self::FirstAndLastSwapped => "first_and_last_swapped",
            Self::SameDateOfBirth => "same_date_of_birth",
            Self::DayAndMonthSwapped => "day_and_month_swapped",
            Self::OneDigitOff => "one_digit_off",
        }
    }
}

/// The field a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchField {
    FirstName,
    LastName,
    /// First and last name together (they were swapped).
    Name,
    DateOfBirth,
    Email,
    Trn,
}

impl MatchField {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Name => "name",
            Self::DateOfBirth => "date_of_birth",
            Self::Email => "email",
            Self::Trn => "trn",
        }
    }

    const fn words(self) -> &'static str {
        match self {
            Self::FirstName => "first name",
            Self::LastName => "last name",
            Self::Name => "name",
            Self::DateOfBirth => "date of birth",
            Self::Email => "email",
            Self::Trn => "TRN",
        }
    }
}

/// One comparison that counted: `first name: 'bill' is a nickname of 'william'`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub rule: Rule,
    pub field: MatchField,
    pub detail: String,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.words(), self.detail)
    }
}

/// How likely two records are one person (0..=1), with the reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub score: f64,
    pub reasons: Vec<Reason>,
}

impl Match {
    pub fn is_candidate(&self) -> bool {
        self.score >= THRESHOLD
    }
}

/// A part of the score with the reason for it (none when nothing matched).
struct Part {
    score: f64,
    reasons: Vec<Reason>,
}

impl Part {
    fn none(score: f64) -> Self {
        Self { score, reasons: Vec::new() }
    }

    fn one(score: f64, rule: Rule, field: MatchField, detail: String) -> Self {
        Self { score, reasons: vec![Reason { rule, field, detail }] }
    }
}

/// How alike one name is to another, as a first name (`nicknames` apply) or a last name.
fn name_part(field: MatchField, a: &str, b: &str, nicknames: Option<&Nicknames>) -> Part {
    if a.is_empty() || b.is_empty() {
        return Part::none(0.0);
    }
    if a == b {
        return Part::one(1.0, Rule::SameName, field, format!("'{a}' in both"));
    }
    if nicknames.is_some_and(|n| n.are_synonym_keys(a, b)) {
        return Part::one(0.95, Rule::Nickname, field, format!("'{a}' and '{b}' are nicknames of one name"));
    }
    if a.chars().count().min(b.chars().count()) >= 3 && edit_distance(a, b) == 1 {
        return Part::one(0.9, Rule::Typo, field, format!("'{a}' and '{b}' are one typing slip apart"));
    }
    let similarity = jaro_winkler(a, b);
    if similarity >= 0.9 {
        return Part::one(0.85, Rule::Similar, field, format!("'{a}' and '{b}' are {:.0}% alike", similarity * 100.0));
    }
    match (soundex(a), soundex(b)) {
        (Some(x), Some(y)) if x == y => {
            Part::one(0.8, Rule::SoundsAlike, field, format!("'{a}' sounds like '{b}' ({x})"))
        }
        _ => Part::none(0.0),
    }
}

/// How alike two people's names are: first with first and last with last, or swapped.
fn names(a: &Person, b: &Person, nicknames: &Nicknames) -> Part {
    // A different last name alone (a marriage, say) leaves the pair in doubt, not apart.
    const OTHER_LAST_NAME: f64 = 0.4;
    let first = name_part(MatchField::FirstName, &a.first_name, &b.first_name, Some(nicknames));
    let mut last = name_part(MatchField::LastName, &a.last_name, &b.last_name, None);
    if last.reasons.is_empty() && first.score > 0.0 {
        last.score = OTHER_LAST_NAME;
    }
    let straight = Part { score: first.score * last.score, reasons: [first.reasons, last.reasons].concat() };
    let crossed = name_part(MatchField::FirstName, &a.first_name, &b.last_name, Some(nicknames)).score
        * name_part(MatchField::LastName, &a.last_name, &b.first_name, None).score
        * 0.95;
    if crossed > straight.score && !a.first_name.is_empty() && !a.last_name.is_empty() {
        let detail = format!(
            "'{} {}' and '{} {}' have first and last name swapped",
            a.first_name, a.last_name, b.first_name, b.last_name
        );
        return Part::one(crossed, Rule::FirstAndLastSwapped, MatchField::Name, detail);
    }
    straight
}

/// How alike two dates of birth are.
fn dates(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Part {
    let (Some(a), Some(b)) = (a, b) else {
        // One record lacks it: names alone decide, a little less surely.
        return Part::none(0.7);
    };
    let field = MatchField::DateOfBirth;
    if a == b {
        return Part::one(1.0, Rule::SameDateOfBirth, field, format!("{a} in both"));
    }
    if a.year() == b.year() && a.day() == b.month() && a.month() == b.day() {
        return Part::one(0.9, Rule::DayAndMonthSwapped, field, format!("{a} and {b} have day and month swapped"));
    }
    let digits = |d: NaiveDate| d.format("%Y%m%d").to_string();
    let differing = digits(a).bytes().zip(digits(b).bytes()).filter(|(x, y)| x != y).count();
    if differing == 1 {
        return Part::one(0.85, Rule::OneDigitOff, field, format!("{a} and {b} differ in one digit"));
    }
    Part::none(0.1)
}

/// Scores a pair of people.
pub fn compare(a: &Person, b: &Person, nicknames: &Nicknames) -> Match {
    let names = names(a, b, nicknames);
    let dates = dates(a.date_of_birth, b.date_of_birth);
    let mut score = names.score * dates.score;
    let mut reasons = if score > 0.0 { [names.reasons, dates.reasons].concat() } else { Vec::new() };
    if let (Some(x), Some(y)) = (&a.email, &b.email) {
        if x == y {
            score = score.max(0.9);
            reasons.push(Reason { rule: Rule::SameEmail, field: MatchField::Email, detail: format!("'{x}' in both") });
        }
    }
    match (&a.trn, &b.trn) {
        (Some(x), Some(y)) if x == y => {
            score = score.max(0.98);
            reasons.push(Reason { rule: Rule::SameTrn, field: MatchField::Trn, detail: format!("{x} in both") });
        }
        (Some(x), Some(y)) => {
            score = score.min(0.3);
            reasons.push(Reason {
                rule: Rule::DifferentTrn,
                field: MatchField::Trn,
                detail: format!("{x} and {y}: the registry gives each teacher one"),
            });
        }
        _ => {}
    }
    Match { score: score.clamp(0.0, 1.0), reasons }
}

/// The keys a person is found by when looking for their candidates: two people are compared
/// only if they share one. Each tolerates a different kind of difference, so that every kind the
/// comparisons score is caught by some key: the names' sounds (in either order) with the date of
/// birth (typos, swapped names), the last name's sound with the date of birth (nicknames), the
/// first name with the date of birth (a changed last name), the names' sounds with the year of
/// birth (a date with day and month swapped or a digit off in the day or month) and with the
/// day and month (a digit off in the year), the email and the TRN.
pub fn blocking_keys(p: &Person) -> Vec<String> {
    let mut keys = Vec::new();
    let (first, last) = (soundex(&p.first_name), soundex(&p.last_name));
    if let Some(dob) = p.date_of_birth {
        if let (Some(f), Some(l)) = (&first, &last) {
            let (x, y) = if f <= l { (f, l) } else { (l, f) };
            keys.push(format!("names+dob:{x}:{y}:{dob}"));
            keys.push(format!("names+year:{x}:{y}:{}", dob.year()));
            keys.push(format!("names+birthday:{x}:{y}:{}", dob.format("%m-%d")));
        }
        if let Some(l) = &last {
            keys.push(format!("last+dob:{l}:{dob}"));
        }
        if !p.first_name.is_empty() {
            keys.push(format!("first+dob:{}:{dob}", p.first_name));
        }
    }
    if let Some(email) = &p.email {
        keys.push(format!("email:{email}"));
    }
    if let Some(trn) = &p.trn {
        keys.push(format!("trn:{trn}"));
    }
    keys
}

#[cfg(test)]
mod tests;
