//! A person's export (UK GDPR art. 15; DESIGN.md §7.9): one JSON document with everything identity
//! holds about them, written as a stream of pieces so that a person with 100,000 changes costs no
//! more memory than one with ten: the head (user, combined profile, source profiles, links, the
//! records merged into them, merges, review items, erasure), then their changes and the import
//! rows that named them, a page at a time. Served by `GET /admin/v1/people/{id}/export` and
//! printed by `admin people export ID`.

use chrono::{DateTime, Utc};
use futures_util::stream::{self, Stream, StreamExt as _};
use identity_core::{CombinedProfile, ProfileFields, Source, UserId};
use identity_store::{Erasure, ImportRowNaming, Store, StoredProfile};
use serde::Serialize;
use serde_json::Value;

use crate::views::{ChangeView, ItemView};

/// Changes and import rows read per query.
const PAGE: u32 = 500;

#[derive(Serialize)]
struct Head<'a> {
    person: UserId,
    exported_at: DateTime<Utc>,
    user: &'a identity_core::User,
    /// Each value with the source it came from; absent once erased.
    combined_profile: Option<&'a CombinedProfile>,
    source_profiles: Vec<ProfileView>,
    links: Vec<LinkView>,
    /// The records merged into this person, each with its own source profiles.
    merged_records: Vec<MergedView>,
    merges: &'a [identity_core::merge::Merge],
    review_items: Vec<ItemView>,
    erasure: Option<ErasureView>,
}

