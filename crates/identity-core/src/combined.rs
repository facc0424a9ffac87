//! The combined profile: what consumers read, derived from the source profiles.
//!
//! Each field is taken from the first source its precedence list (`crate::precedence`) allows
//! that has a value, and remembers that source, so a reader can always ask "why this value"
//! ([`explain`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::precedence::{Precedence, SourcePattern};
use crate::profile::{list_text, DateOfBirth, Email, EmailEntry, Field, PhoneEntry, ProfileFields, SourceProfile, Trn};
use crate::source::Source;
use crate::user::UserId;

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
    /// Absent from combined profiles recorded before details existed (a merge's record).
    #[serde(default)]
    pub details: CombinedDetails,
}

/// The combined [`crate::profile::Details`], each with the source that won it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombinedDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Sourced<Vec<EmailEntry>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<Sourced<Email>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phones: Option<Sourced<Vec<PhoneEntry>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pronouns: Option<Sourced<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_pronunciation: Option<Sourced<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<Sourced<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Sourced<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Sourced<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Sourced<UserId>>,
}

impl CombinedDetails {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The profiles in the order derivation considers them: the person's own newest first (ties by
/// source), then the absorbed ones in their rank order.
fn ranked<'a>(own: &'a [SourceProfile], absorbed: impl Iterator<Item = &'a SourceProfile>) -> Vec<&'a SourceProfile> {
    let mut ordered: Vec<&SourceProfile> = own.iter().collect();
    ordered.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| a.source.cmp(&b.source)));
    ordered.extend(absorbed);
    ordered
}

/// Whether `fields` can win `field`: the name group is won by a first or last name.
fn offers(fields: &ProfileFields, field: Field) -> bool {
    match field {
        Field::FirstName | Field::MiddleName | Field::LastName => {
            fields.first_name.is_some() || fields.last_name.is_some()
        }
        other => fields.text(other).is_some(),
    }
}

/// The profile that supplies `field`: the first that the first pattern able to matches.
fn winner<'a>(ranked: &[&'a SourceProfile], list: &[SourcePattern], field: Field) -> Option<&'a SourceProfile> {
    list.iter()
        .find_map(|pattern| ranked.iter().copied().find(|p| pattern.matches(&p.source) && offers(&p.fields, field)))
}

impl CombinedProfile {
    pub fn derive(profiles: &[SourceProfile]) -> Self {
        Self::derive_merged(profiles, &[])
    }

    /// The combined profile of a person with its own profiles and those of the people merged
    /// into it (`absorbed`, in rank order: the person merged last first, so that in a chain the
    /// merged person's own values come before those of the people merged into it earlier): a
    /// source's value comes from the person's own profiles when they have it, and from the
    /// absorbed ones, in their order, only when they do not, so a merge never puts the merged
    /// person's name or address over the survivor's from the same kind of source.
    pub fn derive_merged(own: &[SourceProfile], absorbed: &[SourceProfile]) -> Self {
        Self::derive_with(own, absorbed, Precedence::standard())
    }

    /// [`CombinedProfile::derive_merged`] with `precedence` deciding.
    pub fn derive_with(own: &[SourceProfile], absorbed: &[SourceProfile], precedence: &Precedence) -> Self {
        let ordered = ranked(own, absorbed.iter());
        let pick = |field: Field| winner(&ordered, precedence.list(field), field);
        // The winning profile's value, with its source.
        fn won<T>(p: Option<&SourceProfile>, get: impl Fn(&ProfileFields) -> Option<T>) -> Option<Sourced<T>> {
            p.and_then(|p| get(&p.fields).map(|value| Sourced { value, source: p.source.clone() }))
        }
        fn listed<T: Clone>(v: &[T]) -> Option<Vec<T>> {
            Some(v.to_vec()).filter(|v| !v.is_empty())
        }
        let details = CombinedDetails {
            emails: won(pick(Field::Emails), |f| listed(&f.details.emails)),
            contact_email: won(pick(Field::ContactEmail), |f| f.details.contact_email.clone()),
            phones: won(pick(Field::Phones), |f| listed(&f.details.phones)),
            pronouns: won(pick(Field::Pronouns), |f| f.details.pronouns.clone()),
            name_pronunciation: won(pick(Field::NamePronunciation), |f| f.details.name_pronunciation.clone()),
            job_title: won(pick(Field::JobTitle), |f| f.details.job_title.clone()),
            grade: won(pick(Field::Grade), |f| f.details.grade.clone()),
            team: won(pick(Field::Team), |f| f.details.team.clone()),
            manager: won(pick(Field::Manager), |f| f.details.manager),
        };
        Self {
            first_name: won(pick(Field::FirstName), |f| f.first_name.clone()),
            middle_name: won(pick(Field::MiddleName), |f| f.middle_name.clone()),
            last_name: won(pick(Field::LastName), |f| f.last_name.clone()),
            preferred_name: won(pick(Field::PreferredName), |f| f.preferred_name.clone()),
            display_name: won(pick(Field::DisplayName), |f| f.display_name.clone()),
            email: won(pick(Field::Email), |f| f.email.clone()),
            date_of_birth: won(pick(Field::DateOfBirth), |f| f.date_of_birth),
            trn: won(pick(Field::Trn), |f| f.trn.clone()),
            details,
        }
    }

