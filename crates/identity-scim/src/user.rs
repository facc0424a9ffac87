//! The User resource: a request body into the `sso` profile's fields and stored document, and a
//! stored user back into a resource, with `attributes`/`excludedAttributes` projection and ETags.

use chrono::{DateTime, SecondsFormat, Utc};
use identity_core::normalize::non_blank;
use identity_core::profile::{ContactKind, Details, EmailEntry, Phone, PhoneEntry};
use identity_core::{CombinedProfile, Email, ProfileFields, Source, Sourced};
use serde_json::{json, Map, Value};

use crate::patch::document_from;
use crate::schema::{self, COMBINED_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use crate::ScimError;

/// The longest `userName` accepted: it is an external id, not prose.
pub const MAX_USER_NAME: usize = 256;

/// The most values a multi-valued attribute (`emails`, `phoneNumbers`, …) keeps (stated in the
/// README and in the refusal). No person has a hundred addresses, and the bound keeps every PATCH
/// cheap (see `patch::MAX_OPERATIONS`).
pub const MAX_VALUES: usize = 100;

/// What a write of a user carries, ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub active: bool,
    /// What the `sso` source says in identity's own terms.
    pub fields: ProfileFields,
    /// The document as stored. `active` in it only says the attribute is assigned: the user's
    /// status is the truth, and rendering takes the value from there.
    pub document: Value,
}

/// Parses a request body as a JSON object (serde_json bounds nesting at 128 levels).
pub fn parse_body(bytes: &[u8]) -> Result<Map<String, Value>, ScimError> {
    match serde_json::from_slice::<Value>(bytes) {
        // PostgreSQL's text and JSON types cannot hold U+0000, and no attribute needs it: refused
        // here, on both backends alike. Only a body that spells the escape can hold one.
        Ok(Value::Object(map)) if contains(bytes, b"\\u0000") && map.iter().any(|(k, v)| has_nul(k, v)) => {
            Err(ScimError::invalid_value("attribute names and values must not contain NUL characters (\\u0000)"))
        }
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ScimError::invalid_syntax("the body must be a JSON object")),
        Err(e) => Err(ScimError::invalid_syntax(format!("the body is not valid JSON: {e}"))),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn has_nul(key: &str, value: &Value) -> bool {
    key.contains('\0')
        || match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(|v| has_nul("", v)),
            Value::Object(map) => map.iter().any(|(k, v)| has_nul(k, v)),
            Value::Null | Value::Bool(_) | Value::Number(_) => false,
        }
}

/// `schemas` must name the core User schema, and nothing this service does not know.
fn check_schemas(body: &Map<String, Value>) -> Result<(), ScimError> {
    let listed = body.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas")).map(|(_, v)| v).ok_or_else(|| {
        ScimError::invalid_syntax(format!("'schemas' is required and must contain \"{USER_SCHEMA}\""))
    })?;
    let Some(list) = listed.as_array().filter(|l| l.iter().all(Value::is_string)) else {
        return Err(ScimError::invalid_syntax("'schemas' must be an array of strings"));
    };
    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    let known = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, COMBINED_USER_SCHEMA];
    if let Some(unknown) = names.iter().find(|n| !known.iter().any(|k| n.eq_ignore_ascii_case(k))) {
        return Err(ScimError::invalid_value(format!("unknown schema \"{unknown}\"")));
    }
    if !names.iter().any(|n| n.eq_ignore_ascii_case(USER_SCHEMA)) {
        return Err(ScimError::invalid_value(format!("'schemas' must contain \"{USER_SCHEMA}\"")));
    }
    Ok(())
}

/// A POST or PUT body into a user.
pub fn user_from_request(bytes: &[u8]) -> Result<UserInput, ScimError> {
    let body = parse_body(bytes)?;
    check_schemas(&body)?;
    user_from_document(document_from(&body)?)
}

/// Refuses a document with a multi-valued attribute (of the core schema or the enterprise
/// extension) holding more than [`MAX_VALUES`] values.
pub(crate) fn within_bounds(document: &Map<String, Value>) -> Result<(), ScimError> {
    for (name, value) in document {
        let attributes = match value {
            // The enterprise extension's attributes, by name.
            Value::Object(ext) if name.starts_with("urn:") => ext.iter().collect::<Vec<_>>(),
            _ => vec![(name, value)],
        };
        for (name, value) in attributes {
            if let Value::Array(items) = value {
                if items.len() > MAX_VALUES {
                    return Err(crate::patch::too_many_values(&format!("'{name}'"), items.len()));
                }
            }
        }
    }
    Ok(())
}

