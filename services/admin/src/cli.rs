//! `admin reviews scan|list`, printing to standard output (progress to standard error).

use identity_core::nicknames::Nicknames;
use identity_core::review::Kind;
use identity_store::{ReviewQuery, Store};

use crate::views::{ItemView, SubjectView};

pub async fn scan(store: &Store) -> Result<(), String> {
    let done = crate::scan::scan(store, Nicknames::built_in(), |read| {
        if read % 100_000 == 0 && read > 0 {
            eprintln!("read {read} people");
        }
    })
    .await?;
    println!(
        "{} people, {} pairs compared, {} new review items{}",
        done.people,
        done.found.compared,
        done.queued,
        if done.found.skipped_keys > 0 {
            format!(" ({} keys too common to compare)", done.found.skipped_keys)
        } else {
            String::new()
        }
    );
    Ok(())
}

pub async fn list(store: &Store, open: bool, kind: Option<&str>, json: bool) -> Result<(), String> {
    let kind = kind.and_then(Kind::parse);
    let mut after = None;
    if !json {
        println!("{:<36}  {:<10}  {:<40}  CANDIDATES", "ID", "KIND", "SUBJECT");
    }
    loop {
        let query = ReviewQuery { open, kind, service: None, after, limit: 500 };
        let page = store.review_list(&query).await.map_err(|e| e.to_string())?;
        for item in page.items {
            let view = ItemView::from(item);
            if json {
                println!("{}", serde_json::to_string(&view).map_err(|e| e.to_string())?);
                continue;
            }
            let subject = match &view.subject {
                SubjectView::Person(p) => p.to_string(),
                SubjectView::Import(i) => format!("{} {} (row {})", i.service, i.id, i.row),
            };
            let candidates: Vec<String> =
                view.candidates.iter().map(|c| format!("{} ({:.2})", c.person, c.score)).collect();
            println!("{:<36}  {:<10}  {:<40}  {}", view.id, view.kind, subject, candidates.join(", "));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}
