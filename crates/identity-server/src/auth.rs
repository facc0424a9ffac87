//! Bearer tokens and API keys.
//!
//! A secret looks like `idt_scim_<id>_<secret>`: the id (a UUID in hex) finds the credential, the
//! secret (32 random bytes in hex) proves it. Only SHA-256 of the secret is stored: the secret is
//! random and long, so a slow password hash would add latency to every request and no safety.
//! The digests are compared in constant time, and a missing credential is compared against a
//! dummy so both paths cost the same.
//!
//! Verified credentials are cached for a few seconds: a request costs no database round trip for
//! its token, and a revocation takes effect within [`CACHE_TTL`]. In a binary that answers from
//! memory (sso-profile, [`Authenticator::answering_from_memory`]) a credential's last answer
//! stands, however old, while the database cannot be reached: it goes on admitting its callers
//! through an outage, and a revocation made meanwhile takes effect when the database is back.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use identity_store::{Credential, CredentialKind, Store, StoreError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::outage::Outage;

/// How long a verified (or unknown) credential is remembered.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
const CACHE_MAX: usize = 10_000;

fn prefix(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ScimToken => "idt_scim",
        CredentialKind::ApiKey => "idt_api",
        CredentialKind::ImportToken => "idt_import",
        CredentialKind::AdminToken => "idt_admin",
        CredentialKind::SsoProfileToken => "idt_ssoprofile",
        CredentialKind::PeopleFinderToken => "idt_peoplefinder",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A newly made secret: give `token` to the caller once; store `id` and `hash`.
#[derive(Debug)]
pub struct NewSecret {
    pub token: String,
    pub id: Uuid,
    pub hash: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

pub fn new_secret(kind: CredentialKind) -> Result<NewSecret, SecretError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
    let id = Uuid::new_v4();
    let secret = hex(&bytes);
    Ok(NewSecret { token: format!("{}_{}_{secret}", prefix(kind), id.simple()), id, hash: digest(&secret) })
}

/// Splits a presented token into the credential id and the secret, if it has the right shape.
fn parse(kind: CredentialKind, token: &str) -> Option<(Uuid, &str)> {
    let rest = token.strip_prefix(prefix(kind))?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((Uuid::parse_str(id).ok()?, secret))
}

/// Who is calling: a credential's name (safe to log) and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token was given")]
    Missing,
    #[error("the bearer token is not valid")]
    Invalid,
    /// The credential store cannot be reached: the caller should retry, not re-authenticate.
    #[error("credentials cannot be checked right now")]
    Unavailable,
}

#[derive(Clone)]
struct Cached {
    credential: Option<Arc<Credential>>,
    at: Instant,
}

/// Checks presented secrets of one kind.
#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    kind: CredentialKind,
    cache: Arc<RwLock<HashMap<Uuid, Cached>>>,
    /// Set in a binary that answers from memory.
    outage: Option<Outage>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(store: Store, kind: CredentialKind) -> Self {
        Self { store, kind, cache: Arc::default(), outage: None }
    }

    /// For a binary that answers from memory: while `outage` says the database is failing, a
    /// credential checked before is taken on its last answer, and the database is asked for at
    /// most a moment.
    pub fn answering_from_memory(store: Store, kind: CredentialKind, outage: Outage) -> Self {
        Self { store, kind, cache: Arc::default(), outage: Some(outage) }
    }

    /// Checks an `Authorization` header.
    pub async fn verify(&self, authorization: Option<&HeaderValue>) -> Result<Principal, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?.to_str().map_err(|_| AuthError::Invalid)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::Invalid)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Invalid);
        }
        let (id, secret) = parse(self.kind, token.trim()).ok_or(AuthError::Invalid)?;
        let credential = self.lookup(id).await?;
        let presented = digest(secret);
        let (expected, known) = match &credential {
            Some(c) => (c.secret_hash.as_slice(), true),
            None => (&[0u8; 32][..], false),
        };
        let matches: bool = presented.ct_eq(expected).into();
        match credential {
            Some(c) if matches && known => Ok(Principal { id: c.id, name: c.name.clone(), scopes: c.scopes.clone() }),
            _ => Err(AuthError::Invalid),
        }
    }

    async fn lookup(&self, id: Uuid) -> Result<Option<Arc<Credential>>, AuthError> {
        let now = Instant::now();
        let cached = self.cache.read().unwrap_or_else(|e| e.into_inner()).get(&id).cloned();
        if let Some(hit) = &cached {
            if now.duration_since(hit.at) < CACHE_TTL {
                return Ok(hit.credential.clone());
            }
        }
        let looked_up = match &self.outage {
            Some(outage) => outage.ask(self.store.live_credential(self.kind, id)).await,
            None => Some(self.store.live_credential(self.kind, id).await),
        };
        let found = match looked_up {
            Some(Ok(found)) => found.map(Arc::new),
            Some(Err(StoreError::NotFound)) => None,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "credential lookup failed");
                return Err(AuthError::Unavailable);
            }
            // Only when answering from memory: the database is failing.
            None => return cached.map(|stale| stale.credential).ok_or(AuthError::Unavailable),
        };
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            // Unknown ids from a scanner must not grow memory without bound.
            cache.clear();
        }
        cache.insert(id, Cached { credential: found.clone(), at: now });
        Ok(found)
    }
}

