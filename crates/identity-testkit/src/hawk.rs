//! A Hawk signer for tests, written from Hawk's specification rather than from the server's
//! code, so a test of the server's checks does not share their mistakes.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::{Digest, Sha256};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What a request is signed over.
#[derive(Debug, Clone)]
pub struct Signing<'a> {
    pub key: &'a str,
    pub id: &'a str,
    pub ts: i64,
    pub nonce: &'a str,
    pub method: &'a str,
    /// Path and query, as sent.
    pub resource: &'a str,
    pub host: &'a str,
    pub port: u16,
    /// The payload hash, if the request carries one ([`payload_hash`]).
    pub hash: Option<String>,
}

impl Signing<'_> {
    /// The `Authorization` header.
    pub fn header(&self) -> String {
        let normalized = format!(
            "hawk.1.header\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n\n",
            self.ts,
            self.nonce,
            self.method,
            self.resource,
            self.host,
            self.port,
            self.hash.as_deref().unwrap_or("")
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.as_bytes()).unwrap_or_else(|_| unreachable!());
        mac.update(normalized.as_bytes());
        let mac = b64(&mac.finalize().into_bytes());
        let hash = self.hash.as_ref().map(|h| format!(", hash=\"{h}\"")).unwrap_or_default();
        format!("Hawk id=\"{}\", ts=\"{}\", nonce=\"{}\"{hash}, mac=\"{mac}\"", self.id, self.ts, self.nonce)
    }
}

/// Hawk's payload hash of a body sent with `content_type` (already without parameters).
pub fn payload_hash(content_type: &str, body: &str) -> String {
    b64(&Sha256::digest(format!("hawk.1.payload\n{content_type}\n{body}\n").as_bytes()))
}

/// The host and port a service's base URL (`http://127.0.0.1:PORT`) is signed for.
pub fn host_and_port(base_url: &str) -> (String, u16) {
    let authority = base_url.trim_start_matches("http://").trim_end_matches('/');
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
    (host.to_owned(), port.parse().unwrap_or(80))
}
