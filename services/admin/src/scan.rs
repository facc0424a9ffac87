//! `admin reviews scan`: the matcher over everyone. Live people are read in pages and paired by
//! [`crate::matching::pairs`]; the pairs are queued as `people` items. Idempotent: a pair with an
//! open item, or one decided different, is not queued again.

use identity_core::matcher::Person;
use identity_core::nicknames::Nicknames;
use identity_core::UserId;
use identity_store::{PeopleQuery, Store};

use crate::matching;

/// People read per page.
const PAGE: u32 = 1000;
/// Pairs queued per transaction.
const BATCH: usize = 500;

/// What a scan did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    pub people: usize,
    pub found: matching::Found,
    pub queued: u64,
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
    let (pairs, found) = matching::pairs(&people, |_| true, nicknames);
    let mut queued = 0;
    for batch in pairs.chunks(BATCH) {
        queued += store.review_add_people(batch).await.map_err(|e| e.to_string())?;
    }
    Ok(Scanned { people: people.len(), found, queued })
}