#[derive(Serialize)]
struct ProfileView {
    source: Source,
    external_id: Option<String>,
    #[serde(flatten)]
    fields: ProfileFields,
    /// The source's own document as it sent it (SCIM's resource).
    attributes: Value,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<StoredProfile> for ProfileView {
    fn from(p: StoredProfile) -> Self {
        Self {
            source: p.source,
            external_id: p.external_id,
            fields: p.fields,
            attributes: p.attributes,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Serialize)]
struct LinkView {
    source: Source,
    external_id: String,
}

#[derive(Serialize)]
struct MergedView {
    person: UserId,
    source_profiles: Vec<ProfileView>,
}

#[derive(Serialize)]
struct ErasureView {
    person: UserId,
    by: String,
    at: DateTime<Utc>,
    reason: String,
}

impl From<Erasure> for ErasureView {
    fn from(e: Erasure) -> Self {
        Self { person: e.person, by: e.by, at: e.at, reason: e.reason }
    }
}

#[derive(Serialize)]
struct ImportRowView {
    job: uuid::Uuid,
    service: String,
    row: i64,
    /// The row's ID field and the line as uploaded.
    source_id: String,
    raw_data: String,
    outcome: Option<String>,
    notes: Option<String>,
}

impl From<ImportRowNaming> for ImportRowView {
    fn from(r: ImportRowNaming) -> Self {
        Self {
            job: r.job_id,
            service: r.service,
            row: r.row.row_number,
            source_id: r.row.source_id,
            raw_data: r.row.raw_data,
            outcome: r.row.outcome.map(|o| o.to_string()),
            notes: r.row.notes,
        }
    }
}

/// Where the stream is: `who` indexes the person and the records merged into them; `first` says
/// no item of the array was written yet.
enum Next {
    Changes { who: usize, after: Option<i64>, first: bool },
    ImportRows { who: usize, after: Option<(uuid::Uuid, i64)>, first: bool },
    Done,
}

fn json<T: Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

/// The head of the export, ending where the changes begin, and the records whose changes and
/// import rows follow (the person's, then those merged into them); `NotFound` for an unknown
/// person.
async fn head(store: &Store, id: UserId) -> Result<(String, Vec<UserId>), identity_store::StoreError> {
    let person = store.person(id).await?;
    let profiles = store.profiles(id).await?;
    let mut merged: Vec<MergedView> = Vec::new();
    for (who, profile) in store.merged_profiles(id).await? {
        match merged.last_mut() {
            Some(m) if m.person == who => m.source_profiles.push(profile.into()),
            _ => merged.push(MergedView { person: who, source_profiles: vec![profile.into()] }),
        }
    }
    let merges = store.merges_of(id).await?;
    let reviews = store.reviews_naming(id).await?;
    let erasure = store.erasure_of(id).await?;
    let erased = erasure.is_some();
    let records: Vec<UserId> = std::iter::once(id).chain(merged.iter().map(|m| m.person)).collect();
    let head = Head {
        person: id,
        exported_at: Utc::now(),
        user: &person.user,
        combined_profile: (!erased).then_some(&person.combined),
        source_profiles: profiles.into_iter().map(ProfileView::from).collect(),
        links: person
            .links
            .iter()
            .map(|l| LinkView { source: l.source.clone(), external_id: l.external_id.clone() })
            .collect(),
        merged_records: merged,
        merges: &merges,
        review_items: reviews.into_iter().map(ItemView::from).collect(),
        erasure: erasure.map(ErasureView::from),
    };
    let text = serde_json::to_string(&head).map_err(|e| identity_store::StoreError::Corrupt(e.to_string()))?;
    // The object stays open: the changes and import rows follow.
    Ok((format!("{},\"changes\":[", text.trim_end_matches('}')), records))
}

/// Items of one array, each after a comma unless it is the array's first.
fn items<T, V: Serialize>(page: Vec<T>, first: bool, view: impl Fn(T) -> V) -> Result<String, String> {
    let mut text = String::new();
    for (i, item) in page.into_iter().enumerate() {
        if !(first && i == 0) {
            text.push(',');
        }
        text.push_str(&json(&view(item))?);
    }
    Ok(text)
}

/// A piece of the export: the next page of the array `next` is in, and where to go after it.
async fn piece(store: &Store, records: &[UserId], next: Next) -> Option<(Result<String, String>, Next)> {
    let (text, next) = match next {
        Next::Changes { who, after, first } => {
            let page = match store.changes_written(records[who], after, PAGE).await {
                Ok(page) => page,
                Err(e) => return Some((Err(e.to_string()), Next::Done)),
            };
            let (full, last) = (page.len() == PAGE as usize, page.last().map(|(id, _)| *id));
            let still_first = first && page.is_empty();
            let text = items(page, first, |(_, change)| ChangeView::from(change));
            if full {
                (text, Next::Changes { who, after: last, first: still_first })
            } else if who + 1 < records.len() {
                (text, Next::Changes { who: who + 1, after: None, first: still_first })
            } else {
                (text.map(|t| t + "],\"import_rows\":["), Next::ImportRows { who: 0, after: None, first: true })
            }
        }
        Next::ImportRows { who, after, first } => {
            let page = match store.import_rows_naming(records[who], after, PAGE).await {
                Ok(page) => page,
                Err(e) => return Some((Err(e.to_string()), Next::Done)),
            };
            let (full, last) = (page.len() == PAGE as usize, page.last().map(|r| (r.job_id, r.row.row_number)));
            let still_first = first && page.is_empty();
            let text = items(page, first, ImportRowView::from);
            if full {
                (text, Next::ImportRows { who, after: last, first: still_first })
            } else if who + 1 < records.len() {
                (text, Next::ImportRows { who: who + 1, after: None, first: still_first })
            } else {
                (text.map(|t| t + "]}\n"), Next::Done)
            }
        }
        Next::Done => return None,
    };
    // An error ends the stream: the document is cut short, which a reader notices.
    let next = if text.is_err() { Next::Done } else { next };
    Some((text, next))
}

/// The export of `id` as a stream of JSON text. The first piece is read before this returns, so
/// an unknown person is an error here, not in the middle of a response.
pub async fn export(
    store: Store,
    id: UserId,
) -> Result<impl Stream<Item = Result<String, String>>, identity_store::StoreError> {
    let (first, records) = head(&store, id).await?;
    let start = Next::Changes { who: 0, after: None, first: true };
    let rest = stream::unfold(start, move |next| {
        let (store, records) = (store.clone(), records.clone());
        async move { piece(&store, &records, next).await }
    });
    Ok(stream::once(async move { Ok(first) }).chain(rest))
}
