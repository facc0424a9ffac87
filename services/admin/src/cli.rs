//! `admin reviews scan|list` and `admin people export|erase`, printing to standard output
//! (progress to standard error).

use std::io::Write as _;

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

/// Lists items, oldest first, up to `limit` of them. Stops quietly when the reader goes away
/// (`admin reviews list | head`).
pub async fn list(
    store: &Store,
    open: bool,
    kind: Option<&str>,
    json: bool,
    limit: Option<usize>,
) -> Result<(), String> {
    let kind = kind.and_then(Kind::parse);
    let mut out = std::io::stdout().lock();
    let mut after = None;
    let mut left = limit.unwrap_or(usize::MAX);
    let mut print = |line: String| match writeln!(out, "{line}") {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e.to_string()),
    };
    if !json && !print(format!("{:<36}  {:<10}  {:<40}  CANDIDATES", "ID", "KIND", "SUBJECT"))? {
        return Ok(());
    }
    while left > 0 {
        let page_size = u32::try_from(left.min(500)).unwrap_or(500);
        let query = ReviewQuery { open, kind, service: None, after, limit: page_size };
        let page = store.review_list(&query).await.map_err(|e| e.to_string())?;
        left = left.saturating_sub(page.items.len());
        for item in page.items {
            let view = ItemView::from(item);
            let line = if json {
                serde_json::to_string(&view).map_err(|e| e.to_string())?
            } else {
                let subject = match &view.subject {
                    SubjectView::Person(p) => p.to_string(),
                    SubjectView::Import(i) => format!("{} {} (row {})", i.service, i.id, i.row),
                };
                let candidates: Vec<String> =
                    view.candidates.iter().map(|c| format!("{} ({:.2})", c.person, c.score)).collect();
                format!("{:<36}  {:<10}  {:<40}  {}", view.id, view.kind, subject, candidates.join(", "))
            };
            if !print(line)? {
                return Ok(());
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(())
}

/// `admin people export ID`: the export document on standard output.
pub async fn export(store: &Store, id: identity_core::UserId) -> Result<(), String> {
    use futures_util::StreamExt as _;
    let pieces = crate::export::export(store.clone(), id).await.map_err(|e| match e {
        identity_store::StoreError::NotFound => format!("no person {id}"),
        e => e.to_string(),
    })?;
    let mut pieces = std::pin::pin!(pieces);
    let mut out = std::io::stdout().lock();
    while let Some(piece) = pieces.next().await {
        out.write_all(piece?.as_bytes()).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// `admin people erase ID --reason TEXT`: erases the person and the records merged into it.
pub async fn erase(store: &Store, id: identity_core::UserId, reason: &str) -> Result<(), String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err("--reason must say why (a request's reference, say)".into());
    }
    let who = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    let actor = identity_store::Actor::new(format!("admin-cli:{who}"));
    let done = store.erase(id, reason, &actor).await.map_err(|e| match e {
        identity_store::StoreError::NotFound => format!("no person {id}"),
        e => e.to_string(),
    })?;
    let records: Vec<String> = done.people.iter().map(ToString::to_string).collect();
    if done.erased_now {
        println!("erased {} ({} records: {})", done.person, records.len(), records.join(", "));
    } else {
        println!("{} was erased already, on {} by {}", done.person, done.at, done.by);
    }
    Ok(())
}

/// `admin precedence show`: the version in force as the TOML document `set` reads.
pub async fn precedence_show(store: &Store) -> Result<(), String> {
    let current = store.precedence().await.map_err(|e| e.to_string())?;
    match (&current.set_by, current.set_at) {
        (Some(by), Some(at)) => println!("# version {}, set by {by} at {}", current.version, at.to_rfc3339()),
        _ => println!("# version 0: the precedence identity ships (DECISIONS.md \"Precedence\" gives its reasons)"),
    }
    print!("{}", current.precedence.to_toml());
    Ok(())
}

/// `admin precedence set FILE`: checks the document whole and stores it as the next version;
/// nothing is stored when it is refused.
pub async fn precedence_set(store: &Store, file: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let precedence = identity_core::precedence::Precedence::from_toml(&text)
        .map_err(|e| format!("{}: {e}; nothing was stored", file.display()))?;
    let who = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    let stored = store.precedence_set(&precedence, &format!("admin-cli:{who}")).await.map_err(|e| e.to_string())?;
    println!(
        "stored precedence version {}: writers derive with it within a second; admin serve derives everyone \
         again in the background (or run `admin precedence rederive`)",
        stored.version
    );
    Ok(())
}

/// `admin precedence rederive`: derives everyone again with the version in force, now, with
/// progress on standard error.
pub async fn rederive(store: &Store, config: crate::rederive::PrecedenceConfig) -> Result<(), String> {
    let rederivation = crate::rederive::Rederivation {
        store: store.clone(),
        config,
        holder: identity_server::runner::replica_id("admin-cli"),
        metrics: Default::default(),
    };
    let (_stop, never) = tokio::sync::watch::channel(false);
    let started = std::time::Instant::now();
    let mut shown = 0;
    let totals = rederivation
        .run_once(&never, |t| {
            if t.people >= shown + 100_000 {
                shown = t.people;
                eprintln!("{} people derived again, {} changed ({:.0?})", t.people, t.changed, started.elapsed());
            }
        })
        .await
        .map_err(|e| e.to_string())?;
    // Numbered now, as a serving writer's sequencer would have.
    while store.sequence_changes().await.map_err(|e| e.to_string())? > 0 {}
    println!("{totals} in {:.1?}", started.elapsed());
    Ok(())
}
