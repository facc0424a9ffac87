//! Every active SSO user's sign-in profile, in memory, keyed by SSO's id compared as SCIM
//! compares `userName`s (case-insensitively), each packed in one allocation (`views::Packed`), so
//! a request reads memory and touches nothing else.

use std::collections::HashMap;
use std::sync::RwLock;

use identity_core::link::link_key;
use identity_core::{Source, UserId};
use identity_store::SignInProfile;

use crate::views::Packed;

#[derive(Default)]
pub struct SignIns {
    maps: RwLock<Maps>,
}

#[derive(Default)]
struct Maps {
    /// Each entry with the user it is of.
    by_sso_id: HashMap<Box<str>, (UserId, Packed)>,
    /// Each user's key in `by_sso_id`: a change names the user, and SCIM can change the id.
    by_user: HashMap<UserId, Box<str>>,
}

impl SignIns {
    /// The sign-in profile's JSON body for SSO's id `sso_id`, if it is an active user's.
    pub fn get(&self, sso_id: &str) -> Option<Vec<u8>> {
        let key = link_key(&Source::Sso, sso_id);
        self.maps.read().unwrap_or_else(|e| e.into_inner()).by_sso_id.get(key.as_str()).map(|(_, p)| p.body())
    }

    pub fn len(&self) -> usize {
        self.maps.read().unwrap_or_else(|e| e.into_inner()).by_sso_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything and makes room for `expected` users (before a load): the maps are
    /// sized once, rather than doubled as they fill, which held both sizes at once.
    pub(crate) fn clear(&self, expected: usize) {
        *self.maps.write().unwrap_or_else(|e| e.into_inner()) =
            Maps { by_sso_id: HashMap::with_capacity(expected), by_user: HashMap::with_capacity(expected) };
    }

    /// Adds profiles read while loading.
    pub(crate) fn add(&self, profiles: &[SignInProfile]) {
        let prepared: Vec<_> = profiles.iter().map(|p| (p.user, key_of(p), Packed::of(p))).collect();
        let mut maps = self.maps.write().unwrap_or_else(|e| e.into_inner());
        for (user, key, body) in prepared {
            maps.put(user, key, body);
        }
    }

    /// Replaces what is held for `users` by `now`, their current profiles: a user of `users`
    /// absent from `now` is no longer an active SSO user and is dropped.
    pub(crate) fn replace(&self, users: &[UserId], now: &[SignInProfile]) {
        // Bodies are made before the lock is taken, so readers wait only for the map updates.
        let prepared: Vec<_> = now.iter().map(|p| (p.user, key_of(p), Packed::of(p))).collect();
        let mut maps = self.maps.write().unwrap_or_else(|e| e.into_inner());
        for user in users {
            maps.remove(*user);
        }
        for (user, key, body) in prepared {
            maps.put(user, key, body);
        }
    }
}

fn key_of(p: &SignInProfile) -> Box<str> {
    link_key(&Source::Sso, &p.sso_id).into_boxed_str()
}

impl Maps {
    /// Drops a user's entry, and only theirs: another user may hold the id they had.
    fn remove(&mut self, user: UserId) {
        if let Some(key) = self.by_user.remove(&user) {
            if self.by_sso_id.get(&key).is_some_and(|(owner, _)| *owner == user) {
                self.by_sso_id.remove(&key);
            }
        }
    }

    fn put(&mut self, user: UserId, key: Box<str>, packed: Packed) {
        self.remove(user);
        // The id was another user's until a change of theirs not yet read: theirs is gone.
        if let Some((previous, _)) = self.by_sso_id.insert(key.clone(), (user, packed)) {
            if previous != user {
                self.by_user.remove(&previous);
            }
        }
        self.by_user.insert(user, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(user: UserId, sso_id: &str, first: &str) -> SignInProfile {
        SignInProfile {
            user,
            sso_id: sso_id.to_owned(),
            first_name: Some(first.to_owned()),
            last_name: Some("Lee".to_owned()),
            email: identity_core::Email::parse("ann.lee@example.gov.uk").ok(),
            contact_email: None,
            other_emails: Vec::new(),
        }
    }

    fn first_name(s: &SignIns, id: &str) -> Option<String> {
        let body: serde_json::Value = serde_json::from_slice(&s.get(id)?).ok()?;
        body["first_name"].as_str().map(str::to_owned)
    }

    #[test]
    fn ids_compare_case_insensitively_and_changes_replace_what_is_held() {
        let (ann, bob) = (UserId::random(), UserId::random());
        let s = SignIns::default();
        s.add(&[profile(ann, "Ann.Lee@id.example", "Ann"), profile(bob, "bob@id.example", "Bob")]);
        assert_eq!(first_name(&s, "ann.lee@ID.example").as_deref(), Some("Ann"));
        // A new first name, and SCIM gives Ann a new id: the old one no longer answers.
        s.replace(&[ann], &[profile(ann, "ann@id.example", "Annie")]);
        assert_eq!(first_name(&s, "ann@id.example").as_deref(), Some("Annie"));
        assert_eq!(s.get("ann.lee@id.example"), None);
        // Cat takes Ann's old id before Ann's own change is read; Ann's change later must not
        // drop Cat's entry.
        let cat = UserId::random();
        s.replace(&[cat], &[profile(cat, "ann.lee@id.example", "Cat")]);
        s.replace(&[ann], &[profile(ann, "ann@id.example", "Annie")]);
        assert_eq!(first_name(&s, "ann.lee@id.example").as_deref(), Some("Cat"));
        s.replace(&[cat], &[]);
        assert_eq!(s.get("ann.lee@id.example"), None);
        // Bob is deactivated: a change for him that finds no profile drops him.
        s.replace(&[bob], &[]);
        assert_eq!(s.get("bob@id.example"), None);
        assert_eq!(s.len(), 1);
        s.clear(10);
        assert!(s.is_empty());
    }
}
