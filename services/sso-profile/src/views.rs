//! The sign-in profile as the seed system's callers read it (its `ProfileMinimal`).

use identity_store::SignInProfile;
use serde::Serialize;

#[derive(Serialize)]
struct SignInView<'a> {
    /// SSO's id for the person (the seed system's `sso_email_id`).
    id: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    primary_email: Option<&'a str>,
    /// The seed system's contact address; identity holds none until People Finder writes one.
    contact_email: Option<&'a str>,
    emails: Vec<&'a str>,
}

/// The JSON body `GET /api/sso/{id}` answers with, made once per change rather than per request.
pub(crate) fn body(p: &SignInProfile) -> Box<[u8]> {
    let email = p.email.as_ref().map(|e| e.as_str());
    let view = SignInView {
        id: &p.sso_id,
        first_name: p.first_name.as_deref(),
        last_name: p.last_name.as_deref(),
        primary_email: email,
        contact_email: None,
        emails: email.into_iter().collect(),
    };
    // Serializing strings and options cannot fail.
    serde_json::to_vec(&view).unwrap_or_default().into_boxed_slice()
}
