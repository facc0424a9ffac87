//! People Finder's profile request (the seed system's `ProfileRequest`), checked field by field
//! and answered as its framework answers (django-ninja over pydantic): 422 with
//! `{"detail": [{"type", "loc", "msg"}]}`, every problem at once. What it accepts becomes the
//! `peoplefinder` source profile: the fields identity derives from, and the whole document,
//! every field present (`null` where the request left it out: a PUT replaces everything).

use chrono::{DateTime, SecondsFormat, Utc};
use identity_core::profile::{ContactKind, Details, EmailEntry, Phone, PhoneEntry};
use identity_core::{Email, ProfileFields};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::reference;

/// The longest text a field takes.
const MAX_TEXT: usize = 1000;

/// The longest list of choices a field takes (more than any list has).
const MAX_CHOICES: usize = 100;

/// People Finder's name for the body, in every `loc`.
const BODY: &str = "profile_request";

/// What a field holds.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Email,
    Phone,
    Uuid,
    Time,
    Int,
    Bool,
    /// A key of the named reference list.
    Choice(&'static str),
    /// Keys of the named reference list.
    Choices(&'static str),
}

/// The fields of the request besides `sso_email_id` and (on create) `slug`, in the seed
/// system's order. `photo` and `photo_small` are not among them: it never stored them either.
const FIELDS: &[(&str, Kind)] = &[
    ("first_name", Kind::Text),
    ("last_name", Kind::Text),
    ("preferred_first_name", Kind::Text),
    ("pronouns", Kind::Text),
    ("name_pronunciation", Kind::Text),
    ("email_address", Kind::Email),
    ("contact_email_address", Kind::Email),
    ("primary_phone_number", Kind::Phone),
    ("secondary_phone_number", Kind::Phone),
    ("grade", Kind::Choice("grades")),
    ("became_inactive", Kind::Time),
    ("edited_or_confirmed_at", Kind::Time),
    ("login_count", Kind::Int),
    ("manager_slug", Kind::Uuid),
    ("not_employee", Kind::Bool),
    ("workdays", Kind::Choices("workdays")),
    ("remote_working", Kind::Choice("remote_working")),
    ("usual_office_days", Kind::Text),
    ("uk_office_location_id", Kind::Text),
    ("location_in_building", Kind::Text),
    ("international_building", Kind::Text),
    ("country_id", Kind::Text),
    ("professions", Kind::Choices("professions")),
    ("additional_roles", Kind::Choices("additional_roles")),
    ("other_additional_roles", Kind::Text),
    ("key_skills", Kind::Choices("key_skills")),
    ("other_key_skills", Kind::Text),
    ("learning_interests", Kind::Choices("learning_interests")),
    ("other_learning_interests", Kind::Text),
    ("fluent_languages", Kind::Text),
    ("intermediate_languages", Kind::Text),
    ("previous_experience", Kind::Text),
];

/// What a create fills in when the request says nothing (the seed system's defaults: the United
/// Kingdom's reference id for the country).
fn create_default(name: &str) -> Value {
    match name {
        "login_count" => json!(0),
        "not_employee" => json!(false),
        "country_id" => json!("CTHMTC00260"),
        _ => Value::Null,
    }
}

/// One problem with the request, as pydantic reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    kind: &'static str,
    loc: Vec<Value>,
    msg: String,
    ctx: Option<Value>,
}

impl Problem {
    fn new(kind: &'static str, loc: Vec<Value>, msg: impl Into<String>) -> Self {
        Self { kind, loc, msg: msg.into(), ctx: None }
    }

    /// A problem with a field of the body.
    pub fn field(name: &str, kind: &'static str, msg: impl Into<String>) -> Self {
        Self::in_body(BODY, name, kind, msg)
    }

    /// A problem with a field of the body People Finder's framework names `body`.
    pub fn in_body(body: &str, name: &str, kind: &'static str, msg: impl Into<String>) -> Self {
        Self::new(kind, Self::loc(body, name), msg)
    }

    /// The body is not an object.
    pub fn not_an_object(body: &str) -> Self {
        Self::new(
            "model_attributes_type",
            vec![json!("body"), json!(body)],
            "Input should be a valid dictionary or object to extract fields from",
        )
    }

    /// A choice at `loc` not among those `expected` lists (`reference::expected`).
    pub fn not_one_of(loc: Vec<Value>, expected: String) -> Self {
        Self {
            ctx: Some(json!({ "expected": expected })),
            ..Self::new("enum", loc, format!("Input should be {expected}"))
        }
    }

