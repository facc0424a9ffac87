//! Hawk request signatures (Hawk 1.1, sha256), checked as the seed system's library (mohawk)
//! checks them, for the callers that sign their requests today.
//!
//! A request's `Authorization: Hawk id="…", ts="…", nonce="…", hash="…", ext="…", mac="…"` is
//! accepted when:
//! - the header is at most 4 KiB, each attribute one of Hawk's, once, of Hawk's characters;
//! - `id` is the binary's key id (or, during a rotation, the previous one) and `mac` is the
//!   HMAC-SHA256, under that key, of the method, the path and query as sent, the host and port
//!   the caller signed (the `Host` header; the scheme's port from `X-Forwarded-Proto` only when
//!   the connection comes from a trusted proxy), the header's `hash` and `ext`;
//! - a request with a body or a `Content-Type` carries `hash`, and any `hash` given is the
//!   SHA-256 of the content type (lower-cased, without parameters) and the body;
//! - `ts` is within the allowed skew of the clock;
//! - its (id, nonce, ts) was never accepted before by any replica (the store's `hawk_nonces`).
//!
//! Every refusal is the same 401, so a caller learns nothing about which check failed; a nonce
//! store that cannot be reached refuses too (503), never lets the request through, except in a
//! binary that answers reads from memory ([`Hawk::answering_from_memory`]). Keys are never
//! logged, and MACs and hashes are compared in constant time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, OriginalUri, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use identity_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::Principal;
use crate::network::NetworkProfile;
use crate::outage::Outage;

/// The longest header read, as mohawk's.
pub const MAX_HEADER: usize = 4096;
/// How often, at most, a process sweeps old nonces (and warns of checking them itself).
const SWEEP_EVERY_SECONDS: i64 = 60;
/// The most nonces a process remembers itself while the shared store is down (about 25 MiB);
/// beyond it requests are refused, as without the fallback.
const LOCAL_NONCES_MAX: usize = 200_000;

/// `[hawk]` as written: the binary's key pair (the seed system's `<SERVICE>_HAWK_ID` and
/// `…_KEY`), and the previous one while callers move to a new key. Unset, Hawk is not accepted.
/// Set them with `IDENTITY_HAWK__ID` and `IDENTITY_HAWK__KEY`, never in a file that is committed.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct HawkFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_key: Option<String>,
    /// How far a request's timestamp may be from the clock, either way.
    skew_seconds: Option<u32>,
}

/// `[hawk]`, checked: whole key pairs, keys long enough. Its `Debug` hides the keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HawkFile", into = "HawkFile")]
pub struct HawkConfig {
    keys: Vec<Key>,
    skew_seconds: u32,
}

#[derive(Clone, PartialEq, Eq)]
struct Key {
    id: String,
    secret: String,
}

const DEFAULT_SKEW_SECONDS: u32 = 60;

impl Default for HawkConfig {
    fn default() -> Self {
        Self { keys: Vec::new(), skew_seconds: DEFAULT_SKEW_SECONDS }
    }
}

