//! `admin reviews scan`: the matcher over everyone. Live people are read in pages, grouped by
//! the matcher's blocking keys, and only people sharing a key are compared; pairs scoring at
//! least the matcher's threshold are queued as `people` items. Idempotent: a pair with an open
//! item, or one decided different, is not queued again.

use std::collections::{BTreeSet, HashMap};

use identity_core::matcher::{self, Person};
use identity_core::nicknames::Nicknames;
use identity_core::UserId;
use identity_store::{NewPeopleReview, PeopleQuery, Store};

/// People read per page.
const PAGE: u32 = 1000;
/// Pairs queued per transaction.
const BATCH: usize = 500;
/// A blocking key shared by more people than this is too common to say anything (a default
/// date of birth typed for everyone, say): comparing all of them would cost the square of it.
const MAX_BLOCK: usize = 200;

/// What a scan did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    pub people: usize,
    pub compared: usize,
    pub queued: u64,
    /// Keys skipped as too common (see [`MAX_BLOCK`]).
    pub skipped_keys: usize,
}

/// Scans everyone, calling `progress` with the people read so far.
pub async fn scan(store: &Store, nicknames: &Nicknames, mut progress: impl FnMut(usize)) -> Result<Scanned, String> {
    let mut people: Vec<(UserId, Person)> = Vec::new();
    let mut after = None;
    loop {
        let query = PeopleQuery { status: None, updated_since: None, after, limit: PAGE };
        let page = store.list_people(&query).await.map_err(|e| e.to_string())?;
        people.extend(page.items.iter().map(|p| (p.user.id, Person::from_combined(&p.combined))));
        progress(people.len());
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, person)) in people.iter().enumerate() {
        for key in matcher::blocking_keys(person) {
            blocks.entry(key).or_default().push(i);
        }
    }
    let mut done = Scanned { people: people.len(), ..Scanned::default() };
    let mut seen: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut pairs = Vec::new();
    for members in blocks.values() {
        if members.len() > MAX_BLOCK {
            done.skipped_keys += 1;
            continue;
        }
        for (n, &i) in members.iter().enumerate() {
            for &j in &members[n + 1..] {
                if !seen.insert((i.min(j), i.max(j))) {
                    continue;
                }
                done.compared += 1;
                let m = matcher::compare(&people[i].1, &people[j].1, nicknames);
                if m.is_candidate() {
                    pairs.push(NewPeopleReview { a: people[i].0, b: people[j].0, score: m.score, reasons: m.reasons });
                }
            }
        }
    }
    for batch in pairs.chunks(BATCH) {
        done.queued += store.review_add_people(batch).await.map_err(|e| e.to_string())?;
    }
    Ok(done)
}