/// A whole document (after a PATCH, say) into a user: checks `userName` and maps the fields.
pub fn user_from_document(mut document: Value) -> Result<UserInput, ScimError> {
    let Value::Object(map) = &mut document else {
        return Err(ScimError::invalid_value("the user must be a JSON object"));
    };
    // `active` is the user's status; the document only remembers whether it was assigned, so
    // a client that removed it does not get it back. Unassigned means active.
    let active = match map.get("active") {
        None | Some(Value::Null) => {
            map.remove("active");
            true
        }
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ScimError::invalid_value("'active' must be true or false")),
    };
    within_bounds(map)?;
    let user_name = match map.get("userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(ScimError::invalid_value("'userName' is required")),
    };
    if user_name.chars().count() > MAX_USER_NAME {
        return Err(ScimError::invalid_value(format!("'userName' is longer than {MAX_USER_NAME} characters")));
    }
    let fields = profile_fields(&document);
    Ok(UserInput { user_name, active, fields, document })
}

fn text(doc: &Value, path: &[&str]) -> Option<String> {
    let mut v = doc;
    for key in path {
        v = v.get(key)?;
    }
    non_blank(v.as_str())
}

/// A multi-valued attribute's entries (`emails`, `phoneNumbers`): each value with its `type`
/// and whether it is the primary one.
fn entries<'a>(doc: &'a Value, name: &str) -> impl Iterator<Item = (&'a str, ContactKind, bool)> {
    let list = doc.get(name).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    list.iter().filter_map(|e| {
        let value = e.get("value").and_then(Value::as_str)?;
        let kind = e.get("type").and_then(Value::as_str).map_or(ContactKind::Other, ContactKind::parse);
        Some((value, kind, e.get("primary").and_then(Value::as_bool) == Some(true)))
    })
}

/// What SCIM's attributes mean in identity's own profile fields. `nickName` ("the casual way to
/// address the user") is the preferred name. The email is the primary one, else the first; every
/// plausible address is among `emails` with its type, and the first of type `contact` is the
/// contact email. An address or number that is not plausible is kept in the document but not
/// used, so an identity provider's odd data never blocks a user from being provisioned. The
/// enterprise extension's `manager.value` is the manager's SCIM id, which is identity's id.
pub fn profile_fields(doc: &Value) -> ProfileFields {
    let emails: Vec<EmailEntry> = entries(doc, "emails")
        .filter_map(|(v, kind, primary)| Email::parse(v).ok().map(|address| EmailEntry { address, kind, primary }))
        .collect();
    let primary = emails.iter().find(|e| e.primary).or_else(|| emails.first());
    let phones: Vec<PhoneEntry> = entries(doc, "phoneNumbers")
        .filter_map(|(v, kind, primary)| Phone::parse(v).ok().map(|number| PhoneEntry { number, kind, primary }))
        .collect();
    let manager = text(doc, &[ENTERPRISE_USER_SCHEMA, "manager", "value"]).and_then(|id| id.parse().ok());
    let details = Details {
        contact_email: emails.iter().find(|e| e.kind == ContactKind::Contact).map(|e| e.address.clone()),
        phones,
        job_title: text(doc, &["title"]),
        manager,
        ..Details::default()
    };
    ProfileFields {
        first_name: text(doc, &["name", "givenName"]),
        middle_name: text(doc, &["name", "middleName"]),
        last_name: text(doc, &["name", "familyName"]),
        preferred_name: text(doc, &["nickName"]),
        display_name: text(doc, &["displayName"]),
        email: primary.map(|e| e.address.clone()),
        date_of_birth: None,
        trn: None,
        details: Details { emails, ..details },
    }
}

/// The document a PATCH edits: the stored one with `active` (if assigned) from the status.
pub fn editable_document(stored: &Value, active: bool) -> Value {
    let mut doc = stored.clone();
    if let Some(slot) = doc.get_mut("active") {
        *slot = Value::Bool(active);
    }
    doc
}