impl std::fmt::Debug for HawkConfig {
    // The keys are secrets: a configuration printed at start or in an error must not show them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HawkConfig")
            .field("ids", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>())
            .field("skew_seconds", &self.skew_seconds)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HawkConfigError {
    #[error("hawk.{0} is set without hawk.{1}")]
    Half(&'static str, &'static str),
    #[error("hawk.{0} must be at least 16 characters")]
    ShortKey(&'static str),
    #[error("hawk.skew_seconds must be 1 to 600")]
    Skew,
}

impl TryFrom<HawkFile> for HawkConfig {
    type Error = HawkConfigError;

    fn try_from(f: HawkFile) -> Result<Self, HawkConfigError> {
        let pair = |id: Option<String>, key: Option<String>, names: (&'static str, &'static str)| match (id, key) {
            (Some(_), Some(key)) if key.len() < 16 => Err(HawkConfigError::ShortKey(names.1)),
            (Some(id), Some(secret)) => Ok(Some(Key { id, secret })),
            (Some(_), None) => Err(HawkConfigError::Half(names.0, names.1)),
            (None, Some(_)) => Err(HawkConfigError::Half(names.1, names.0)),
            (None, None) => Ok(None),
        };
        let current = pair(f.id, f.key, ("id", "key"))?;
        let previous = pair(f.previous_id, f.previous_key, ("previous_id", "previous_key"))?;
        if previous.is_some() && current.is_none() {
            return Err(HawkConfigError::Half("previous_id", "id"));
        }
        let skew_seconds = f.skew_seconds.unwrap_or(DEFAULT_SKEW_SECONDS);
        if !(1..=600).contains(&skew_seconds) {
            return Err(HawkConfigError::Skew);
        }
        Ok(Self { keys: current.into_iter().chain(previous).collect(), skew_seconds })
    }
}

impl From<HawkConfig> for HawkFile {
    fn from(c: HawkConfig) -> Self {
        let mut keys = c.keys.into_iter();
        let (current, previous) = (keys.next(), keys.next());
        Self {
            id: current.as_ref().map(|k| k.id.clone()),
            key: current.map(|k| k.secret),
            previous_id: previous.as_ref().map(|k| k.id.clone()),
            previous_key: previous.map(|k| k.secret),
            skew_seconds: Some(c.skew_seconds),
        }
    }
}

impl HawkConfig {
    /// Whether Hawk is accepted (a key pair is set).
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }
}

/// Why a request was refused. Callers see only the status: every refusal but `Unavailable`
/// answers the same 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HawkError {
    /// Not a Hawk header of Hawk's shape, or over 4 KiB.
    Malformed,
    UnknownId,
    BadMac,
    /// A body or a content type without a payload hash.
    MissingHash,
    BadHash,
    /// The timestamp is outside the allowed skew.
    Stale,
    Replayed,
    /// The body is larger than the route reads.
    TooLarge,
    /// The nonce store cannot be reached: the request is refused, not let through.
    Unavailable,
}

impl IntoResponse for HawkError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
            _ => (StatusCode::UNAUTHORIZED, "Unauthorized"),
        };
        let mut response = (status, axum::Json(serde_json::json!({ "detail": detail }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Hawk"));
        }
        response
    }
}

/// A Hawk header's attributes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Attributes<'a> {
    id: &'a str,
    ts: &'a str,
    nonce: &'a str,
    mac: &'a str,
    hash: Option<&'a str>,
    ext: Option<&'a str>,
    app: Option<&'a str>,
    dlg: Option<&'a str>,
}

/// The characters mohawk allows in an attribute's value.
fn value_char(c: u8) -> bool {
    c == b' ' || c.is_ascii_alphanumeric() || b"!#$%&'()*+,-./:;<=>?@[]^_`{|}~".contains(&c)
}

/// Parses `Hawk key="value", …` as mohawk does: every pair well formed, each key one of Hawk's
/// and given once, nothing left over.
fn parse(header: &str) -> Result<Attributes<'_>, HawkError> {
    if header.len() > MAX_HEADER {
        return Err(HawkError::Malformed);
    }
    let (scheme, mut rest) = header.split_once(' ').ok_or(HawkError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("hawk") {
        return Err(HawkError::Malformed);
    }
    let mut a = Attributes::default();
    let mut seen: Vec<&str> = Vec::new();
    rest = rest.trim_start();
    while !rest.is_empty() {
        let key_end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).ok_or(HawkError::Malformed)?;
        let (key, after) = rest.split_at(key_end);
        let after = after.strip_prefix("=\"").ok_or(HawkError::Malformed)?;
        let value_end = after.find('"').ok_or(HawkError::Malformed)?;
        let (value, after) = after.split_at(value_end);
        if key.is_empty() || !value.bytes().all(value_char) || seen.contains(&key) {
            return Err(HawkError::Malformed);
        }
        seen.push(key);
        match key {
            "id" => a.id = value,
            "ts" => a.ts = value,
            "nonce" => a.nonce = value,
            "mac" => a.mac = value,
            "hash" => a.hash = Some(value),
            "ext" => a.ext = Some(value),
            "app" => a.app = Some(value),
            "dlg" => a.dlg = Some(value),
            // Response-only attributes: allowed by the grammar, meaningless in a request.
            "tsm" | "error" => {}
            _ => return Err(HawkError::Malformed),
        }
        // A pair ends with optional spaces and a comma, or the end of the header.
        let after = after[1..].trim_start();
        rest = match after.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if after.is_empty() => after,
            None => return Err(HawkError::Malformed),
        };
    }
    if a.id.is_empty() || a.ts.is_empty() || a.nonce.is_empty() || a.mac.is_empty() {
        return Err(HawkError::Malformed);
    }
    Ok(a)
}

