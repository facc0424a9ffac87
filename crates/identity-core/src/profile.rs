//! What one source says about a user, with value types that cannot hold malformed data.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::normalize::email_key;
use crate::source::Source;

/// An email address, trimmed, in a plausible format. Compare with [`Email::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email address is empty")]
    Empty,
    #[error("email address is too long")]
    TooLong,
    #[error("email address is not in a valid format")]
    Format,
}

impl Email {
    /// RFC 5321 caps a forward path at 256 octets; anything longer is not deliverable.
    pub const MAX_LEN: usize = 254;

    /// Accepts a local part, one `@`, and a domain of two or more labels of letters, digits and
    /// inner hyphens. Deliberately simpler than RFC 5322: quoted local parts and IP-literal
    /// domains are not used by the people this service holds.
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let value = text.trim();
        if value.is_empty() {
            return Err(EmailError::Empty);
        }
        if value.len() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = value.split_once('@').ok_or(EmailError::Format)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"@,;:<>()[]\\\"".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if local_ok && labels.len() >= 2 && labels.iter().all(label_ok) {
            Ok(Self(value.to_owned()))
        } else {
            Err(EmailError::Format)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What uniqueness and matching compare: the address lower-cased.
    pub fn key(&self) -> String {
        email_key(&self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// A teacher reference number: exactly seven ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Trn(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a TRN is a 7 digit number")]
pub struct TrnError;

impl Trn {
    pub fn parse(text: &str) -> Result<Self, TrnError> {
        if text.len() == 7 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(TrnError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Trn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Trn {
    type Error = TrnError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Trn> for String {
    fn from(value: Trn) -> Self {
        value.0
    }
}

/// A date of birth: a real calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DateOfBirth(NaiveDate);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a real date in ddMMyyyy format")]
pub struct DateError;

impl DateOfBirth {
    pub const fn new(date: NaiveDate) -> Self {
        Self(date)
    }

    /// Parses the import file's `ddMMyyyy` (eight digits, no separators). Excel's "null" date
    /// `00011900` and impossible dates such as `31022000` are refused.
    pub fn parse_ddmmyyyy(text: &str) -> Result<Self, DateError> {
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DateError);
        }
        let number = |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u32>().ok());
        let (Some(day), Some(month), Some(year)) = (number(0..2), number(2..4), number(4..8)) else {
            return Err(DateError);
        };
        let year = i32::try_from(year).map_err(|_| DateError)?;
        NaiveDate::from_ymd_opt(year, month, day).map(Self).ok_or(DateError)
    }

    pub const fn date(&self) -> NaiveDate {
        self.0
    }
}

impl fmt::Display for DateOfBirth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.format("%Y-%m-%d").fmt(f)
    }
}

/// A telephone number as a person writes it: trimmed, at most 40 characters of digits, spaces
/// and `+ ( ) - .`, with at least three digits. Not normalised: numbers are for people to dial,
/// and nothing matches on them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a phone number is up to 40 digits, spaces and + ( ) - . with at least 3 digits")]
pub struct PhoneError;

impl Phone {
    pub fn parse(text: &str) -> Result<Self, PhoneError> {
        let value = text.trim();
        let allowed = value.chars().all(|c| c.is_ascii_digit() || " +()-.".contains(c));
        let digits = value.chars().filter(char::is_ascii_digit).count();
        if allowed && digits >= 3 && value.len() <= 40 {
            Ok(Self(value.to_owned()))
        } else {
            Err(PhoneError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

/// What an address or a number is for (SCIM's `type`, with `contact`: the address a person
/// wants to be written to, which People Finder asks for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Work,
    Home,
    Mobile,
    Contact,
    Other,
}

impl ContactKind {
    /// SCIM's and People Finder's spellings; anything else is `Other`.
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "work" => Self::Work,
            "home" => Self::Home,
            "mobile" => Self::Mobile,
            "contact" => Self::Contact,
            _ => Self::Other,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Work => "work",
            Self::Home => "home",
            Self::Mobile => "mobile",
            Self::Contact => "contact",
            Self::Other => "other",
        }
    }
}

/// One of a person's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailEntry {
    pub address: Email,
    #[serde(rename = "type")]
    pub kind: ContactKind,
    pub primary: bool,
}

/// One of a person's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhoneEntry {
    pub number: Phone,
    #[serde(rename = "type")]
    pub kind: ContactKind,
    pub primary: bool,
}

/// What a person says about how to reach them and about their work: fields no identifier
/// depends on, stored as one document per profile. Empty lists and absent values mean "this
/// source does not say".
/// Unknown fields are ignored when read: a document written by a later version, with a field
/// this one does not know, still reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<EmailEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<Email>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<PhoneEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pronouns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_pronunciation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The person's manager, another person of identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<crate::user::UserId>,
}

impl Details {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The fields a source can assert about a person. Absent means "this source does not say".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileFields {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub preferred_name: Option<String>,
    pub display_name: Option<String>,
    /// The source's primary address: the one identity keeps unique among live people.
    pub email: Option<Email>,
    pub date_of_birth: Option<DateOfBirth>,
    pub trn: Option<Trn>,
    #[serde(default)]
    pub details: Details,
}

/// The names of [`ProfileFields`], as the change log and the API spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    FirstName,
    MiddleName,
    LastName,
    PreferredName,
    DisplayName,
    Email,
    DateOfBirth,
    Trn,
    Emails,
    ContactEmail,
    Phones,
    Pronouns,
    NamePronunciation,
    JobTitle,
    Grade,
    Team,
    Manager,
}

impl Field {
    pub const ALL: [Self; 17] = [
        Self::FirstName,
        Self::MiddleName,
        Self::LastName,
        Self::PreferredName,
        Self::DisplayName,
        Self::Email,
        Self::DateOfBirth,
        Self::Trn,
        Self::Emails,
        Self::ContactEmail,
        Self::Phones,
        Self::Pronouns,
        Self::NamePronunciation,
        Self::JobTitle,
        Self::Grade,
        Self::Team,
        Self::Manager,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FirstName => "first_name",
            Self::MiddleName => "middle_name",
            Self::LastName => "last_name",
            Self::PreferredName => "preferred_name",
            Self::DisplayName => "display_name",
            Self::Email => "email",
            Self::DateOfBirth => "date_of_birth",
            Self::Trn => "trn",
            Self::Emails => "emails",
            Self::ContactEmail => "contact_email",
            Self::Phones => "phones",
            Self::Pronouns => "pronouns",
            Self::NamePronunciation => "name_pronunciation",
            Self::JobTitle => "job_title",
            Self::Grade => "grade",
            Self::Team => "team",
            Self::Manager => "manager",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ProfileFields {
    /// The fields whose values differ between `self` and `other`, in [`Field::ALL`] order.
    pub fn changed_fields(&self, other: &Self) -> Vec<Field> {
        Field::ALL.into_iter().filter(|f| self.text(*f) != other.text(*f)).collect()
    }

    /// A field's value as text, for comparison and display (a list as its JSON).
    pub fn text(&self, field: Field) -> Option<String> {
        let d = &self.details;
        match field {
            Field::FirstName => self.first_name.clone(),
            Field::MiddleName => self.middle_name.clone(),
            Field::LastName => self.last_name.clone(),
            Field::PreferredName => self.preferred_name.clone(),
            Field::DisplayName => self.display_name.clone(),
            Field::Email => self.email.as_ref().map(|e| e.as_str().to_owned()),
            Field::DateOfBirth => self.date_of_birth.map(|d| d.to_string()),
            Field::Trn => self.trn.as_ref().map(|t| t.as_str().to_owned()),
            Field::Emails => list_text(&d.emails),
            Field::ContactEmail => d.contact_email.as_ref().map(|e| e.as_str().to_owned()),
            Field::Phones => list_text(&d.phones),
            Field::Pronouns => d.pronouns.clone(),
            Field::NamePronunciation => d.name_pronunciation.clone(),
            Field::JobTitle => d.job_title.clone(),
            Field::Grade => d.grade.clone(),
            Field::Team => d.team.clone(),
            Field::Manager => d.manager.map(|m| m.to_string()),
        }
    }
}

/// A list as text: its JSON, or nothing when it is empty.
pub(crate) fn list_text<T: Serialize>(list: &[T]) -> Option<String> {
    if list.is_empty() {
        None
    } else {
        serde_json::to_string(list).ok()
    }
}

/// One source's profile of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProfile {
    pub source: Source,
    pub fields: ProfileFields,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_checked() {
        assert_eq!(Email::parse("  Ann@Example.org ").unwrap().as_str(), "Ann@Example.org");
        assert_eq!(Email::parse(" Ann@Example.org").unwrap().key(), "ann@example.org");
        let bad = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("ann", EmailError::Format),
            ("ann@", EmailError::Format),
            ("@example.org", EmailError::Format),
            ("ann@localhost", EmailError::Format),
            ("ann@example..org", EmailError::Format),
            ("ann@-example.org", EmailError::Format),
            ("a nn@example.org", EmailError::Format),
            ("ann@exa mple.org", EmailError::Format),
            ("ann@b@example.org", EmailError::Format),
            (".ann@example.org", EmailError::Format),
        ];
        for (text, err) in bad {
            assert_eq!(Email::parse(text), Err(err), "{text:?}");
        }
        assert_eq!(Email::parse(&format!("{}@example.org", "a".repeat(250))), Err(EmailError::TooLong));
        assert!(Email::parse("first.last+tag@sub.example.co.uk").is_ok());
        assert!(Email::parse("zoë@exämple.de").is_ok());
    }

