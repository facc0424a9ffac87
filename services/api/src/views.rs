//! What the api answers, as documented types (the OpenAPI document is generated from them).

use chrono::{DateTime, NaiveDate, Utc};
use identity_core::change::Change;
use identity_core::Sourced;
use identity_store::{Person, StoredProfile};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A value of the combined profile and the source it came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourcedValue {
    pub value: String,
    /// `sso`, `peoplefinder`, `registry` or `import:<service>`.
    pub source: String,
}

fn sourced<T: ToString>(s: &Option<Sourced<T>>) -> Option<SourcedValue> {
    s.as_ref().map(|s| SourcedValue { value: s.value.to_string(), source: s.source.to_string() })
}

/// One of a person's addresses.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    pub address: String,
    /// `work`, `home`, `mobile`, `contact` or `other`.
    #[serde(rename = "type")]
    pub kind: String,
    pub primary: bool,
}

/// One of a person's numbers.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneView {
    pub number: String,
    /// `work`, `home`, `mobile`, `contact` or `other`.
    #[serde(rename = "type")]
    pub kind: String,
    pub primary: bool,
}

/// The addresses one source gave, which won the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourcedEmails {
    pub value: Vec<EmailView>,
    pub source: String,
}

/// The numbers one source gave, which won the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourcedPhones {
    pub value: Vec<PhoneView>,
    pub source: String,
}

/// The combined profile: each field present is the best source's value.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct CombinedView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<SourcedValue>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trn: Option<SourcedValue>,
    /// Every address of the source that won the list (the sign-in one is `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails: Option<SourcedEmails>,
    /// The address the person wants to be written to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phones: Option<SourcedPhones>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pronouns: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_pronunciation: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<SourcedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<SourcedValue>,
    /// The manager's id: another person of identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<SourcedValue>,
}

impl CombinedView {
    fn of(c: &identity_core::CombinedProfile) -> Self {
        let d = &c.details;
        Self {
            first_name: sourced(&c.first_name),
            middle_name: sourced(&c.middle_name),
            last_name: sourced(&c.last_name),
            preferred_name: sourced(&c.preferred_name),
            display_name: sourced(&c.display_name),
            email: sourced(&c.email),
            date_of_birth: sourced(&c.date_of_birth),
            trn: sourced(&c.trn),
            emails: d.emails.as_ref().map(|e| SourcedEmails {
                value: e
                    .value
                    .iter()
                    .map(|e| EmailView {
                        address: e.address.to_string(),
                        kind: e.kind.as_str().into(),
                        primary: e.primary,
                    })
                    .collect(),
                source: e.source.to_string(),
            }),
            contact_email: sourced(&d.contact_email),
            phones: d.phones.as_ref().map(|p| SourcedPhones {
                value: p
                    .value
                    .iter()
                    .map(|p| PhoneView {
                        number: p.number.as_str().into(),
                        kind: p.kind.as_str().into(),
                        primary: p.primary,
                    })
                    .collect(),
                source: p.source.to_string(),
            }),
            pronouns: sourced(&d.pronouns),
            name_pronunciation: sourced(&d.name_pronunciation),
            job_title: sourced(&d.job_title),
            grade: sourced(&d.grade),
            team: sourced(&d.team),
            manager: sourced(&d.manager),
        }
    }
}

/// (source, external id) → this person.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    pub source: String,
    pub external_id: String,
}

/// A person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub id: Uuid,
    /// `active`, `inactive` or `archived` (an archived person in a listing carries no profile).
    pub status: String,
    pub profile: CombinedView,
    pub links: Vec<LinkView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PersonView {
    pub fn of(p: &Person) -> Self {
        let archived = p.user.status.is_gone();
        let c = &p.combined;
        let profile = if archived { CombinedView::default() } else { CombinedView::of(c) };
        let links = if archived {
            Vec::new()
        } else {
            p.links
                .iter()
                .map(|l| LinkView { source: l.source.to_string(), external_id: l.external_id.clone() })
                .collect()
        };
        let updated_at = p.profile_updated_at.map_or(p.user.updated_at, |t| t.max(p.user.updated_at));
        Self {
            id: *p.user.id.as_uuid(),
            status: p.user.status.to_string(),
            profile,
            links,
            created_at: p.user.created_at,
            updated_at,
        }
    }
}