/// What a request was signed over, besides the header's own attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<'a> {
    pub method: &'a str,
    /// The path and query exactly as sent.
    pub resource: &'a str,
    pub host: &'a str,
    pub port: u16,
}

fn normalized(a: &Attributes<'_>, s: &Signed<'_>) -> String {
    let mut text = format!(
        "hawk.1.header\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        a.ts,
        a.nonce,
        s.method.to_ascii_uppercase(),
        s.resource,
        s.host.to_ascii_lowercase(),
        s.port,
        a.hash.unwrap_or(""),
        a.ext.unwrap_or("")
    );
    if let Some(app) = a.app.filter(|app| !app.is_empty()) {
        text.push_str(&format!("{app}\n{}\n", a.dlg.unwrap_or("")));
    }
    text
}

fn mac_of(key: &[u8], text: &str) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(text.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The payload hash: SHA-256 of the content type (lower-cased, parameters dropped) and the body.
pub fn payload_hash(content_type: Option<&str>, body: &[u8]) -> String {
    let essence = content_type.and_then(|t| t.split(';').next()).map(|t| t.trim().to_ascii_lowercase());
    let mut hash = Sha256::new();
    hash.update(b"hawk.1.payload\n");
    hash.update(essence.unwrap_or_default().as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hash.update(b"\n");
    base64::engine::general_purpose::STANDARD.encode(hash.finalize())
}

/// A request whose signature is good: its key id, and the nonce to record.
struct Checked {
    id: String,
    nonce: String,
    ts: i64,
    now: i64,
}

impl HawkConfig {
    /// Checks everything but the nonce; returns the key id, and the nonce and timestamp to record.
    fn check<'a>(
        &self,
        header: &'a str,
        signed: &Signed<'_>,
        content_type: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(&str, &'a str, i64), HawkError> {
        let a = parse(header)?;
        // Every configured key is tried, so the time taken does not say which ids exist.
        let mut found = None;
        for key in &self.keys {
            let same_id = key.id.as_bytes().ct_eq(a.id.as_bytes());
            if bool::from(same_id) {
                found = Some(key);
            }
        }
        let key = found.ok_or(HawkError::UnknownId)?;
        let ours =
            base64::engine::general_purpose::STANDARD.encode(mac_of(key.secret.as_bytes(), &normalized(&a, signed)));
        if !bool::from(ours.as_bytes().ct_eq(a.mac.as_bytes())) {
            return Err(HawkError::BadMac);
        }
        match a.hash {
            Some(theirs) => {
                let ours = payload_hash(content_type, body);
                if !bool::from(ours.as_bytes().ct_eq(theirs.as_bytes())) {
                    return Err(HawkError::BadHash);
                }
            }
            None if !body.is_empty() || content_type.is_some() => return Err(HawkError::MissingHash),
            None => {}
        }
        let ts: i64 = a.ts.parse().map_err(|_| HawkError::Malformed)?;
        if (ts - now).abs() > i64::from(self.skew_seconds) {
            return Err(HawkError::Stale);
        }
        Ok((&key.id, a.nonce, ts))
    }
}

/// Hawk for one binary: its keys, the shared nonce store, and who counts as a trusted proxy.
#[derive(Clone)]
pub struct Hawk(Arc<Inner>);

struct Inner {
    keys: HawkConfig,
    store: Store,
    network: NetworkProfile,
    /// When this process last swept old nonces (seconds since the epoch).
    swept: AtomicI64,
    /// Set for a binary that answers reads from memory: the nonces it accepted while the shared
    /// store could not be reached, and when it last failed.
    local: Option<(LocalNonces, Outage)>,
}

/// Nonces one process accepted while the shared store was unreachable: a replay to this replica
/// is still refused, during the outage and after it; one to another replica in the same outage
/// is not (DECISIONS.md, "Hawk").
#[derive(Default)]
struct LocalNonces {
    seen: Mutex<HashMap<(String, String), i64>>,
    /// When the fallback was last logged, so an outage logs once a minute, not per request.
    warned: AtomicI64,
}

impl LocalNonces {
    /// Records the nonce; false when it was seen already, or when too many are held even after
    /// forgetting those with a timestamp before `before`.
    fn first_use(&self, id: &str, nonce: &str, ts: i64, before: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= LOCAL_NONCES_MAX {
            seen.retain(|_, at| *at >= before);
            if seen.len() >= LOCAL_NONCES_MAX {
                return false;
            }
        }
        seen.insert((id.to_owned(), nonce.to_owned()), ts).is_none()
    }

    /// Whether the nonce was accepted here while the shared store was down; forgets those with
    /// a timestamp before `before`, so the set empties once an outage is over.
    fn seen(&self, id: &str, nonce: &str, before: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.is_empty() {
            return false;
        }
        seen.retain(|_, at| *at >= before);
        seen.contains_key(&(id.to_owned(), nonce.to_owned()))
    }
}

impl std::fmt::Debug for Hawk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Hawk").field(&self.0.keys).finish()
    }
}