    #[test]
    fn trns_are_seven_ascii_digits() {
        assert!(Trn::parse("1234567").is_ok());
        for bad in ["", "123456", "12345678", "123456a", "１２３４５６７", " 1234567"] {
            assert_eq!(Trn::parse(bad), Err(TrnError), "{bad:?}");
        }
    }

    #[test]
    fn dates_of_birth_are_real_ddmmyyyy_dates() {
        let d = DateOfBirth::parse_ddmmyyyy("03051971").unwrap();
        assert_eq!(d.date(), NaiveDate::from_ymd_opt(1971, 5, 3).unwrap());
        assert_eq!(d.to_string(), "1971-05-03");
        assert!(DateOfBirth::parse_ddmmyyyy("29022000").is_ok());
        for bad in ["00011900", "31022000", "29021900", "32011990", "01131990", "1051971", "0305197a", "03-05-1971", ""]
        {
            assert_eq!(DateOfBirth::parse_ddmmyyyy(bad), Err(DateError), "{bad:?}");
        }
    }

    #[test]
    fn changed_fields_lists_differences_in_order() {
        let a = ProfileFields {
            first_name: Some("Ann".into()),
            trn: Some(Trn::parse("1234567").unwrap()),
            ..Default::default()
        };
        let mut b = a.clone();
        assert!(a.changed_fields(&b).is_empty());
        b.first_name = Some("Anne".into());
        b.email = Some(Email::parse("a@b.co").unwrap());
        b.trn = None;
        assert_eq!(a.changed_fields(&b), vec![Field::FirstName, Field::Email, Field::Trn]);
    }
}
