//! Links: (source, external id) → user. How a source finds its own record of a person again.

use crate::normalize::case_insensitive_key;
use crate::source::Source;
use crate::user::UserId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub source: Source,
    /// The id as the source spells it.
    pub external_id: String,
    pub user_id: UserId,
}

/// The form of an external id that uniqueness is enforced on.
///
/// SSO's ids are SCIM `userName`s, which compare case-insensitively (RFC 7643 §4.1.1); import
/// registry and People Finder ids (slugs, kept in UUID form) are compared exactly, as their
/// owners issue them.
pub fn link_key(source: &Source, external_id: &str) -> String {
    match source {
        Source::Sso => case_insensitive_key(external_id),
        Source::Import(_) | Source::Registry | Source::PeopleFinder => external_id.to_owned(),
    }
}

impl Link {
    pub fn key(&self) -> String {
        link_key(&self.source, &self.external_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ServiceName;

    #[test]
    fn sso_ids_compare_case_insensitively_others_exactly() {
        assert_eq!(link_key(&Source::Sso, "BJensen@Example.com"), "bjensen@example.com");
        let npq = Source::Import(ServiceName::new("npq").unwrap());
        assert_eq!(link_key(&npq, "AbC-1"), "AbC-1");
        assert_eq!(link_key(&Source::Registry, "1234567"), "1234567");
        let link = Link { source: Source::Sso, external_id: "Ann".into(), user_id: UserId::random() };
        assert_eq!(link.key(), "ann");
    }
}
