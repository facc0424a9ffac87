//! Load the wrk scripts cannot make: Hawk-signed requests (signed ahead, one fresh nonce each)
//! and the sign-in profile's staleness under a steady rate of SCIM writes.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use identity_testkit::hawk::Signing;

/// Writes `count` lines of "PATH<TAB>AUTHORIZATION", each path `prefix` and a random line of
/// `list`, each signed now with its own nonce: the requests of one run of `get_signed.lua`.
pub fn hawk_headers(
    id: &str,
    key: &str,
    base: &str,
    list: &Path,
    prefix: &str,
    count: usize,
    out: &Path,
) -> Result<(), String> {
    let (host, port) = identity_testkit::hawk::host_and_port(base);
    let items: Vec<String> =
        std::fs::read_to_string(list).map_err(|e| e.to_string())?.lines().map(str::to_owned).collect();
    if items.is_empty() {
        return Err(format!("{} is empty", list.display()));
    }
    let ts = chrono::Utc::now().timestamp();
    let mut f = std::io::BufWriter::new(std::fs::File::create(out).map_err(|e| e.to_string())?);
    let run = std::process::id();
    for i in 0..count {
        let resource = format!("{prefix}{}", items[(i * 7919) % items.len()]);
        let nonce = format!("b{run}x{i}");
        let header =
            Signing { key, id, ts, nonce: &nonce, method: "GET", resource: &resource, host: &host, port, hash: None }
                .header();
        writeln!(f, "{resource}\t{header}").map_err(|e| e.to_string())?;
    }
    f.flush().map_err(|e| e.to_string())
}

/// What `staleness` was given.
pub struct Staleness<'a> {
    pub scim: &'a str,
    pub scim_token: &'a str,
    pub profile: &'a str,
    pub profile_token: &'a str,
    pub rate: u32,
    pub seconds: u64,
    /// One write in `sample` is followed until sso-profile serves it.
    pub sample: u32,
}

/// SCIM creates at `rate` a second for `seconds`; for a sample of them, the time from the 201 to
/// sso-profile answering the new user. Prints the rate reached and the delays' percentiles.
pub async fn staleness(s: Staleness<'_>) -> Result<(), String> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().map_err(|e| e.to_string())?;
    let delays = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let unseen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let run = format!("{:x}", chrono::Utc::now().timestamp_micros());
    let mut tick = tokio::time::interval(Duration::from_secs(1) / s.rate);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let total = u64::from(s.rate) * s.seconds;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        tick.tick().await;
        let (http, delays, failed, unseen) = (http.clone(), delays.clone(), failed.clone(), unseen.clone());
        let (scim, scim_token) = (format!("{}/scim/v2/Users", s.scim), s.scim_token.to_owned());
        let (profile, profile_token) = (s.profile.to_owned(), s.profile_token.to_owned());
        let follow = i % u64::from(s.sample) == 0;
        let name = format!("stale.{run}.{i}");
        tasks.spawn(async move {
            let body = serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name,
                "name": {"givenName": "Stale", "familyName": format!("Write{i}")},
                "emails": [{"value": format!("{name}@bench.example"), "primary": true}],
            });
            let sent = http
                .post(&scim)
                .bearer_auth(&scim_token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await;
            if !sent.as_ref().is_ok_and(|r| r.status().as_u16() == 201) {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            let created = Instant::now();
            if !follow {
                return;
            }
            let url = format!("{profile}/api/sso/{name}");
            while created.elapsed() < Duration::from_secs(10) {
                let r = http.get(&url).bearer_auth(&profile_token).send().await;
                if r.is_ok_and(|r| r.status().as_u16() == 200) {
                    delays.lock().unwrap_or_else(|e| e.into_inner()).push(created.elapsed());
                    return;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            unseen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        // Keep the set from holding every finished task until the end.
        while tasks.try_join_next().is_some() {}
    }
    let sending = started.elapsed();
    while tasks.join_next().await.is_some() {}
    let mut d = delays.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // A write never served counts as the longest wait there is, not as no wait.
    let never = unseen.load(std::sync::atomic::Ordering::Relaxed);
    d.extend((0..never).map(|_| Duration::from_secs(10)));
    d.sort();
    let at =
        |q: f64| d.get(((d.len() as f64 - 1.0) * q).round() as usize).map_or(f64::NAN, |x| x.as_secs_f64() * 1000.0);
    println!(
        "STALENESS writes={total} rate={:.0} failed={} followed={} unseen={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
        total as f64 / sending.as_secs_f64(),
        failed.load(std::sync::atomic::Ordering::Relaxed),
        d.len(),
        unseen.load(std::sync::atomic::Ordering::Relaxed),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