    /// Where a field of the body People Finder's framework names `body` is.
    pub fn loc(body: &str, name: &str) -> Vec<Value> {
        vec![json!("body"), json!(body), json!(name)]
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({ "type": self.kind, "loc": self.loc, "msg": self.msg });
        if let Some(ctx) = &self.ctx {
            v["ctx"] = ctx.clone();
        }
        v
    }
}

/// An accepted request.
#[derive(Debug)]
pub struct ProfileRequest {
    /// Staff SSO's id of the person (their SCIM `userName`).
    pub sso_email_id: String,
    /// The new profile's slug (a create's; a replace's comes from its path).
    pub slug: Option<Uuid>,
    /// The manager's People Finder slug, for the caller to find.
    pub manager_slug: Option<Uuid>,
    /// Every field of the request, checked and in its stored form.
    pub document: Map<String, Value>,
}

/// Checks `body`; `create` asks for a `slug` and fills the create defaults.
pub fn parse(body: &Value, create: bool) -> Result<ProfileRequest, Vec<Problem>> {
    let Value::Object(given) = body else { return Err(vec![Problem::not_an_object(BODY)]) };
    let mut problems = Vec::new();
    let sso_email_id = required_text(given, "sso_email_id", &mut problems);
    let slug = if create {
        required_text(given, "slug", &mut problems).and_then(|s| uuid(&s, "slug", &mut problems))
    } else {
        None
    };
    let mut document = Map::new();
    for (name, kind) in FIELDS {
        let value = match given.get(*name) {
            None | Some(Value::Null) if create => create_default(name),
            None | Some(Value::Null) => Value::Null,
            Some(v) => check(name, *kind, v, &mut problems).unwrap_or(Value::Null),
        };
        document.insert((*name).to_owned(), value);
    }
    let manager_slug = document.get("manager_slug").and_then(Value::as_str).and_then(|s| s.parse().ok());
    match (sso_email_id, problems.is_empty()) {
        (Some(sso_email_id), true) => Ok(ProfileRequest { sso_email_id, slug, manager_slug, document }),
        _ => Err(problems),
    }
}

fn required_text(given: &Map<String, Value>, name: &str, problems: &mut Vec<Problem>) -> Option<String> {
    match given.get(name) {
        None => {
            problems.push(Problem::field(name, "missing", "Field required"));
            None
        }
        Some(v) => check(name, Kind::Text, v, problems).and_then(|v| v.as_str().map(str::to_owned)),
    }
}

fn uuid(text: &str, name: &str, problems: &mut Vec<Problem>) -> Option<Uuid> {
    let parsed = Uuid::try_parse(text).ok();
    if parsed.is_none() {
        problems.push(Problem::field(name, "uuid_parsing", "Input should be a valid UUID"));
    }
    parsed
}

/// `value` in its stored form, or a problem.
fn check(name: &str, kind: Kind, value: &Value, problems: &mut Vec<Problem>) -> Option<Value> {
    let mut problem = |kind: &'static str, msg: &str| {
        problems.push(Problem::field(name, kind, msg));
        None
    };
    match kind {
        Kind::Int => match value.as_i64() {
            Some(n) => Some(json!(n)),
            None => problem("int_type", "Input should be a valid integer"),
        },
        Kind::Bool => match value.as_bool() {
            Some(b) => Some(json!(b)),
            None => problem("bool_type", "Input should be a valid boolean"),
        },
        Kind::Choices(list) => {
            let Some(items) = value.as_array() else { return problem("list_type", "Input should be a valid list") };
            if items.len() > MAX_CHOICES {
                return problem("too_long", &format!("List should have at most {MAX_CHOICES} items"));
            }
            let mut keys = Vec::with_capacity(items.len());
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                let mut loc = Problem::loc(BODY, name);
                loc.push(json!(i));
                match choice(list, item, loc) {
                    Ok(key) => keys.push(json!(key)),
                    Err(p) => {
                        problems.push(p);
                        ok = false;
                    }
                }
            }
            ok.then_some(Value::Array(keys))
        }
        Kind::Choice(list) => match choice(list, value, Problem::loc(BODY, name)) {
            Ok(key) => Some(json!(key)),
            Err(p) => {
                problems.push(p);
                None
            }
        },
        Kind::Text | Kind::Email | Kind::Phone | Kind::Uuid | Kind::Time => {
            let Some(text) = value.as_str() else { return problem("string_type", "Input should be a valid string") };
            // PostgreSQL cannot store a NUL, and no name or address holds one.
            if text.contains('\0') {
                return problem("value_error", "Value error, text may not contain NUL characters");
            }
            if text.chars().count() > MAX_TEXT {
                problems.push(Problem {
                    ctx: Some(json!({ "max_length": MAX_TEXT })),
                    ..Problem::field(
                        name,
                        "string_too_long",
                        format!("String should have at most {MAX_TEXT} characters"),
                    )
                });
                return None;
            }
            match kind {
                Kind::Email if Email::parse(text).is_err() => {
                    problem("value_error", "Value error, not a valid email address")
                }
                Kind::Phone if Phone::parse(text).is_err() => {
                    problem("value_error", "Value error, not a valid phone number")
                }
                Kind::Uuid => uuid(text, name, problems).map(|u| json!(u.to_string())),
                Kind::Time => match time(text) {
                    Some(t) => Some(json!(t.to_rfc3339_opts(SecondsFormat::Millis, true))),
                    None => problem("datetime_parsing", "Input should be a valid datetime"),
                },
                _ => Some(json!(text)),
            }
        }
    }
}

