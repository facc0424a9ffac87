//! The combined profile: what consumers read, derived from the source profiles.
//!
//! Each field is taken from the first source in its precedence list that has a value, and
//! remembers that source, so a reader can always ask "why this value". Within one kind of
//! source (several imports), the most recently updated profile wins, ties broken by name, so
//! the result never depends on the order profiles were loaded in.
//!
//! First, middle and last name are one group: they all come from the first source that gives a
//! first or last name. Mixing a registry's first name with another source's middle name would
//! produce a name that nobody asserted.

use serde::{Deserialize, Serialize};

use crate::profile::{DateOfBirth, Email, Field, ProfileFields, SourceProfile, Trn};
use crate::source::{Source, SourceKind};

/// A value and the source it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombinedProfile {
    pub first_name: Option<Sourced<String>>,
    pub middle_name: Option<Sourced<String>>,
    pub last_name: Option<Sourced<String>>,
    pub preferred_name: Option<Sourced<String>>,
    pub display_name: Option<Sourced<String>>,
    pub email: Option<Sourced<Email>>,
    pub date_of_birth: Option<Sourced<DateOfBirth>>,
    pub trn: Option<Sourced<Trn>>,
}

/// Which kinds of source a field is taken from, best first. A kind not listed never supplies
/// the field.
pub const fn precedence(field: Field) -> &'static [SourceKind] {
    use SourceKind::{Import, Registry, Sso};
    match field {
        // The registry holds legal names checked against documents; SSO's come from HR.
        Field::FirstName | Field::MiddleName | Field::LastName => &[Registry, Sso, Import],
        Field::PreferredName | Field::DisplayName => &[Sso, Import],
        // SSO's address is the one people sign in with; imports bring personal addresses.
        Field::Email => &[Sso, Import],
        Field::DateOfBirth => &[Registry, Import, Sso],
        Field::Trn => &[Registry, Import],
    }
}

impl CombinedProfile {
    pub fn derive(profiles: &[SourceProfile]) -> Self {
        Self::derive_merged(profiles, &[])
    }