/// True at most once a minute per `last` (seconds since the epoch of the last time it was), for
/// work a process does now and then beside requests: whichever request comes first does it.
fn once_a_minute(last: &AtomicI64, now: i64) -> bool {
    let then = last.load(Ordering::Relaxed);
    now - then >= SWEEP_EVERY_SECONDS && last.compare_exchange(then, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}

/// Whether a request carries a Hawk header (and so must be checked by [`Hawk::verify`]).
pub fn is_hawk(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().get(..5))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"hawk "))
}

impl Hawk {
    /// Hawk as configured, or `None` when no key is set.
    pub fn new(config: &HawkConfig, store: Store, network: NetworkProfile) -> Option<Self> {
        Self::with(config, store, network, None)
    }

    /// Hawk for a binary that answers reads from memory (sso-profile): while the shared nonce
    /// store cannot be reached (`outage`), nonces are checked against those this process has
    /// accepted meanwhile, so a sign-in does not wait for the database. A replayed read returns
    /// what the original request already returned; a binary that writes must not use this.
    pub fn answering_from_memory(
        config: &HawkConfig,
        store: Store,
        network: NetworkProfile,
        outage: Outage,
    ) -> Option<Self> {
        Self::with(config, store, network, Some((LocalNonces::default(), outage)))
    }

    fn with(
        config: &HawkConfig,
        store: Store,
        network: NetworkProfile,
        local: Option<(LocalNonces, Outage)>,
    ) -> Option<Self> {
        config
            .enabled()
            .then(|| Self(Arc::new(Inner { keys: config.clone(), store, network, swept: AtomicI64::new(0), local })))
    }

