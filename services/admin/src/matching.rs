//! Finding pairs to review among people: only people sharing one of the matcher's blocking keys
//! are compared, and pairs scoring at least its threshold are kept. Shared by the full scan and
//! the feed follower.

use std::collections::{BTreeSet, HashMap};

use identity_core::matcher::{self, Person};
use identity_core::nicknames::Nicknames;
use identity_core::UserId;
use identity_store::NewPeopleReview;

/// A blocking key shared by more people than this is too common to say anything (a default
/// date of birth typed for everyone, say): comparing all of them would cost the square of it.
pub const MAX_BLOCK: usize = 200;

/// What a search for pairs did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub compared: usize,
    /// Keys skipped as too common (see [`MAX_BLOCK`]).
    pub skipped_keys: usize,
}

/// The pairs among `people` worth a review, where at least one of the two is a subject
/// (`is_subject`; the scan makes everyone one, the follower the people who changed).
pub fn pairs(
    people: &[(UserId, Person)],
    is_subject: impl Fn(usize) -> bool,
    nicknames: &Nicknames,
) -> (Vec<NewPeopleReview>, Found) {
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, person)) in people.iter().enumerate() {
        for key in matcher::blocking_keys(person) {
            blocks.entry(key).or_default().push(i);
        }
    }
    let mut found = Found::default();
    let mut seen: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut pairs = Vec::new();
    for members in blocks.values() {
        if members.len() > MAX_BLOCK {
            found.skipped_keys += 1;
            continue;
        }
        for (n, &i) in members.iter().enumerate() {
            for &j in &members[n + 1..] {
                let (a, b) = (i.min(j), i.max(j));
                if people[a].0 == people[b].0 || !(is_subject(a) || is_subject(b)) || !seen.insert((a, b)) {
                    continue;
                }
                found.compared += 1;
                let m = matcher::compare(&people[a].1, &people[b].1, nicknames);
                if m.is_candidate() {
                    pairs.push(NewPeopleReview { a: people[a].0, b: people[b].0, score: m.score, reasons: m.reasons });
                }
            }
        }
    }
    (pairs, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(first: &str, last: &str, day: u32) -> Person {
        Person::new(first, last, chrono::NaiveDate::from_ymd_opt(1980, 2, day))
    }

    #[test]
    fn only_pairs_with_a_subject_that_share_a_key_are_compared() {
        let people: Vec<(UserId, Person)> = [
            person("William", "Lee", 1),
            person("Bill", "Lee", 1),
            person("Will", "Lee", 1),
            person("Zoe", "Quinn", 9),
        ]
        .into_iter()
        .map(|p| (UserId::random(), p))
        .collect();
        let (all, found) = pairs(&people, |_| true, Nicknames::built_in());
        assert_eq!(all.len(), 3, "William, Bill and Will pair up; Zoe shares no key: {all:?}");
        assert_eq!(found.compared, 3);
        let (bills, _) = pairs(&people, |i| i == 1, Nicknames::built_in());
        assert_eq!(bills.len(), 2, "only pairs with Bill");
        assert!(bills.iter().all(|p| p.a == people[1].0 || p.b == people[1].0));
    }
}
