//! The sign-in profile as the seed system's callers read it (its `ProfileMinimal`), and the
//! packed form each is held in: a million of them must fit in a few hundred MiB.

use identity_store::SignInProfile;
use serde::Serialize;

#[derive(Serialize)]
struct SignInView<'a> {
    /// SSO's id for the person (the seed system's `sso_email_id`).
    id: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    primary_email: Option<&'a str>,
    contact_email: Option<&'a str>,
    /// Every address, the primary first.
    emails: Vec<&'a str>,
}

/// A sign-in profile in one allocation: where each part but the last ends (little-endian
/// `u32`s), which parts are present (a byte), then the parts back to back: SSO's id, first name,
/// last name, primary address, contact address, and the other addresses separated by newlines
/// (which no address holds). The JSON is made per request from it: a body held per user was
/// three times the size (the address twice, the JSON's names), and making one costs about a
/// microsecond.
pub(crate) struct Packed(Box<[u8]>);

const PARTS: usize = 6;
const PRESENT: usize = (PARTS - 1) * 4;
const HEADER: usize = PRESENT + 1;

impl Packed {
    pub(crate) fn of(p: &SignInProfile) -> Self {
        let others = (!p.other_emails.is_empty())
            .then(|| p.other_emails.iter().map(|e| e.as_str()).collect::<Vec<_>>().join("\n"));
        let parts = [
            Some(p.sso_id.as_str()),
            p.first_name.as_deref(),
            p.last_name.as_deref(),
            p.email.as_ref().map(|e| e.as_str()),
            p.contact_email.as_ref().map(|e| e.as_str()),
            others.as_deref(),
        ];
        let len: usize = parts.iter().map(|s| s.map_or(0, str::len)).sum();
        let mut bytes = Vec::with_capacity(HEADER + len);
        bytes.resize(HEADER, 0);
        let mut present = 0u8;
        for (i, part) in parts.iter().enumerate() {
            if let Some(text) = part {
                present |= 1 << i;
                bytes.extend_from_slice(text.as_bytes());
            }
            if i < PARTS - 1 {
                // Bounded by the request body limit, far below 4 GiB.
                let end = u32::try_from(bytes.len() - HEADER).unwrap_or(u32::MAX);
                bytes[i * 4..i * 4 + 4].copy_from_slice(&end.to_le_bytes());
            }
        }
        bytes[PRESENT] = present;
        Self(bytes.into_boxed_slice())
    }

    fn part(&self, i: usize) -> Option<&str> {
        let end_of = |k: usize| -> usize {
            if k == PARTS - 1 {
                return self.0.len() - HEADER;
            }
            let mut le = [0u8; 4];
            le.copy_from_slice(&self.0[k * 4..k * 4 + 4]);
            u32::from_le_bytes(le) as usize
        };
        if self.0[PRESENT] & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { end_of(i - 1) };
        std::str::from_utf8(self.0.get(HEADER + start..HEADER + end_of(i))?).ok()
    }

    /// The JSON body `GET /api/sso/{id}` answers with.
    pub(crate) fn body(&self) -> Vec<u8> {
        let email = self.part(3);
        let others = self.part(5).into_iter().flat_map(|o| o.split('\n'));
        let view = SignInView {
            id: self.part(0).unwrap_or_default(),
            first_name: self.part(1),
            last_name: self.part(2),
            primary_email: email,
            contact_email: self.part(4),
            emails: email.into_iter().chain(others).collect(),
        };
        // Serializing strings and options cannot fail.
        serde_json::to_vec(&view).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_profile_answers_every_field_and_absence() {
        let user = identity_core::UserId::random();
        let full = SignInProfile {
            user,
            sso_id: "Ann.Lee@id.example".into(),
            first_name: Some("Ann".into()),
            last_name: Some("Lée".into()),
            email: identity_core::Email::parse("ann@example.gov.uk").ok(),
            contact_email: identity_core::Email::parse("ann@home.example").ok(),
            other_emails: ["ann.lee@example.gov.uk", "a@b.example"]
                .map(|e| identity_core::Email::parse(e).unwrap())
                .to_vec(),
        };
        let body: serde_json::Value = serde_json::from_slice(&Packed::of(&full).body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"id": "Ann.Lee@id.example", "first_name": "Ann", "last_name": "Lée",
                "primary_email": "ann@example.gov.uk", "contact_email": "ann@home.example",
                "emails": ["ann@example.gov.uk", "ann.lee@example.gov.uk", "a@b.example"]})
        );
        let one = SignInProfile { contact_email: None, other_emails: vec![], ..full.clone() };
        let body: serde_json::Value = serde_json::from_slice(&Packed::of(&one).body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"id": "Ann.Lee@id.example", "first_name": "Ann", "last_name": "Lée",
                "primary_email": "ann@example.gov.uk", "contact_email": null, "emails": ["ann@example.gov.uk"]})
        );
        let bare = SignInProfile { first_name: None, email: None, contact_email: None, other_emails: vec![], ..full };
        let body: serde_json::Value = serde_json::from_slice(&Packed::of(&bare).body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"id": "Ann.Lee@id.example", "first_name": null, "last_name": "Lée",
                "primary_email": null, "contact_email": null, "emails": []})
        );
    }
}