    /// A field's value as text and the source it came from.
    pub fn get(&self, field: Field) -> Option<(String, &Source)> {
        fn text<T: ToString>(s: &Option<Sourced<T>>) -> Option<(String, &Source)> {
            s.as_ref().map(|s| (s.value.to_string(), &s.source))
        }
        fn list<T: Serialize>(s: &Option<Sourced<Vec<T>>>) -> Option<(String, &Source)> {
            s.as_ref().and_then(|s| list_text(&s.value).map(|t| (t, &s.source)))
        }
        let d = &self.details;
        match field {
            Field::FirstName => text(&self.first_name),
            Field::MiddleName => text(&self.middle_name),
            Field::LastName => text(&self.last_name),
            Field::PreferredName => text(&self.preferred_name),
            Field::DisplayName => text(&self.display_name),
            Field::Email => text(&self.email),
            Field::DateOfBirth => text(&self.date_of_birth),
            Field::Trn => text(&self.trn),
            Field::Emails => list(&d.emails),
            Field::ContactEmail => text(&d.contact_email),
            Field::Phones => list(&d.phones),
            Field::Pronouns => text(&d.pronouns),
            Field::NamePronunciation => text(&d.name_pronunciation),
            Field::JobTitle => text(&d.job_title),
            Field::Grade => text(&d.grade),
            Field::Team => text(&d.team),
            Field::Manager => text(&d.manager),
        }
    }

    /// The fields whose value or source differs in `other`.
    pub fn changed_fields(&self, other: &Self) -> Vec<Field> {
        Field::ALL.into_iter().filter(|f| self.get(*f) != other.get(*f)).collect()
    }
}

/// A source's value of one field, and when that source last wrote its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub source: Source,
    pub value: String,
    pub set_at: DateTime<Utc>,
    /// The merged person whose profile this is, when it is not the person's own.
    pub merged_from: Option<UserId>,
}

/// Why a field has its value: the list that decided it, the winning offer, and every other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldExplanation {
    pub field: Field,
    /// The value and its source, as the combined profile holds them; none when no source the
    /// list allows has one (a name group's winner may lack a middle name).
    pub value: Option<String>,
    pub source: Option<Source>,
    pub set_at: Option<DateTime<Utc>>,
    /// The merged person whose profile won, when it is not the person's own.
    pub merged_from: Option<UserId>,
    pub precedence: Vec<String>,
    /// Every other source's value, in the order derivation considered them (also those the
    /// list never takes).
    pub others: Vec<Offer>,
}