    /// Checks a signed request but for its nonce, reading its body (at most `max_body` bytes) to
    /// hash it; returns the request with its body put back, and what is left to record.
    async fn check(&self, req: Request, max_body: usize) -> Result<(Request, Checked), HawkError> {
        let (parts, body) = req.into_parts();
        let bytes: Bytes = axum::body::to_bytes(body, max_body).await.map_err(|_| HawkError::TooLarge)?;
        let header =
            parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(HawkError::Malformed)?;
        let content_type = parts.headers.get(header::CONTENT_TYPE).map(|v| v.to_str().map_err(|_| HawkError::BadHash));
        let content_type = content_type.transpose()?;
        let peer = parts.extensions.get::<ConnectInfo<crate::serve::Peer>>().map(|c| c.0 .0.ip());
        let scheme = match peer {
            Some(peer) if self.0.network.is_trusted_proxy(peer) => {
                parts.headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http")
            }
            _ => "http",
        };
        let authority = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .ok_or(HawkError::BadMac)?;
        let (host, port) = host_and_port(authority, scheme).ok_or(HawkError::BadMac)?;
        // The URI as received: inside a nested router (sso-scim's two SCIM prefixes) `parts.uri`
        // has lost the prefix the caller signed.
        let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
        let resource = uri.path_and_query().map_or("/", |p| p.as_str());
        let signed = Signed { method: parts.method.as_str(), resource, host, port };
        let now = chrono::Utc::now().timestamp();
        let (id, nonce, ts) = self.0.keys.check(header, &signed, content_type, &bytes, now)?;
        let checked = Checked { id: id.to_owned(), nonce: nonce.to_owned(), ts, now };
        Ok((Request::from_parts(parts, Body::from(bytes)), checked))
    }

    /// Records a checked request's nonce, or refuses it as a replay.
    async fn record(&self, c: &Checked) -> Result<(), HawkError> {
        self.record_nonce(&c.id, &c.nonce, c.ts, c.now).await?;
        self.sweep_now_and_then(c.now);
        Ok(())
    }

    /// Records the nonce as used, or refuses it as a replay: in the shared store, or, in a binary
    /// answering from memory while that store fails, in this process.
    async fn record_nonce(&self, id: &str, nonce: &str, ts: i64, now: i64) -> Result<(), HawkError> {
        let Some((local, outage)) = &self.0.local else {
            return match self.0.store.hawk_nonce_first_use(id, nonce, ts).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(HawkError::Replayed),
                Err(e) => {
                    tracing::warn!(error = %e, "the Hawk nonce store cannot be reached; refusing the request");
                    Err(HawkError::Unavailable)
                }
            };
        };
        let before = self.oldest_acceptable(now);
        if local.seen(id, nonce, before) {
            return Err(HawkError::Replayed);
        }
        match outage.ask(self.0.store.hawk_nonce_first_use(id, nonce, ts)).await {
            Some(Ok(true)) => Ok(()),
            Some(Ok(false)) => Err(HawkError::Replayed),
            _ if !local.first_use(id, nonce, ts, before) => Err(HawkError::Replayed),
            _ => {
                if once_a_minute(&local.warned, now) {
                    tracing::warn!("the Hawk nonce store cannot be reached; checking nonces in this process");
                }
                Ok(())
            }
        }
    }

    /// The oldest timestamp a request can be accepted with now: nonces before it cannot be
    /// replayed, since their requests are refused as stale.
    fn oldest_acceptable(&self, now: i64) -> i64 {
        now - 2 * i64::from(self.0.keys.skew_seconds) - 1
    }

    /// Deletes nonces too old to be accepted again, at most once a minute per process, beside
    /// the request rather than in its way.
    fn sweep_now_and_then(&self, now: i64) {
        if !once_a_minute(&self.0.swept, now) {
            return;
        }
        let (store, before) = (self.0.store.clone(), self.oldest_acceptable(now));
        tokio::spawn(async move {
            if let Err(e) = store.hawk_nonces_sweep(before).await {
                tracing::warn!(error = %e, "sweeping old Hawk nonces failed; the next sweep tries again");
            }
        });
    }
}

