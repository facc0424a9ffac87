//! Finding pairs to review among people: only people sharing one of the matcher's blocking keys
//! are compared, and pairs scoring at least its threshold are kept. Shared by the full scan and
//! the feed follower.
//!
//! Keys are hashed and sorted as (hash, person) pairs rather than held as strings in a map: over
//! a million people that is 16 bytes a key instead of about a hundred. Two people sharing several
//! keys are compared once, in the group of the smallest key they share (a hash collision only
//! adds a comparison, never loses one).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

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

fn key_hashes(person: &Person) -> Vec<u64> {
    let mut hashes: Vec<u64> = matcher::blocking_keys(person)
        .iter()
        .map(|k| {
            let mut h = DefaultHasher::new();
            k.hash(&mut h);
            h.finish()
        })
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// The pairs among `n` people (`id` and `person` of each by index) worth a review, where at
/// least one of the two is a subject (`is_subject`: everyone for the scan, the people who changed
/// for the follower).
pub fn pairs(
    n: usize,
    id: impl Fn(usize) -> UserId,
    person: impl Fn(usize) -> Person,
    is_subject: impl Fn(usize) -> bool,
    nicknames: &Nicknames,
) -> (Vec<NewPeopleReview>, Found) {
    let mut entries: Vec<(u64, u32)> = Vec::new();
    for i in 0..n {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        entries.extend(key_hashes(&person(i)).into_iter().map(|h| (h, index)));
    }
    entries.sort_unstable();
    let mut found = Found::default();
    // Keys too common to compare by: a pair is compared in the group of the smallest key it
    // shares among the others, so skipping one never loses a pair another key would find.
    let common: std::collections::HashSet<u64> =
        entries.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > MAX_BLOCK).map(|g| g[0].0).collect();
    found.skipped_keys = common.len();
    let mut pairs = Vec::new();
    for group in entries.chunk_by(|a, b| a.0 == b.0) {
        if group.len() < 2 || common.contains(&group[0].0) {
            continue;
        }
        let key = group[0].0;
        let members: Vec<(usize, Person, Vec<u64>)> = group
            .iter()
            .map(|&(_, i)| {
                let p = person(i as usize);
                let hashes = key_hashes(&p);
                (i as usize, p, hashes)
            })
            .collect();
        for (n, (a, pa, ha)) in members.iter().enumerate() {
            for (b, pb, hb) in &members[n + 1..] {
                if id(*a) == id(*b) || !(is_subject(*a) || is_subject(*b)) {
                    continue;
                }
                // Compared once: in the group of the smallest key the two share.
                if ha.iter().find(|h| !common.contains(h) && hb.binary_search(h).is_ok()) != Some(&key) {
                    continue;
                }
                found.compared += 1;
                let m = matcher::compare(pa, pb, nicknames);
                if m.is_candidate() {
                    pairs.push(NewPeopleReview { a: id(*a), b: id(*b), score: m.score, reasons: m.reasons });
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
    fn only_pairs_with_a_subject_that_share_a_key_are_compared_once() {
        let people: Vec<(UserId, Person)> = [
            person("William", "Lee", 1),
            person("Bill", "Lee", 1),
            person("Will", "Lee", 1),
            person("Zoe", "Quinn", 9),
        ]
        .into_iter()
        .map(|p| (UserId::random(), p))
        .collect();
        let run = |subject: &dyn Fn(usize) -> bool| {
            pairs(people.len(), |i| people[i].0, |i| people[i].1.clone(), subject, Nicknames::built_in())
        };
        let (all, found) = run(&|_| true);
        assert_eq!(all.len(), 3, "William, Bill and Will pair up; Zoe shares no key: {all:?}");
        assert_eq!(found.compared, 3, "each pair once, though they share several keys");
        let (bills, _) = run(&|i| i == 1);
        assert_eq!(bills.len(), 2, "only pairs with Bill");
        assert!(bills.iter().all(|p| p.a == people[1].0 || p.b == people[1].0));
    }

    #[test]
    fn a_key_too_common_to_compare_by_loses_no_pair_another_key_finds() {
        // More Jon Smiths born in 1980 than a key may hold share the names-and-year key; John
        // and Jon Smith born on one day also share the names with the full date.
        let day = |n: u32| chrono::NaiveDate::from_yo_opt(1980, n);
        let mut people: Vec<(UserId, Person)> =
            (2..=(MAX_BLOCK as u32 + 2)).map(|n| (UserId::random(), Person::new("Jon", "Smith", day(n)))).collect();
        people.push((UserId::random(), Person::new("John", "Smith", day(1))));
        people.push((UserId::random(), Person::new("Jon", "Smith", day(1))));
        let (found, stats) =
            pairs(people.len(), |i| people[i].0, |i| people[i].1.clone(), |_| true, Nicknames::built_in());
        assert!(stats.skipped_keys > 0);
        let (john, jon) = (people[people.len() - 2].0, people[people.len() - 1].0);
        assert!(found.iter().any(|p| [p.a, p.b] == [john, jon] || [p.a, p.b] == [jon, john]), "{found:?}");
    }
}