/// An ISO 8601 date and time; one without an offset is UTC (as pydantic reads it, and as
/// People Finder's own server stores it).
fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
            .map(|t| t.and_utc())
    })
}

/// `value` if it is a key of the reference list `list`; else the problem at `loc`.
fn choice(list: &str, value: &Value, loc: Vec<Value>) -> Result<String, Problem> {
    let list = reference::list(list).ok_or_else(|| Problem::new("enum", loc.clone(), "no such list"))?;
    match value.as_str() {
        Some(key) if list.has(key) => Ok(key.to_owned()),
        _ => Err(Problem::not_one_of(loc, list.expected())),
    }
}

/// The profile fields identity derives from a stored document; `manager` is the manager's
/// person, found by the caller from `manager_slug`.
pub fn profile_fields(document: &Map<String, Value>, manager: Option<identity_core::UserId>) -> ProfileFields {
    let text = |name: &str| document.get(name).and_then(Value::as_str).map(str::to_owned);
    let email = |name: &str| text(name).and_then(|t| Email::parse(&t).ok());
    let phone = |name: &str, primary: bool| {
        text(name).and_then(|t| Phone::parse(&t).ok()).map(|number| PhoneEntry {
            number,
            kind: ContactKind::Work,
            primary,
        })
    };
    ProfileFields {
        first_name: text("first_name"),
        last_name: text("last_name"),
        preferred_name: text("preferred_first_name"),
        details: Details {
            emails: email("email_address")
                .map(|address| EmailEntry { address, kind: ContactKind::Work, primary: true })
                .into_iter()
                .collect(),
            contact_email: email("contact_email_address"),
            phones: phone("primary_phone_number", true)
                .into_iter()
                .chain(phone("secondary_phone_number", false))
                .collect(),
            pronouns: text("pronouns"),
            name_pronunciation: text("name_pronunciation"),
            grade: text("grade"),
            manager,
            ..Details::default()
        },
        ..ProfileFields::default()
    }
}

/// The fields of `ProfileMinimalResponse` (the read's answer) besides `slug` and `sso_email_id`.
const MINIMAL: &[&str] = &[
    "first_name",
    "last_name",
    "preferred_first_name",
    "pronouns",
    "name_pronunciation",
    "email_address",
    "contact_email_address",
    "primary_phone_number",
    "secondary_phone_number",
    "photo",
    "photo_small",
    "grade",
];