/// A page of people.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeoplePage {
    pub people: Vec<PersonView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A source profile's fields as the source gave them.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldsView {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub preferred_name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub trn: Option<String>,
    /// Emails (each with `address`, `type`, `primary`), `contact_email`, `phones` (each with
    /// `number`, `type`, `primary`), `pronouns`, `name_pronunciation`, `job_title`, `grade`,
    /// `team`, `manager`: those the source gives.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// One source's profile, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceProfileView {
    pub source: String,
    pub external_id: Option<String>,
    pub fields: FieldsView,
    /// The source's own document (for `sso`, the SCIM resource as last written).
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SourceProfileView {
    pub fn of(p: StoredProfile) -> Self {
        let f = p.fields;
        Self {
            source: p.source.to_string(),
            external_id: p.external_id,
            fields: FieldsView {
                first_name: f.first_name,
                middle_name: f.middle_name,
                last_name: f.last_name,
                preferred_name: f.preferred_name,
                display_name: f.display_name,
                email: f.email.map(String::from),
                date_of_birth: f.date_of_birth.map(|d| d.date()),
                trn: f.trn.map(String::from),
                details: serde_json::to_value(&f.details).unwrap_or_default(),
            },
            attributes: p.attributes,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfilesView {
    pub id: Uuid,
    pub profiles: Vec<SourceProfileView>,
    /// The profiles of the people merged into this one: they stay with their own person, and
    /// count in this person's combined profile after its own.
    pub merged_profiles: Vec<MergedProfileView>,
}

/// A profile of a person merged into this one.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergedProfileView {
    /// The merged person it belongs to.
    pub person: Uuid,
    #[serde(flatten)]
    pub profile: SourceProfileView,
}

/// Why each field of a person's combined profile has its value (DESIGN.md §7.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainView {
    pub id: Uuid,
    /// The precedence version that decided (`admin precedence show`; 0: the one identity ships).
    pub precedence_version: i64,
    pub fields: Vec<FieldExplanationView>,
}

/// One field: its value and the source that won it, when that source last wrote it, the
/// precedence list that decided it, and what every other source says.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldExplanationView {
    /// `first_name`, `middle_name`, `last_name`, `preferred_name`, `display_name`, `email`,
    /// `date_of_birth` or `trn`.
    pub field: String,
    /// Absent when no source the list allows has a value.
    pub value: Option<String>,
    pub source: Option<String>,
    pub set_at: Option<DateTime<Utc>>,
    /// The merged person whose profile won, when not this person's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<Uuid>,
    /// The sources that may supply the field, best first (`import:*`: every import); first,
    /// middle and last name share one list and come from one source together.
    pub precedence: Vec<String>,
    pub others: Vec<OfferView>,
}

/// Another source's value of a field.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    pub source: String,
    pub value: String,
    pub set_at: DateTime<Utc>,
    /// The merged person whose profile it is, when not this person's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<Uuid>,
}

impl FieldExplanationView {
    pub fn of(e: identity_core::combined::FieldExplanation) -> Self {
        Self {
            field: e.field.as_str().to_owned(),
            value: e.value,
            source: e.source.map(|s| s.to_string()),
            set_at: e.set_at,
            merged_from: e.merged_from.map(|id| *id.as_uuid()),
            precedence: e.precedence,
            others: e
                .others
                .into_iter()
                .map(|o| OfferView {
                    source: o.source.to_string(),
                    value: o.value,
                    set_at: o.set_at,
                    merged_from: o.merged_from.map(|id| *id.as_uuid()),
                })
                .collect(),
        }
    }
}

/// One entry of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    /// Position in the feed; resume after the last one seen.
    pub seq: i64,
    pub user_id: Uuid,
    /// The source whose write it was (`sso`, `registry`, `import:<service>`), or `review` for a
    /// merge and its undo.
    pub source: String,
    /// Who wrote it: the credential's name (`scim:<token name>`), the import job
    /// (`import:<job id>`; `import-cli` for the command line), or the reviewer.
    pub actor: String,
    /// `created`, `profile_updated`, `status_changed`, `archived`, `linked` (a source linked one
    /// of its ids; no field changed), `merged` (the person was merged into `survivor`, and is
    /// archived) or `unmerged` (that merge was undone).
    pub kind: String,
    /// The profile fields the write changed.
    pub fields: Vec<String>,
    /// The user's status after the change.
    pub status: String,
    /// For `merged` and `unmerged`: the person merged into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub survivor: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl ChangeView {
    pub fn of(c: Change) -> Self {
        Self {
            seq: c.seq,
            user_id: *c.user_id.as_uuid(),
            source: c.source.to_string(),
            actor: c.actor,
            kind: c.kind.to_string(),
            fields: c.fields.iter().map(ToString::to_string).collect(),
            status: c.status.to_string(),
            survivor: c.survivor.map(|s| *s.as_uuid()),
            at: c.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesPage {
    pub changes: Vec<ChangeView>,
    /// The `after` for the next call: the last seq returned, or the one given when none was.
    pub next_after: i64,
}

/// The answer for a person merged into another: follow `Location`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergedView {
    pub error: &'static str,
    pub message: String,
    pub merged_into: Uuid,
}