/// What `tokens create` / `keys create` did.
#[derive(Debug)]
pub struct Created {
    pub token: String,
    pub credential: Credential,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("name must be 1 to 64 characters of letters, digits, '.', '_' and '-'")]
    BadName,
    #[error("unknown scope {scope:?} (known: {known})")]
    BadScope { scope: String, known: String },
    #[error("a live credential named {0:?} already exists; revoke it first")]
    Exists(String),
    #[error("no live credential named {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(StoreError),
}

fn check_name(name: &str) -> Result<(), CredentialError> {
    let ok =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    ok.then_some(()).ok_or(CredentialError::BadName)
}

/// Creates a credential and returns its secret, which is shown once and never stored.
pub async fn create(
    store: &Store,
    kind: CredentialKind,
    name: &str,
    scopes: &[String],
    allowed_scopes: &[&str],
) -> Result<Created, CredentialError> {
    check_name(name)?;
    if let Some(bad) = scopes.iter().find(|s| !allowed_scopes.contains(&s.as_str())) {
        return Err(CredentialError::BadScope { scope: bad.clone(), known: allowed_scopes.join(", ") });
    }
    let secret = new_secret(kind)?;
    let credential =
        store.credential_create_with_id(secret.id, kind, name, &secret.hash, scopes).await.map_err(|e| match e {
            StoreError::AlreadyExists(_) => CredentialError::Exists(name.to_owned()),
            other => CredentialError::Store(other),
        })?;
    Ok(Created { token: secret.token, credential })
}

pub async fn revoke(store: &Store, kind: CredentialKind, name: &str) -> Result<(), CredentialError> {
    store.credential_revoke(kind, name).await.map_err(|e| match e {
        StoreError::NotFound => CredentialError::NotFound(name.to_owned()),
        other => CredentialError::Store(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_expected_shape_and_parse_back() {
        let s = new_secret(CredentialKind::ScimToken).unwrap();
        assert!(s.token.starts_with("idt_scim_"));
        let (id, secret) = parse(CredentialKind::ScimToken, &s.token).unwrap();
        assert_eq!(id, s.id);
        assert_eq!(digest(secret), s.hash);
        assert_ne!(new_secret(CredentialKind::ScimToken).unwrap().token, s.token);
    }

    #[test]
    fn tokens_of_another_kind_or_shape_do_not_parse() {
        let s = new_secret(CredentialKind::ApiKey).unwrap();
        assert!(parse(CredentialKind::ScimToken, &s.token).is_none());
        assert!(parse(CredentialKind::ApiKey, &format!("{}x", s.token)).is_none());
        assert!(parse(CredentialKind::ApiKey, "idt_api_").is_none());
        assert!(parse(CredentialKind::ApiKey, "idt_api_zz_zz").is_none());
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("staff-sso.prod_1").is_ok());
        for bad in ["", "has space", "é", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