/// The answer for a stored profile: `ProfileResponse` (a write's) when `full`, else
/// `ProfileMinimalResponse` (a read's, as the seed system answers it).
pub fn response(slug: &str, sso_email_id: Option<&str>, document: &Value, full: bool) -> Value {
    let mut out = Map::new();
    out.insert("slug".into(), json!(slug));
    out.insert("sso_email_id".into(), json!(sso_email_id));
    let get = |name: &str| document.get(name).cloned().unwrap_or(Value::Null);
    for name in MINIMAL {
        out.insert((*name).into(), get(name));
    }
    if full {
        for (name, _) in FIELDS {
            out.insert((*name).into(), get(name));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_needs_its_slug_and_fills_the_defaults() {
        let problems = parse(&json!({"sso_email_id": "Bad Request"}), true).unwrap_err();
        assert_eq!(
            problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
            [json!({"type": "missing", "loc": ["body", "profile_request", "slug"], "msg": "Field required"})]
        );
        let slug = Uuid::new_v4();
        let ok = parse(&json!({"sso_email_id": "ann", "slug": slug.to_string()}), true).unwrap();
        assert_eq!(
            (ok.slug, ok.document["login_count"].clone(), ok.document["not_employee"].clone()),
            (Some(slug), json!(0), json!(false))
        );
        assert_eq!(ok.document["country_id"], "CTHMTC00260");
        let replace = parse(&json!({"sso_email_id": "ann"}), false).unwrap();
        assert_eq!(replace.document["not_employee"], Value::Null, "a replace leaves out what it is not given");
    }

    #[test]
    fn every_problem_is_reported_where_it_is() {
        let body = json!({
            "sso_email_id": 7,
            "workdays": ["mon", "funday"],
            "grade": "grade_99",
            "login_count": "3",
            "not_employee": "no",
            "email_address": "not an address",
            "became_inactive": "yesterday",
            "manager_slug": "boss",
            "pronouns": "x".repeat(MAX_TEXT + 1),
            "first_name": "Ann\u{0}",
        });
        let problems: Vec<Value> = parse(&body, false).unwrap_err().iter().map(Problem::to_json).collect();
        let at =
            |loc: Value| problems.iter().find(|p| p["loc"] == loc).unwrap_or_else(|| panic!("{loc}: {problems:?}"));
        assert_eq!(at(json!(["body", "profile_request", "sso_email_id"]))["type"], "string_type");
        let funday = at(json!(["body", "profile_request", "workdays", 1]));
        assert_eq!(funday["type"], "enum");
        assert_eq!(funday["msg"], "Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'");
        assert_eq!(at(json!(["body", "profile_request", "grade"]))["type"], "enum");
        assert_eq!(at(json!(["body", "profile_request", "login_count"]))["type"], "int_type");
        assert_eq!(at(json!(["body", "profile_request", "not_employee"]))["type"], "bool_type");
        assert_eq!(at(json!(["body", "profile_request", "email_address"]))["type"], "value_error");
        assert_eq!(at(json!(["body", "profile_request", "became_inactive"]))["type"], "datetime_parsing");
        assert_eq!(at(json!(["body", "profile_request", "manager_slug"]))["type"], "uuid_parsing");
        assert_eq!(at(json!(["body", "profile_request", "pronouns"]))["ctx"], json!({"max_length": MAX_TEXT}));
        assert_eq!(at(json!(["body", "profile_request", "first_name"]))["type"], "value_error");
        assert_eq!(problems.len(), 10, "{problems:?}");
        assert!(parse(&json!([1]), false).is_err());
    }

    #[test]
    fn the_fields_identity_derives_from() {
        let boss = identity_core::UserId::random();
        let r = parse(
            &json!({
                "sso_email_id": "ann", "first_name": "Ann", "preferred_first_name": "Annie", "pronouns": "she/her",
                "email_address": "ann@dept.gov.uk", "contact_email_address": "ann@home.example",
                "primary_phone_number": "020 7946 0000", "secondary_phone_number": "07700 900000", "grade": "grade_7",
                "became_inactive": "2024-05-01T10:00:00+01:00", "edited_or_confirmed_at": "2024-05-02T08:30:00"
            }),
            false,
        )
        .unwrap();
        assert_eq!(r.document["became_inactive"], "2024-05-01T09:00:00.000Z");
        assert_eq!(r.document["edited_or_confirmed_at"], "2024-05-02T08:30:00.000Z", "no offset: UTC");
        let f = profile_fields(&r.document, Some(boss));
        assert_eq!((f.first_name.as_deref(), f.preferred_name.as_deref()), (Some("Ann"), Some("Annie")));
        assert_eq!(f.email, None, "People Finder's address is among the emails, not the sign-in one");
        let d = f.details;
        assert_eq!(d.emails.len(), 1);
        assert!(d.emails[0].primary);
        assert_eq!(d.contact_email.map(String::from).as_deref(), Some("ann@home.example"));
        assert_eq!(
            d.phones.iter().map(|p| (p.number.as_str(), p.primary)).collect::<Vec<_>>(),
            [("020 7946 0000", true), ("07700 900000", false)]
        );
        assert_eq!((d.grade.as_deref(), d.manager), (Some("grade_7"), Some(boss)));
    }
}