    /// The combined profile of a person with its own profiles and those of the people merged
    /// into it (`absorbed`, in rank order: the person merged last first, so that in a chain the
    /// merged person's own values come before those of the people merged into it earlier): a
    /// source kind's value comes from the person's own profiles when they have it, and from the
    /// absorbed ones, in their order, only when they do not, so a merge never puts the merged
    /// person's name or address over the survivor's from the same kind of source.
    pub fn derive_merged(own: &[SourceProfile], absorbed: &[SourceProfile]) -> Self {
        // Newest first within a kind; the kind order comes from `precedence`.
        let mut ordered: Vec<&SourceProfile> = own.iter().collect();
        ordered.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| a.source.cmp(&b.source)));
        ordered.extend(absorbed);

        let pick = |field: Field, has: &dyn Fn(&ProfileFields) -> bool| -> Option<&SourceProfile> {
            precedence(field)
                .iter()
                .find_map(|kind| ordered.iter().copied().find(|p| p.source.kind() == *kind && has(&p.fields)))
        };
        let sourced = |p: Option<&SourceProfile>, get: &dyn Fn(&ProfileFields) -> Option<String>| {
            p.and_then(|p| get(&p.fields).map(|value| Sourced { value, source: p.source.clone() }))
        };

        let names = pick(Field::FirstName, &|f| f.first_name.is_some() || f.last_name.is_some());
        let preferred = pick(Field::PreferredName, &|f| f.preferred_name.is_some());
        let display = pick(Field::DisplayName, &|f| f.display_name.is_some());
        let email = pick(Field::Email, &|f| f.email.is_some());
        let dob = pick(Field::DateOfBirth, &|f| f.date_of_birth.is_some());
        let trn = pick(Field::Trn, &|f| f.trn.is_some());

        Self {
            first_name: sourced(names, &|f| f.first_name.clone()),
            middle_name: sourced(names, &|f| f.middle_name.clone()),
            last_name: sourced(names, &|f| f.last_name.clone()),
            preferred_name: sourced(preferred, &|f| f.preferred_name.clone()),
            display_name: sourced(display, &|f| f.display_name.clone()),
            email: email.and_then(|p| p.fields.email.clone().map(|value| Sourced { value, source: p.source.clone() })),
            date_of_birth: dob
                .and_then(|p| p.fields.date_of_birth.map(|value| Sourced { value, source: p.source.clone() })),
            trn: trn.and_then(|p| p.fields.trn.clone().map(|value| Sourced { value, source: p.source.clone() })),
        }
    }

    /// A field's value as text and the source it came from.
    pub fn get(&self, field: Field) -> Option<(String, &Source)> {
        fn text<T: ToString>(s: &Option<Sourced<T>>) -> Option<(String, &Source)> {
            s.as_ref().map(|s| (s.value.to_string(), &s.source))
        }
        match field {
            Field::FirstName => text(&self.first_name),
            Field::MiddleName => text(&self.middle_name),
            Field::LastName => text(&self.last_name),
            Field::PreferredName => text(&self.preferred_name),
            Field::DisplayName => text(&self.display_name),
            Field::Email => text(&self.email),
            Field::DateOfBirth => text(&self.date_of_birth),
            Field::Trn => text(&self.trn),
        }
    }

    /// The fields whose value or source differs in `other`.
    pub fn changed_fields(&self, other: &Self) -> Vec<Field> {
        Field::ALL.into_iter().filter(|f| self.get(*f) != other.get(*f)).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::source::ServiceName;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn import(service: &str) -> Source {
        Source::Import(ServiceName::new(service).unwrap())
    }

    fn profile(source: Source, secs: i64, fields: ProfileFields) -> SourceProfile {
        SourceProfile { source, fields, updated_at: at(secs) }
    }

    fn names(first: &str, middle: Option<&str>, last: &str) -> ProfileFields {
        ProfileFields {
            first_name: Some(first.into()),
            middle_name: middle.map(Into::into),
            last_name: Some(last.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_survivors_own_profiles_beat_the_merged_persons_of_the_same_kind() {
        let own = [profile(Source::Sso, 1, names("Ann", None, "Lee"))];
        // Newer, and of the same kind: still only a fallback; among the absorbed, the order given.
        let absorbed = [
            profile(Source::Sso, 5, names("Annie", None, "Lee")),
            profile(
                import("hr"),
                5,
                ProfileFields {
                    date_of_birth: Some(DateOfBirth::parse_ddmmyyyy("01021980").unwrap()),
                    ..Default::default()
                },
            ),
        ];
        let combined = CombinedProfile::derive_merged(&own, &absorbed);
        assert_eq!(combined.first_name.unwrap().value, "Ann");
        assert_eq!(
            combined.date_of_birth.unwrap().source,
            import("hr"),
            "what the survivor lacks comes from the merged"
        );
        // Without the survivor's own, the merged person's names count.
        assert_eq!(CombinedProfile::derive_merged(&[], &absorbed).first_name.unwrap().value, "Annie");
    }

    #[test]
    fn no_profiles_give_an_empty_combined_profile() {
        assert_eq!(CombinedProfile::derive(&[]), CombinedProfile::default());
    }

    #[test]
    fn registry_names_beat_sso_and_imports_and_come_as_a_group() {
        let combined = CombinedProfile::derive(&[
            profile(import("npq"), 3, names("Bob", Some("J"), "Smith")),
            profile(Source::Sso, 2, names("Robert", Some("James"), "Smith")),
            profile(Source::Registry, 1, names("Robert", None, "Smyth")),
        ]);
        assert_eq!(combined.first_name, Some(Sourced { value: "Robert".into(), source: Source::Registry }));
        assert_eq!(combined.last_name.unwrap().value, "Smyth");
        // The registry says no middle name: SSO's middle name is not mixed in.
        assert_eq!(combined.middle_name, None);
    }

    #[test]
    fn a_source_without_names_does_not_win_the_names() {
        let registry_without_names = ProfileFields { trn: Some(Trn::parse("1234567").unwrap()), ..Default::default() };
        let combined = CombinedProfile::derive(&[
            profile(Source::Registry, 1, registry_without_names),
            profile(Source::Sso, 2, names("Ann", Some("B"), "Lee")),
        ]);
        assert_eq!(combined.first_name.as_ref().unwrap().source, Source::Sso);
        assert_eq!(combined.middle_name.unwrap().value, "B");
        assert_eq!(combined.trn.unwrap().source, Source::Registry);
    }

    #[test]
    fn sso_email_beats_import_email_and_registry_never_gives_one() {
        let sso = ProfileFields { email: Some(Email::parse("ann.lee@dept.gov.uk").unwrap()), ..Default::default() };
        let imp = ProfileFields { email: Some(Email::parse("ann@home.example").unwrap()), ..Default::default() };
        let combined = CombinedProfile::derive(&[profile(import("npq"), 9, imp.clone()), profile(Source::Sso, 1, sso)]);
        assert_eq!(combined.email.unwrap().value.as_str(), "ann.lee@dept.gov.uk");

        let only_import = CombinedProfile::derive(&[profile(import("npq"), 9, imp)]);
        assert_eq!(only_import.email.unwrap().source, import("npq"));
    }

    #[test]
    fn newest_import_wins_between_imports_then_name_breaks_ties() {
        let dob = |d: &str| ProfileFields {
            date_of_birth: Some(DateOfBirth::parse_ddmmyyyy(d).unwrap()),
            ..Default::default()
        };
        let newest = CombinedProfile::derive(&[
            profile(import("aaa"), 1, dob("01011980")),
            profile(import("zzz"), 2, dob("02011980")),
        ]);
        assert_eq!(newest.date_of_birth.unwrap().source, import("zzz"));
        let tie = CombinedProfile::derive(&[
            profile(import("zzz"), 1, dob("02011980")),
            profile(import("aaa"), 1, dob("01011980")),
        ]);
        assert_eq!(tie.date_of_birth.unwrap().source, import("aaa"));
    }

    #[test]
    fn date_of_birth_prefers_registry_then_import_then_sso() {
        let dob = |d: &str| ProfileFields {
            date_of_birth: Some(DateOfBirth::parse_ddmmyyyy(d).unwrap()),
            ..Default::default()
        };
        let all = [
            profile(Source::Sso, 3, dob("03011980")),
            profile(import("npq"), 2, dob("02011980")),
            profile(Source::Registry, 1, dob("01011980")),
        ];
        assert_eq!(CombinedProfile::derive(&all).date_of_birth.unwrap().source, Source::Registry);
        assert_eq!(CombinedProfile::derive(&all[..2]).date_of_birth.unwrap().source, import("npq"));
        assert_eq!(CombinedProfile::derive(&all[..1]).date_of_birth.unwrap().source, Source::Sso);
    }

    #[test]
    fn preferred_and_display_names_never_come_from_the_registry() {
        let reg =
            ProfileFields { preferred_name: Some("X".into()), display_name: Some("X".into()), ..Default::default() };
        let combined = CombinedProfile::derive(&[profile(Source::Registry, 1, reg)]);
        assert_eq!(combined.preferred_name, None);
        assert_eq!(combined.display_name, None);
    }

    #[test]
    fn order_of_input_does_not_matter() {
        let a = profile(Source::Sso, 1, names("Ann", None, "Lee"));
        let b = profile(
            import("npq"),
            2,
            ProfileFields { preferred_name: Some("Annie".into()), ..names("Anne", None, "Leigh") },
        );
        assert_eq!(CombinedProfile::derive(&[a.clone(), b.clone()]), CombinedProfile::derive(&[b, a]));
    }

    #[test]
    fn get_reports_value_and_source() {
        let combined = CombinedProfile::derive(&[profile(Source::Sso, 1, names("Ann", None, "Lee"))]);
        assert_eq!(combined.get(Field::FirstName), Some(("Ann".to_owned(), &Source::Sso)));
        assert_eq!(combined.get(Field::Trn), None);
    }
}