/// The ETag of a version: weak, since the representation depends on `attributes`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// What an `If-Match` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    Any,
    /// The versions it names (tags that are not ours match nothing).
    Versions(Vec<i64>),
}

impl IfMatch {
    pub fn parse(header: &str) -> Self {
        if header.trim() == "*" {
            return Self::Any;
        }
        Self::Versions(
            header
                .split(',')
                .filter_map(|tag| {
                    let tag = tag.trim();
                    let tag = tag.strip_prefix("W/").unwrap_or(tag);
                    tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
                })
                .collect(),
        )
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A stored user as a resource.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub id: &'a str,
    pub document: &'a Value,
    pub active: bool,
    pub user_name: &'a str,
    pub version: i64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
}

/// A stored user as the resource served, serialised straight from its stored document (no
/// copy of it is made); `location` is its URL. With `combined` (asked for by `attributes`), it
/// carries identity's combined profile in its extension.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub user: Stored<'a>,
    pub location: &'a str,
    pub combined: Option<&'a CombinedProfile>,
}

fn sourced<T>(s: &Option<Sourced<T>>, text: impl Fn(&T) -> String) -> Option<Value> {
    s.as_ref().map(|s| json!({ "value": text(&s.value), "source": s.source.to_string() }))
}

/// Addresses or numbers as the extension shows them, each with the source of the list.
fn entries_json<'a>(source: &Source, entries: impl Iterator<Item = (&'a str, ContactKind, bool)>) -> Value {
    let source = source.to_string();
    entries.map(|(value, kind, primary)| json!({"value": value, "type": kind.as_str(), "primary": primary, "source": source})).collect()
}

/// The combined profile as the extension shows it: each value with the source that won it. The
/// date of birth and TRN are left out: Staff SSO has no use for the registry's identifiers.
pub fn combined_json(c: &CombinedProfile) -> Value {
    let d = &c.details;
    let text = |t: &String| t.clone();
    let mut out = Map::new();
    let mut put = |name: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(name.to_owned(), v);
        }
    };
    put("firstName", sourced(&c.first_name, text));
    put("middleName", sourced(&c.middle_name, text));
    put("lastName", sourced(&c.last_name, text));
    put("preferredName", sourced(&c.preferred_name, text));
    put("displayName", sourced(&c.display_name, text));
    put("primaryEmail", sourced(&c.email, |e| e.as_str().to_owned()));
    put("contactEmail", sourced(&d.contact_email, |e| e.as_str().to_owned()));
    let addresses = |e: &Sourced<Vec<EmailEntry>>| {
        entries_json(&e.source, e.value.iter().map(|a| (a.address.as_str(), a.kind, a.primary)))
    };
    put("emails", d.emails.as_ref().map(addresses));
    let numbers = |p: &Sourced<Vec<PhoneEntry>>| {
        entries_json(&p.source, p.value.iter().map(|n| (n.number.as_str(), n.kind, n.primary)))
    };
    put("phoneNumbers", d.phones.as_ref().map(numbers));
    put("pronouns", sourced(&d.pronouns, text));
    put("namePronunciation", sourced(&d.name_pronunciation, text));
    put("title", sourced(&d.job_title, text));
    put("grade", sourced(&d.grade, text));
    put("team", sourced(&d.team, text));
    put("manager", sourced(&d.manager, ToString::to_string));
    Value::Object(out)
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta<'a> {
    resource_type: &'static str,
    created: String,
    last_modified: String,
    location: &'a str,
    version: String,
}

/// Attributes the stored document may hold that the resource takes from elsewhere.
const COMPUTED: [&str; 5] = ["schemas", "id", "userName", "active", "meta"];