/// Admits a request that carries a Hawk header ([`is_hawk`]) and runs it: with `hawk`
/// configured and the signature good, `run` gets the request (its body put back) and its
/// caller, named `hawk:<key id>` and given `scopes`, and its answer is `Ok` once the nonce proved
/// new; otherwise `Err` holds the refusal to send. Without Hawk configured every Hawk request is
/// refused as an unknown key would be.
///
/// A read (GET, HEAD) changes nothing, so it runs while its nonce is recorded, and its answer
/// goes only once the nonce proved new: a replay gets the 401 and the answer is dropped. That
/// takes the nonce's round trip out of a signed read's time. Any other method records first:
/// its handler would act on a replayed request. What `run` counts against the caller (the api's
/// rate) is therefore for the caller to charge once the answer is `Ok`, so that a replay charges
/// nothing.
pub async fn admit<F, Fut>(
    hawk: Option<&Hawk>,
    req: Request,
    max_body: usize,
    scopes: &[&str],
    run: F,
) -> Result<Response, Response>
where
    F: FnOnce(Request, Principal) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let Some(hawk) = hawk else { return Err(HawkError::UnknownId.into_response()) };
    let (req, checked) = hawk.check(req, max_body).await.map_err(IntoResponse::into_response)?;
    let name = format!("hawk:{}", checked.id);
    // A stable id per key, for what is counted per caller (the api's rate limit).
    let digest = Sha256::digest(name.as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    let principal =
        Principal { id: uuid::Uuid::from_bytes(id), name, scopes: scopes.iter().map(|s| (*s).to_owned()).collect() };
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let (recorded, answer) = tokio::join!(hawk.record(&checked), run(req, principal));
        return recorded.map(|()| answer).map_err(IntoResponse::into_response);
    }
    hawk.record(&checked).await.map_err(IntoResponse::into_response)?;
    Ok(run(req, principal).await)
}

