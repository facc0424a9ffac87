//! `admin reviews scan`: the matcher over everyone. Live people are read in pages, kept as the
//! little the matcher compares, and paired by [`crate::matching::pairs`]; the pairs are queued as
//! `people` items. Idempotent: a pair with an open item, or one decided different, is not queued
//! again.

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

/// What the scan keeps of a person: the matcher's comparison keys, without the email address
/// (live people never share one: the store keeps addresses unique among them).
struct Kept {
    id: UserId,
    first: Box<str>,
    last: Box<str>,
    date_of_birth: Option<chrono::NaiveDate>,
    trn: Option<Box<str>>,
}

impl Kept {
    fn of(id: UserId, p: Person) -> Self {
        Self {
            id,
            first: p.first_name.into(),
            last: p.last_name.into(),
            date_of_birth: p.date_of_birth,
            trn: p.trn.map(Into::into),
        }
    }

    fn person(&self) -> Person {
        Person {
            first_name: self.first.to_string(),
            last_name: self.last.to_string(),
            date_of_birth: self.date_of_birth,
            email: None,
            trn: self.trn.as_deref().map(str::to_owned),
        }
    }
}

/// Scans everyone, calling `progress` with the people read so far.
pub async fn scan(store: &Store, nicknames: &Nicknames, mut progress: impl FnMut(usize)) -> Result<Scanned, String> {
    let mut people: Vec<Kept> = Vec::new();
    let mut after = None;
    loop {
        let query = PeopleQuery { status: None, updated_since: None, after, limit: PAGE };
        let page = store.list_people(&query).await.map_err(|e| e.to_string())?;
        people.extend(page.items.iter().map(|p| Kept::of(p.user.id, Person::from_combined(&p.combined))));
        progress(people.len());
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let (pairs, found) = matching::pairs(people.len(), |i| people[i].id, |i| people[i].person(), |_| true, nicknames);
    let mut queued = 0;
    for batch in pairs.chunks(BATCH) {
        queued += store.review_add_people(batch).await.map_err(|e| e.to_string())?;
    }
    Ok(Scanned { people: people.len(), found, queued })
}