impl serde::Serialize for Resource<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let u = &self.user;
        let doc = u.document.as_object();
        let has = |key: &str| doc.is_some_and(|d| d.contains_key(key));
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in doc.into_iter().flatten() {
            if !COMPUTED.contains(&k.as_str()) {
                map.serialize_entry(k, v)?;
            }
        }
        let mut schemas = vec![USER_SCHEMA];
        if has(ENTERPRISE_USER_SCHEMA) {
            schemas.push(ENTERPRISE_USER_SCHEMA);
        }
        if let Some(c) = self.combined {
            schemas.push(COMBINED_USER_SCHEMA);
            map.serialize_entry(COMBINED_USER_SCHEMA, &combined_json(c))?;
        }
        map.serialize_entry("schemas", &schemas)?;
        map.serialize_entry("id", u.id)?;
        map.serialize_entry("userName", u.user_name)?;
        if has("active") {
            map.serialize_entry("active", &u.active)?;
        }
        let meta = Meta {
            resource_type: "User",
            created: time(u.created),
            last_modified: time(u.last_modified),
            location: self.location,
            version: etag(u.version),
        };
        map.serialize_entry("meta", &meta)?;
        map.end()
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5). `schemas` and `id` are always
/// returned. Names that are not attributes of a User are ignored.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    only: Vec<schema::Resolved>,
    except: Vec<schema::Resolved>,
    /// What `attributes` asked of the combined profile's extension (returned only then).
    combined: Combined,
}

/// What `attributes` asked of the combined profile's extension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Combined {
    #[default]
    No,
    Whole,
    /// Some of its attributes (`urn:…:combined:1.0:User:pronouns`), by name.
    Only(Vec<String>),
}

impl Combined {
    fn of(attributes: Option<&str>) -> Self {
        let mut asked = Self::No;
        for name in attributes.into_iter().flat_map(|l| l.split(',')).map(str::trim) {
            let Some(rest) =
                name.get(..COMBINED_USER_SCHEMA.len()).filter(|h| h.eq_ignore_ascii_case(COMBINED_USER_SCHEMA))
            else {
                continue;
            };
            match (name[rest.len()..].strip_prefix(':'), &mut asked) {
                (None, _) if name.len() == rest.len() => asked = Self::Whole,
                (Some(attr), Self::No) => asked = Self::Only(vec![attr.to_owned()]),
                (Some(attr), Self::Only(attrs)) => attrs.push(attr.to_owned()),
                _ => {}
            }
        }
        asked
    }

    /// The extension's object as asked for.
    fn kept(&self, ext: &Value) -> Value {
        match (self, ext) {
            (Self::Only(attrs), Value::Object(o)) => Value::Object(
                o.iter()
                    .filter(|(k, _)| attrs.iter().any(|a| a.eq_ignore_ascii_case(k)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            _ => ext.clone(),
        }
    }
}

fn names(list: Option<&str>) -> Vec<schema::Resolved> {
    list.into_iter().flat_map(|l| l.split(',')).filter_map(|n| schema::resolve(n.trim())).collect()
}

impl Projection {
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        Self { only: names(attributes), except: names(excluded), combined: Combined::of(attributes) }
    }

    /// Whether it returns resources as they are.
    pub fn is_empty(&self) -> bool {
        self.only.is_empty() && self.except.is_empty() && !self.wants_combined()
    }

    /// Whether the resources are to carry the combined profile.
    pub fn wants_combined(&self) -> bool {
        self.combined != Combined::No
    }

    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(mut map) = resource else { return resource };
        if !self.only.is_empty() || self.wants_combined() {
            let mut kept = Map::new();
            for key in ["schemas", "id"] {
                if let Some(v) = map.get(key) {
                    kept.insert(key.to_owned(), v.clone());
                }
            }
            if let Some(ext) = map.get(COMBINED_USER_SCHEMA) {
                kept.insert(COMBINED_USER_SCHEMA.to_owned(), self.combined.kept(ext));
            }
            for r in &self.only {
                copy(&map, &mut kept, r);
            }
            map = kept;
        }
        for r in self.except.iter().filter(|r| r.attr.name != "id") {
            drop_attr(&mut map, r);
        }
        Value::Object(map)
    }
}

fn container<'a>(map: &'a Map<String, Value>, r: &schema::Resolved) -> Option<&'a Map<String, Value>> {
    match r.extension {
        Some(urn) => map.get(urn).and_then(Value::as_object),
        None => Some(map),
    }
}

fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, r: &schema::Resolved) {
    let Some(source) = container(from, r) else { return };
    let Some(value) = source.get(r.attr.name) else { return };
    let picked = match r.sub {
        None => value.clone(),
        Some(sub) => match value {
            Value::Array(items) => {
                Value::Array(items.iter().filter_map(|i| i.get(sub.name).map(|v| json!({ sub.name: v }))).collect())
            }
            Value::Object(o) => match o.get(sub.name) {
                Some(v) => json!({ sub.name: v }),
                None => return,
            },
            _ => return,
        },
    };
    let target = match r.extension {
        Some(urn) => match to.entry(urn.to_owned()).or_insert_with(|| Value::Object(Map::new())) {
            Value::Object(o) => o,
            _ => return,
        },
        None => to,
    };
    match (target.get_mut(r.attr.name), picked) {
        (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
        (_, picked) => {
            target.insert(r.attr.name.to_owned(), picked);
        }
    }
}

fn drop_attr(map: &mut Map<String, Value>, r: &schema::Resolved) {
    let target = match r.extension {
        Some(urn) => match map.get_mut(urn) {
            Some(Value::Object(o)) => o,
            _ => return,
        },
        None => map,
    };
    match r.sub {
        None => {
            target.remove(r.attr.name);
        }
        Some(sub) => match target.get_mut(r.attr.name) {
            Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_object_mut).for_each(|o| {
                o.remove(sub.name);
            }),
            Some(Value::Object(o)) => {
                o.remove(sub.name);
            }
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn every_address_number_title_and_manager_maps_to_details() {
        let manager = identity_core::UserId::random();
        let f = profile_fields(&json!({
            "userName": "ann",
            "title": "Analyst",
            "emails": [
                {"value": "ann@dept.gov.uk", "type": "work"},
                {"value": "ann.lee@dept.gov.uk", "type": "Work", "primary": true},
                {"value": "ann@home.example", "type": "contact"},
                {"value": "not an address", "type": "home"}
            ],
            "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "mobile", "primary": true}, {"value": "n/a"}],
            ENTERPRISE_USER_SCHEMA: {"manager": {"value": manager.to_string()}}
        }));
        assert_eq!(f.email.as_ref().map(Email::as_str), Some("ann.lee@dept.gov.uk"), "the primary one");
        let d = &f.details;
        let listed: Vec<(&str, ContactKind, bool)> =
            d.emails.iter().map(|e| (e.address.as_str(), e.kind, e.primary)).collect();
        assert_eq!(
            listed,
            [
                ("ann@dept.gov.uk", ContactKind::Work, false),
                ("ann.lee@dept.gov.uk", ContactKind::Work, true),
                ("ann@home.example", ContactKind::Contact, false)
            ],
            "an implausible address is left out"
        );
        assert_eq!(d.contact_email.as_ref().map(Email::as_str), Some("ann@home.example"));
        assert_eq!(d.phones.len(), 1);
        assert_eq!((d.phones[0].number.as_str(), d.phones[0].kind), ("+44 20 7946 0000", ContactKind::Mobile));
        assert_eq!((d.job_title.as_deref(), d.manager), (Some("Analyst"), Some(manager)));
        let bare = profile_fields(&json!({"userName": "bob", ENTERPRISE_USER_SCHEMA: {"manager": {"value": "bob"}}}));
        assert!(bare.details.is_empty(), "a manager that is not one of ours is left out");
    }

    #[test]
    fn a_full_user_maps_to_profile_fields_and_a_canonical_document() {
        let input = user_from_request(&body(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "USERNAME": "bjensen@example.com",
            "id": "ignored",
            "meta": {"resourceType": "User"},
            "name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"},
            "nickName": "Babs",
            "displayName": "Babs Jensen",
            "active": "False",
            "emails": [
                {"value": "home@example.org", "type": "home"},
                {"value": "bjensen@example.com", "type": "work", "primary": true}
            ],
            ENTERPRISE_USER_SCHEMA: {"department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
        })))
        .unwrap();
        assert_eq!(input.user_name, "bjensen@example.com");
        assert!(!input.active, "string booleans are tolerated");
        assert_eq!(input.fields.first_name.as_deref(), Some("Barbara"));
        assert_eq!(input.fields.preferred_name.as_deref(), Some("Babs"));
        assert_eq!(input.fields.email.as_ref().map(Email::as_str), Some("bjensen@example.com"));
        assert!(input.document.get("id").is_none() && input.document.get("meta").is_none());
        assert_eq!(input.document["active"], false, "remembered as assigned");
        assert_eq!(input.document["userName"], "bjensen@example.com");
        assert_eq!(input.document[ENTERPRISE_USER_SCHEMA]["department"], "Tour Operations");
    }

    #[test]
    fn bad_bodies_get_precise_errors() {
        use crate::ScimType::*;
        let cases: Vec<(Vec<u8>, crate::ScimType)> = vec![
            (b"{not json".to_vec(), InvalidSyntax),
            (b"[1]".to_vec(), InvalidSyntax),
            (body(json!({"userName": "x"})), InvalidSyntax),
            (body(json!({"schemas": "x", "userName": "x"})), InvalidSyntax),
            (body(json!({"schemas": ["urn:example:Other"], "userName": "x"})), InvalidValue),
            (body(json!({"schemas": [ENTERPRISE_USER_SCHEMA], "userName": "x"})), InvalidValue),
            (body(json!({"schemas": [USER_SCHEMA]})), InvalidValue),
            (body(json!({"schemas": [USER_SCHEMA], "userName": "  "})), InvalidValue),
            (body(json!({"schemas": [USER_SCHEMA], "userName": 7})), InvalidValue),
            (body(json!({"schemas": [USER_SCHEMA], "userName": "x", "active": "maybe"})), InvalidValue),
            (body(json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"value": true}]})), InvalidValue),
            (body(json!({"schemas": [USER_SCHEMA], "userName": "x", "nope": 1})), InvalidValue),
            (body(json!({"schemas": [USER_SCHEMA], "userName": "x".repeat(257)})), InvalidValue),
        ];
        for (bytes, expected) in cases {
            let err = user_from_request(&bytes).unwrap_err();
            assert_eq!(
                (err.status, err.scim_type),
                (400, Some(expected)),
                "{}: {}",
                String::from_utf8_lossy(&bytes),
                err.detail
            );
        }
    }

    #[test]
    fn an_implausible_email_stays_in_the_document_only() {
        let input = user_from_request(&body(
            json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"value": "not an email"}]}),
        ))
        .unwrap();
        assert_eq!(input.fields.email, None);
        assert_eq!(input.document["emails"][0]["value"], "not an email");
    }

    fn render(user: Stored<'_>, location: &str) -> Value {
        serde_json::to_value(Resource { user, location, combined: None }).unwrap()
    }

    #[test]
    fn rendering_adds_id_schemas_status_and_meta() {
        let doc = json!({"userName": "ann", "active": true, ENTERPRISE_USER_SCHEMA: {"department": "X"}});
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let r = render(
            Stored {
                id: "abc",
                document: &doc,
                active: false,
                user_name: "ann",
                version: 3,
                created: t,
                last_modified: t,
            },
            "http://h/scim/v2/Users/abc",
        );
        assert_eq!(r["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
        assert_eq!((r["id"].as_str(), r["active"].as_bool()), (Some("abc"), Some(false)));
        assert_eq!(r["meta"]["version"], "W/\"3\"");
        assert_eq!(r["meta"]["created"], "2023-11-14T22:13:20.000Z");
        assert_eq!(r["meta"]["location"], "http://h/scim/v2/Users/abc");
        let unassigned = json!({"userName": "ann"});
        let r = render(
            Stored {
                id: "abc",
                document: &unassigned,
                active: true,
                user_name: "ann",
                version: 1,
                created: t,
                last_modified: t,
            },
            "l",
        );
        assert!(r.get("active").is_none(), "an unassigned active stays unassigned");
    }

    #[test]
    fn projection_keeps_or_drops_attributes() {
        let resource = json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "ann", "displayName": "Ann",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "a@b.co", "type": "work"}],
            ENTERPRISE_USER_SCHEMA: {"department": "X", "costCenter": "Y"},
            "meta": {"resourceType": "User"}
        });
        let only = Projection::new(Some("userName,name.givenName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,bogus"), None)
            .apply(resource.clone());
        assert_eq!(
            only,
            json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "ann", "name": {"givenName": "Ann"},
                   "emails": [{"value": "a@b.co"}], ENTERPRISE_USER_SCHEMA: {"department": "X"}})
        );
        let except = Projection::new(None, Some("displayName,name.familyName,meta,id,emails.type")).apply(resource);
        assert!(except.get("displayName").is_none() && except.get("meta").is_none());
        assert_eq!(except["id"], "1", "id is always returned");
        assert_eq!(except["name"], json!({"givenName": "Ann"}));
        assert_eq!(except["emails"], json!([{"value": "a@b.co"}]));
    }

    #[test]
    fn the_combined_extension_is_kept_only_when_asked_for() {
        let resource = json!({"schemas": [USER_SCHEMA, COMBINED_USER_SCHEMA], "id": "1", "userName": "ann",
                              COMBINED_USER_SCHEMA: {"pronouns": {"value": "she/her", "source": "peoplefinder"}}});
        let asked = Projection::new(Some(&format!("userName, {}", COMBINED_USER_SCHEMA.to_uppercase())), None);
        assert!(asked.wants_combined() && !asked.is_empty());
        assert_eq!(asked.apply(resource.clone()), resource, "the names compare case-insensitively");
        let alone = Projection::new(Some(COMBINED_USER_SCHEMA), None).apply(resource.clone());
        assert!(alone.get("userName").is_none() && alone.get(COMBINED_USER_SCHEMA).is_some());
        assert!(!Projection::new(Some("userName"), None).wants_combined());
        let one = Projection::new(Some(&format!("{COMBINED_USER_SCHEMA}:Pronouns,{COMBINED_USER_SCHEMA}:grade")), None);
        let kept = one.apply(resource.clone());
        assert_eq!(kept[COMBINED_USER_SCHEMA], resource[COMBINED_USER_SCHEMA], "one of its attributes, by name");
        let other = Projection::new(Some(&format!("{COMBINED_USER_SCHEMA}:grade")), None).apply(resource.clone());
        assert_eq!(other[COMBINED_USER_SCHEMA], json!({}));
        assert!(!Projection::new(None, Some(COMBINED_USER_SCHEMA)).wants_combined());
    }

    #[test]
    fn the_combined_profile_shows_each_value_with_its_source() {
        use identity_core::combined::CombinedDetails;
        let by = |source: &str| source.parse::<Source>().unwrap();
        let c = CombinedProfile {
            first_name: Some(Sourced { value: "Ann".into(), source: by("registry") }),
            email: Some(Sourced { value: Email::parse("ann@example.gov.uk").unwrap(), source: by("sso") }),
            details: CombinedDetails {
                phones: Some(Sourced {
                    value: vec![PhoneEntry {
                        number: Phone::parse("020 7946 0000").unwrap(),
                        kind: ContactKind::Work,
                        primary: true,
                    }],
                    source: by("peoplefinder"),
                }),
                ..CombinedDetails::default()
            },
            ..CombinedProfile::default()
        };
        assert_eq!(
            combined_json(&c),
            json!({
                "firstName": {"value": "Ann", "source": "registry"},
                "primaryEmail": {"value": "ann@example.gov.uk", "source": "sso"},
                "phoneNumbers": [{"value": "020 7946 0000", "type": "work", "primary": true, "source": "peoplefinder"}]
            })
        );
    }

    #[test]
    fn a_document_sent_back_with_the_combined_profile_does_not_keep_it() {
        let sent = json!({"schemas": [USER_SCHEMA, COMBINED_USER_SCHEMA], "userName": "ann",
                          COMBINED_USER_SCHEMA: {"pronouns": {"value": "x", "source": "sso"}}});
        let input = user_from_request(sent.to_string().as_bytes()).unwrap();
        assert!(input.document.get(COMBINED_USER_SCHEMA).is_none(), "{}", input.document);
    }

    #[test]
    fn if_match_headers() {
        assert_eq!(IfMatch::parse("*"), IfMatch::Any);
        assert_eq!(IfMatch::parse("W/\"4\""), IfMatch::Versions(vec![4]));
        assert_eq!(IfMatch::parse("\"4\""), IfMatch::Versions(vec![4]));
        assert_eq!(IfMatch::parse("\"abc\""), IfMatch::Versions(vec![]));
        assert_eq!(IfMatch::parse("W/\"4\", W/\"5\""), IfMatch::Versions(vec![4, 5]));
        assert_eq!(etag(4), "W/\"4\"");
    }
}