/// `host[:port]` from a `Host` header, with the scheme's port when none is given.
fn host_and_port<'a>(authority: &'a str, scheme: &str) -> Option<(&'a str, u16)> {
    let default = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
    if authority.starts_with('[') {
        // An IPv6 literal: `[::1]:8080`.
        let end = authority.find(']')?;
        let port = authority[end + 1..].strip_prefix(':').map(str::parse).transpose().ok()?;
        return Some((&authority[..=end], port.unwrap_or(default)));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, port.parse().ok()?)),
        None => Some((authority, default)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: Option<&str>, key: Option<&str>) -> HawkFile {
        HawkFile { id: id.map(str::to_owned), key: key.map(str::to_owned), ..HawkFile::default() }
    }

    fn keys() -> HawkConfig {
        let f = HawkFile {
            previous_id: Some("sso-old".into()),
            previous_key: Some("the-previous-secret".into()),
            ..file(Some("sso"), Some("a-long-enough-secret"))
        };
        HawkConfig::try_from(f).unwrap()
    }

    const NOW: i64 = 1_700_000_000;

    fn signed() -> Signed<'static> {
        Signed { method: "GET", resource: "/api/v1/people?limit=5", host: "identity.example.gov.uk", port: 443 }
    }

    /// A header as a caller makes one (the same steps as mohawk's Sender).
    fn header(key: &str, id: &str, ts: i64, s: &Signed<'_>, hash: Option<&str>) -> String {
        let ts = ts.to_string();
        let a = Attributes { id, ts: &ts, nonce: "abc123", hash, ..Attributes::default() };
        let mac = base64::engine::general_purpose::STANDARD.encode(mac_of(key.as_bytes(), &normalized(&a, s)));
        match hash {
            Some(h) => format!("Hawk mac=\"{mac}\", hash=\"{h}\", id=\"{id}\", ts=\"{ts}\", nonce=\"abc123\""),
            None => format!("Hawk mac=\"{mac}\", id=\"{id}\", ts=\"{ts}\", nonce=\"abc123\""),
        }
    }

    #[test]
    fn the_normalized_string_is_hawks() {
        // The example of Hawk's own specification (its README), with sha256.
        let a = Attributes {
            id: "dh37fgj492je",
            ts: "1353832234",
            nonce: "j4h3g2",
            mac: "x",
            ext: Some("some-app-ext-data"),
            ..Attributes::default()
        };
        let s = Signed { method: "GET", resource: "/resource/1?b=1&a=2", host: "example.com", port: 8000 };
        let text = normalized(&a, &s);
        assert_eq!(
            text,
            "hawk.1.header\n1353832234\nj4h3g2\nGET\n/resource/1?b=1&a=2\nexample.com\n8000\n\nsome-app-ext-data\n"
        );
        let mac = base64::engine::general_purpose::STANDARD
            .encode(mac_of(b"werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn", &text));
        assert_eq!(mac, "6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=");
    }

    #[test]
    fn the_payload_hash_is_hawks() {
        // Hawk's specification: "Thank you for flying Hawk" as text/plain.
        assert_eq!(
            payload_hash(Some("text/plain; charset=utf-8"), b"Thank you for flying Hawk"),
            "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY="
        );
        assert_eq!(payload_hash(Some("TEXT/PLAIN"), b"x"), payload_hash(Some("text/plain"), b"x"));
    }

    #[test]
    fn a_signed_request_passes_and_each_change_fails() {
        let k = keys();
        let s = signed();
        let good = header("a-long-enough-secret", "sso", NOW, &s, None);
        assert_eq!(k.check(&good, &s, None, b"", NOW).map(|(id, _, _)| id.to_owned()), Ok("sso".to_owned()));
        let old = header("the-previous-secret", "sso-old", NOW, &s, None);
        assert!(k.check(&old, &s, None, b"", NOW).is_ok(), "the previous key, during a rotation");

        let fail =
            |h: &str, s: &Signed<'_>, ct: Option<&str>, body: &[u8], now: i64| k.check(h, s, ct, body, now).err();
        assert_eq!(
            fail(&header("wrong-secret-wrong", "sso", NOW, &s, None), &s, None, b"", NOW),
            Some(HawkError::BadMac)
        );
        assert_eq!(
            fail(&header("a-long-enough-secret", "nobody", NOW, &s, None), &s, None, b"", NOW),
            Some(HawkError::UnknownId)
        );
        assert_eq!(fail(&good, &s, None, b"", NOW + 61), Some(HawkError::Stale));
        assert_eq!(fail(&good, &s, None, b"", NOW - 61), Some(HawkError::Stale));
        assert!(fail(&good, &s, None, b"", NOW + 60).is_none(), "within the skew");
        let query = Signed { resource: "/api/v1/people?limit=6", ..s.clone() };
        assert_eq!(fail(&good, &query, None, b"", NOW), Some(HawkError::BadMac), "a changed query");
        let method = Signed { method: "DELETE", ..s.clone() };
        assert_eq!(fail(&good, &method, None, b"", NOW), Some(HawkError::BadMac));
        let port = Signed { port: 80, ..s.clone() };
        assert_eq!(fail(&good, &port, None, b"", NOW), Some(HawkError::BadMac), "signed for https, came over http");
        assert_eq!(fail(&good, &s, None, b"{}", NOW), Some(HawkError::MissingHash), "a body needs a hash");
        assert_eq!(fail(&good, &s, Some("application/json"), b"", NOW), Some(HawkError::MissingHash));

        let hash = payload_hash(Some("application/json"), b"{\"a\":1}");
        let with_body = header("a-long-enough-secret", "sso", NOW, &s, Some(&hash));
        assert!(fail(&with_body, &s, Some("application/json; charset=utf-8"), b"{\"a\":1}", NOW).is_none());
        assert_eq!(fail(&with_body, &s, Some("application/json"), b"{\"a\":2}", NOW), Some(HawkError::BadHash));
        assert_eq!(fail(&with_body, &s, Some("text/plain"), b"{\"a\":1}", NOW), Some(HawkError::BadHash));
        // A GET signed with the hash of no content (mohawk's default) passes.
        let empty = payload_hash(None, b"");
        assert!(fail(&header("a-long-enough-secret", "sso", NOW, &s, Some(&empty)), &s, None, b"", NOW).is_none());
    }

    #[test]
    fn headers_are_parsed_as_mohawk_parses_them() {
        let a =
            parse(r#"Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", ext="some-app-ext-data", mac="6R4r="  "#)
                .unwrap();
        assert_eq!(
            (a.id, a.ts, a.nonce, a.ext, a.mac),
            ("dh37fgj492je", "1353832234", "j4h3g2", Some("some-app-ext-data"), "6R4r=")
        );
        assert!(parse(r#"hawk id="a",ts="1",nonce="n",mac="m""#).is_ok(), "scheme in any case, no spaces");
        for bad in [
            r#"Bearer id="a", ts="1", nonce="n", mac="m""#,
            r#"Hawk id="a", ts="1", nonce="n""#,
            r#"Hawk id="a", id="b", ts="1", nonce="n", mac="m""#,
            r#"Hawk id="a", ts="1", nonce="n", mac="m", unknown="x""#,
            r#"Hawk id="a", ts="1", nonce="n", mac="m" junk"#,
            r#"Hawk id="a" ts="1", nonce="n", mac="m""#,
            "Hawk id=\"a\u{e9}\", ts=\"1\", nonce=\"n\", mac=\"m\"",
            r#"Hawk id="a\", ts="1", nonce="n", mac="m""#,
        ] {
            assert_eq!(parse(bad), Err(HawkError::Malformed), "{bad}");
        }
        let long = format!(r#"Hawk id="a", ts="1", nonce="n", mac="m", ext="{}""#, "x".repeat(MAX_HEADER));
        assert_eq!(parse(&long), Err(HawkError::Malformed));
    }

    #[test]
    fn hosts_and_ports_come_from_the_host_header() {
        assert_eq!(host_and_port("identity.example.gov.uk", "https"), Some(("identity.example.gov.uk", 443)));
        assert_eq!(host_and_port("identity.example.gov.uk", "http"), Some(("identity.example.gov.uk", 80)));
        assert_eq!(host_and_port("127.0.0.1:8081", "http"), Some(("127.0.0.1", 8081)));
        assert_eq!(host_and_port("[::1]:8081", "http"), Some(("[::1]", 8081)));
        assert_eq!(host_and_port("host:notaport", "http"), None);
    }

    #[test]
    fn local_nonces_refuse_a_replay_and_stay_bounded() {
        let local = LocalNonces::default();
        assert!(local.first_use("sso", "n1", 100, 0));
        assert!(!local.first_use("sso", "n1", 100, 0), "a replay to this process");
        assert!(local.first_use("other", "n1", 100, 0), "nonces are per key id");
        for i in 0..LOCAL_NONCES_MAX {
            local.first_use("sso", &format!("x{i}"), 100, 0);
        }
        assert!(!local.first_use("sso", "full", 200, 0), "full: refused, not let through");
        assert!(local.first_use("sso", "fresh", 200, 150), "old nonces are forgotten to make room");
        assert!(!local.first_use("sso", "fresh", 200, 150));
        assert!(local.seen("sso", "fresh", 150), "still refused once the shared store is back");
        assert!(!local.seen("sso", "fresh", 201), "until it is too old to be accepted anyway");
    }

    #[test]
    fn configuration_needs_whole_pairs_and_hides_keys() {
        let check = |f: HawkFile| HawkConfig::try_from(f).err();
        assert_eq!(check(file(Some("sso"), None)), Some(HawkConfigError::Half("id", "key")));
        assert_eq!(check(file(None, Some("a-long-enough-secret"))), Some(HawkConfigError::Half("key", "id")));
        assert_eq!(check(file(Some("sso"), Some("short"))), Some(HawkConfigError::ShortKey("key")));
        let previous_alone = HawkFile {
            previous_id: Some("old".into()),
            previous_key: Some("the-previous-secret".into()),
            ..HawkFile::default()
        };
        assert_eq!(check(previous_alone), Some(HawkConfigError::Half("previous_id", "id")));
        assert_eq!(check(HawkFile { skew_seconds: Some(0), ..HawkFile::default() }), Some(HawkConfigError::Skew));
        assert!(!HawkConfig::default().enabled(), "unset: no Hawk");
        let set = HawkConfig::try_from(file(Some("sso"), Some("a-long-enough-secret"))).unwrap();
        assert!(set.enabled());
        assert!(!format!("{set:?}").contains("a-long-enough-secret"));
    }
}