/// Every field's explanation for a person with its own profiles and the absorbed ones (each
/// with the merged person it belongs to, in rank order), decided by `precedence`: the same
/// winners as [`CombinedProfile::derive_with`].
pub fn explain(
    own: &[SourceProfile],
    absorbed: &[(UserId, SourceProfile)],
    precedence: &Precedence,
) -> Vec<FieldExplanation> {
    let ordered = ranked(own, absorbed.iter().map(|(_, p)| p));
    let owner = |p: &SourceProfile| absorbed.iter().find(|(_, a)| std::ptr::eq(a, p)).map(|(id, _)| *id);
    Field::ALL
        .into_iter()
        .map(|field| {
            let list = precedence.list(field);
            let won = winner(&ordered, list, field);
            let others = ordered
                .iter()
                .filter(|p| !won.is_some_and(|w| std::ptr::eq(w, **p)))
                .filter_map(|p| {
                    p.fields.text(field).map(|value| Offer {
                        source: p.source.clone(),
                        value,
                        set_at: p.updated_at,
                        merged_from: owner(p),
                    })
                })
                .collect();
            // The name group's winner may lack this one of its names: then there is no value.
            let value = won.and_then(|p| p.fields.text(field));
            let supplier = won.filter(|_| value.is_some());
            FieldExplanation {
                field,
                value,
                source: supplier.map(|p| p.source.clone()),
                set_at: supplier.map(|p| p.updated_at),
                merged_from: supplier.and_then(&owner),
                precedence: list.iter().map(ToString::to_string).collect(),
                others,
            }
        })
        .collect()
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
    fn details_are_derived_field_by_field_and_an_empty_list_says_nothing() {
        use crate::profile::{ContactKind, Details, Phone, PhoneEntry};
        let work = |a: &str| EmailEntry { address: Email::parse(a).unwrap(), kind: ContactKind::Work, primary: true };
        let sso = ProfileFields {
            details: Details {
                emails: vec![work("ann@dept.gov.uk")],
                pronouns: Some("she/her".into()),
                job_title: Some("Analyst".into()),
                ..Details::default()
            },
            ..Default::default()
        };
        let manager = UserId::random();
        let pf = ProfileFields {
            details: Details {
                emails: vec![work("ann.lee@dept.gov.uk")],
                phones: Vec::new(),
                pronouns: Some("they/them".into()),
                name_pronunciation: Some("an lee".into()),
                job_title: Some("Senior analyst".into()),
                manager: Some(manager),
                ..Details::default()
            },
            ..Default::default()
        };
        let c = CombinedProfile::derive(&[profile(Source::Sso, 1, sso), profile(Source::PeopleFinder, 2, pf)]);
        let d = &c.details;
        assert_eq!(d.emails.as_ref().map(|e| (&e.value[0].address, &e.source)).unwrap().1, &Source::Sso);
        assert_eq!(d.pronouns, Some(Sourced { value: "they/them".into(), source: Source::PeopleFinder }));
        assert_eq!(d.job_title.as_ref().unwrap().source, Source::Sso, "HR's, through SSO, first");
        assert_eq!(d.manager, Some(Sourced { value: manager, source: Source::PeopleFinder }));
        assert_eq!(d.phones, None, "nobody gave a number");
        assert_eq!(c.get(Field::Emails).unwrap().0, r#"[{"address":"ann@dept.gov.uk","type":"work","primary":true}]"#);

        // People Finder saying nothing of phones (an empty list) leaves SSO's.
        let number =
            PhoneEntry { number: Phone::parse("+44 20 7946 0000").unwrap(), kind: ContactKind::Work, primary: true };
        let sso = ProfileFields {
            details: Details { phones: vec![number.clone()], ..Details::default() },
            ..Default::default()
        };
        let pf = ProfileFields { details: Details { phones: Vec::new(), ..Details::default() }, ..Default::default() };
        let c = CombinedProfile::derive(&[profile(Source::Sso, 1, sso), profile(Source::PeopleFinder, 2, pf)]);
        assert_eq!(c.details.phones, Some(Sourced { value: vec![number], source: Source::Sso }));
    }

    #[test]
    fn a_combined_profile_recorded_before_details_existed_reads_back() {
        let old = r#"{"first_name":{"value":"Ann","source":"sso"},"middle_name":null,"last_name":null,
            "preferred_name":null,"display_name":null,"email":null,"date_of_birth":null,"trn":null}"#;
        let read: CombinedProfile = serde_json::from_str(old).unwrap();
        assert_eq!(read.first_name.map(|n| n.value).as_deref(), Some("Ann"));
        assert!(read.details.is_empty());
    }

    #[test]
    fn phone_numbers_are_checked() {
        use crate::profile::Phone;
        assert_eq!(Phone::parse(" +44 (0)20 7946-0000 ").unwrap().as_str(), "+44 (0)20 7946-0000");
        for bad in ["", "12", "call me", "0207946000x", &"1".repeat(41)] {
            assert!(Phone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn get_reports_value_and_source() {
        let combined = CombinedProfile::derive(&[profile(Source::Sso, 1, names("Ann", None, "Lee"))]);
        assert_eq!(combined.get(Field::FirstName), Some(("Ann".to_owned(), &Source::Sso)));
        assert_eq!(combined.get(Field::Trn), None);
    }

    /// The standard precedence with `entries` in place of its own.
    fn precedence(entries: &[(&str, &[&str])]) -> Precedence {
        let mut owned: Vec<(String, Vec<String>)> =
            entries.iter().map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect())).collect();
        for (decided, list) in Precedence::standard().entries() {
            if !entries.iter().any(|(k, _)| *k == decided.as_str()) {
                owned.push((decided.as_str().to_owned(), list.iter().map(ToString::to_string).collect()));
            }
        }
        Precedence::from_lists(owned.iter().map(|(k, v)| (k.as_str(), v.as_slice()))).unwrap()
    }

    /// Email from hr's import first, then SSO; other imports never; the rest as standard.
    fn hr_first() -> Precedence {
        precedence(&[
            ("names", &["sso", "registry"]),
            ("preferred_name", &["import:*", "sso"]),
            ("display_name", &["sso"]),
            ("email", &["import:hr", "sso"]),
            ("date_of_birth", &["registry", "import:*", "sso"]),
            ("trn", &["registry", "import:*"]),
        ])
    }

    fn email(address: &str) -> ProfileFields {
        ProfileFields { email: Some(Email::parse(address).unwrap()), ..Default::default() }
    }

    #[test]
    fn precedence_as_data_decides_each_field() {
        let profiles = [
            profile(Source::Sso, 1, ProfileFields { preferred_name: Some("Annie".into()), ..email("ann@dept.gov.uk") }),
            profile(import("hr"), 2, email("ann@hr.example")),
            profile(import("npq"), 3, ProfileFields { preferred_name: Some("Nan".into()), ..email("ann@npq.example") }),
            profile(Source::Registry, 1, names("Ann", Some("Beth"), "Lee")),
        ];
        let standard = CombinedProfile::derive(&profiles);
        assert_eq!(standard.email.as_ref().unwrap().source, Source::Sso);
        assert_eq!(standard.first_name.as_ref().unwrap().source, Source::Registry);

        let custom = CombinedProfile::derive_with(&profiles, &[], &hr_first());
        assert_eq!(custom.email.unwrap().value.as_str(), "ann@hr.example", "an exact import first");
        assert_eq!(custom.preferred_name.unwrap().value, "Nan", "import:* before sso");
        // SSO has no names: the registry's, as a group.
        assert_eq!(custom.middle_name.unwrap().value, "Beth");

        // Without hr, email falls to sso: npq matches no pattern of email.
        let without_hr: Vec<SourceProfile> = profiles.iter().filter(|p| p.source != import("hr")).cloned().collect();
        let custom = CombinedProfile::derive_with(&without_hr, &[], &hr_first());
        assert_eq!(custom.email.unwrap().source, Source::Sso);
        let only_npq = [profiles[2].clone()];
        assert_eq!(CombinedProfile::derive_with(&only_npq, &[], &hr_first()).email, None, "npq never supplies email");
    }

    #[test]
    fn explain_names_the_winner_its_list_and_every_other_offer() {
        let merged = UserId::random();
        let own = [
            profile(Source::Sso, 5, ProfileFields { first_name: Some("Ann".into()), ..email("ann@dept.gov.uk") }),
            profile(import("npq"), 7, email("ann@npq.example")),
        ];
        let absorbed = [(merged, profile(import("hr"), 9, email("ann@hr.example")))];
        let fields = explain(&own, &absorbed, Precedence::standard());
        let email = fields.iter().find(|f| f.field == Field::Email).unwrap();
        assert_eq!(email.value.as_deref(), Some("ann@dept.gov.uk"));
        assert_eq!(email.source, Some(Source::Sso));
        assert_eq!(email.set_at, Some(at(5)));
        assert_eq!(email.precedence, ["sso", "import:*"]);
        let others: Vec<(String, Option<UserId>)> =
            email.others.iter().map(|o| (o.source.to_string(), o.merged_from)).collect();
        assert_eq!(others, [("import:npq".to_owned(), None), ("import:hr".to_owned(), Some(merged))]);
        let trn = fields.iter().find(|f| f.field == Field::Trn).unwrap();
        assert_eq!((trn.value.as_ref(), trn.source.as_ref(), trn.others.len()), (None, None, 0), "nobody gave one");

        // With hr's import first, the absorbed profile wins: explain and derive agree on it.
        let fields = explain(&own, &absorbed, &hr_first());
        let email = fields.iter().find(|f| f.field == Field::Email).unwrap();
        assert_eq!(email.source, Some(import("hr")));
        assert_eq!(email.merged_from, Some(merged));
        assert_eq!(email.others.len(), 2, "sso's and npq's (which the list never takes) are the others");
    }

    #[test]
    fn explain_and_derive_agree_on_every_field() {
        let profiles = [
            profile(Source::Sso, 1, names("Ann", None, "Lee")),
            profile(
                import("aaa"),
                2,
                ProfileFields { trn: Some(Trn::parse("1234567").unwrap()), ..email("a@a.example") },
            ),
            profile(
                import("zzz"),
                2,
                ProfileFields { preferred_name: Some("Z".into()), ..names("Anne", Some("Z"), "Leigh") },
            ),
            profile(
                Source::Registry,
                3,
                ProfileFields { date_of_birth: DateOfBirth::parse_ddmmyyyy("01021980").ok(), ..Default::default() },
            ),
        ];
        let absorbed = [(UserId::random(), profile(Source::Sso, 4, email("other@dept.gov.uk")))];
        let absorbed_profiles: Vec<SourceProfile> = absorbed.iter().map(|(_, p)| p.clone()).collect();
        for p in [Precedence::standard().clone(), hr_first()] {
            let combined = CombinedProfile::derive_with(&profiles, &absorbed_profiles, &p);
            for e in explain(&profiles, &absorbed, &p) {
                let derived = combined.get(e.field);
                assert_eq!(e.value.as_deref(), derived.as_ref().map(|(v, _)| v.as_str()), "{}", e.field);
                assert_eq!(e.source.as_ref(), derived.map(|(_, s)| s), "{}", e.field);
            }
        }
    }
}
