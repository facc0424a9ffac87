//! The User schema (RFC 7643 §4.1), its enterprise extension (§4.3) and the common attributes
//! (§3.1), as data: used to resolve attribute names in filters and PATCH paths, to check writes,
//! and served at `/Schemas`.

use identity_core::query::AttrType;
use serde_json::{json, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// identity's combined profile of the user, each value with the source that won it: read-only,
/// and returned only when `attributes` names it.
pub const COMBINED_USER_SCHEMA: &str = "urn:identity:scim:schemas:extension:combined:1.0:User";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute's definition.
#[derive(Debug)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub description: &'static str,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [AttrDef],
}

/// A schema: its URN and attributes.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttrDef],
}

const fn attr(name: &'static str, ty: AttrType, description: &'static str) -> AttrDef {
    AttrDef {
        name,
        ty,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        description,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
    }
}

const fn string(name: &'static str, description: &'static str) -> AttrDef {
    attr(name, AttrType::String, description)
}

const fn multi(name: &'static str, description: &'static str, subs: &'static [AttrDef]) -> AttrDef {
    AttrDef { multi_valued: true, sub_attributes: subs, ..attr(name, AttrType::Complex, description) }
}

const fn with_types(mut a: AttrDef, values: &'static [&'static str]) -> AttrDef {
    a.canonical_values = values;
    a
}

const fn read_only(mut a: AttrDef) -> AttrDef {
    a.mutability = Mutability::ReadOnly;
    a
}

const fn exact(mut a: AttrDef) -> AttrDef {
    a.case_exact = true;
    a
}

const fn reference(name: &'static str, description: &'static str, types: &'static [&'static str]) -> AttrDef {
    AttrDef { reference_types: types, case_exact: true, ..attr(name, AttrType::Reference, description) }
}

const PRIMARY: AttrDef = attr("primary", AttrType::Boolean, "Whether this is the primary value.");
const DISPLAY: AttrDef = string("display", "A human-readable name, primarily used for display purposes.");

const EMAIL_SUBS: &[AttrDef] = &[
    string("value", "Email address for the User."),
    DISPLAY,
    with_types(string("type", "A label indicating the attribute's function."), &["work", "home", "other"]),
    PRIMARY,
];
const PHONE_SUBS: &[AttrDef] = &[
    string("value", "Phone number of the User."),
    DISPLAY,
    with_types(
        string("type", "A label indicating the attribute's function."),
        &["work", "home", "mobile", "fax", "pager", "other"],
    ),
    PRIMARY,
];
const IM_SUBS: &[AttrDef] = &[
    string("value", "Instant messaging address for the User."),
    DISPLAY,
    with_types(
        string("type", "A label indicating the attribute's function."),
        &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
    ),
    PRIMARY,
];
const PHOTO_SUBS: &[AttrDef] = &[
    reference("value", "URL of a photo of the User.", &["external"]),
    DISPLAY,
    with_types(string("type", "A label indicating the attribute's function."), &["photo", "thumbnail"]),
    PRIMARY,
];
const ADDRESS_SUBS: &[AttrDef] = &[
    string("formatted", "The full mailing address, formatted for display."),
    string("streetAddress", "The full street address component."),
    string("locality", "The city or locality component."),
    string("region", "The state or region component."),
    string("postalCode", "The zip code or postal code component."),
    string("country", "The country name component."),
    with_types(string("type", "A label indicating the attribute's function."), &["work", "home", "other"]),
    PRIMARY,
];
const GROUP_SUBS: &[AttrDef] = &[
    read_only(string("value", "The identifier of the User's group.")),
    read_only(reference("$ref", "The URI of the corresponding 'Group' resource.", &["User", "Group"])),
    read_only(DISPLAY),
    read_only(with_types(string("type", "A label indicating the attribute's function."), &["direct", "indirect"])),
];
const VALUE_SUBS: &[AttrDef] = &[
    string("value", "The value of the attribute."),
    DISPLAY,
    string("type", "A label indicating the attribute's function."),
    PRIMARY,
];
const CERT_SUBS: &[AttrDef] = &[
    attr("value", AttrType::Binary, "The value of an X.509 certificate."),
    DISPLAY,
    string("type", "A label indicating the attribute's function."),
    PRIMARY,
];
const NAME_SUBS: &[AttrDef] = &[
    string("formatted", "The full name, including all middle names, titles, and suffixes as appropriate."),
    string("familyName", "The family name of the User."),
    string("givenName", "The given name of the User."),
    string("middleName", "The middle name(s) of the User."),
    string("honorificPrefix", "The honorific prefix(es) of the User."),
    string("honorificSuffix", "The honorific suffix(es) of the User."),
];

pub static USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &[
        AttrDef {
            required: true,
            uniqueness: Uniqueness::Server,
            ..string("userName", "Unique identifier for the User, issued by Staff SSO. Unique case-insensitively.")
        },
        AttrDef {
            sub_attributes: NAME_SUBS,
            ..attr("name", AttrType::Complex, "The components of the user's real name.")
        },
        string("displayName", "The name of the User, suitable for display to end-users."),
        string("nickName", "The casual way to address the user in real life."),
        reference(
            "profileUrl",
            "A fully qualified URL pointing to a page representing the User's online profile.",
            &["external"],
        ),
        string("title", "The user's title, such as \"Vice President\"."),
        string("userType", "Used to identify the relationship between the organization and the user."),
        string("preferredLanguage", "Indicates the User's preferred written or spoken language."),
        string("locale", "Used to indicate the User's default location for purposes of localizing items."),
        string("timezone", "The User's time zone in the 'Olson' time zone database format."),
        attr("active", AttrType::Boolean, "A Boolean value indicating the User's administrative status."),
        multi("emails", "Email addresses for the user.", EMAIL_SUBS),
        multi("phoneNumbers", "Phone numbers for the User.", PHONE_SUBS),
        multi("ims", "Instant messaging addresses for the User.", IM_SUBS),
        multi("photos", "URLs of photos of the User.", PHOTO_SUBS),
        multi("addresses", "A physical mailing address for this User.", ADDRESS_SUBS),
        read_only(multi("groups", "A list of groups to which the user belongs.", GROUP_SUBS)),
        multi("entitlements", "A list of entitlements for the User.", VALUE_SUBS),
        multi("roles", "A list of roles for the User.", VALUE_SUBS),
        multi("x509Certificates", "A list of certificates issued to the User.", CERT_SUBS),
    ],
};

const MANAGER_SUBS: &[AttrDef] = &[
    string("value", "The id of the SCIM resource representing the User's manager."),
    reference("$ref", "The URI of the SCIM resource representing the User's manager.", &["User"]),
    read_only(string("displayName", "The displayName of the User's manager.")),
];

pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        string("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
        string("costCenter", "Identifies the name of a cost center."),
        string("organization", "Identifies the name of an organization."),
        string("division", "Identifies the name of a division."),
        string("department", "Identifies the name of a department."),
        AttrDef { sub_attributes: MANAGER_SUBS, ..attr("manager", AttrType::Complex, "The User's manager.") },
    ],
};

const META_SUBS: &[AttrDef] = &[
    read_only(exact(string("resourceType", "The name of the resource type of the resource."))),
    read_only(attr("created", AttrType::DateTime, "The date and time the resource was added to the service provider.")),
    read_only(attr(
        "lastModified",
        AttrType::DateTime,
        "The most recent date and time that the details of this resource were updated.",
    )),
    read_only(exact(reference("location", "The URI of the resource being returned.", &["uri"]))),
    read_only(exact(string("version", "The version of the resource being returned."))),
];

/// `id`, `externalId` and `meta`, which every resource has (RFC 7643 §3.1).
pub static COMMON: &[AttrDef] = &[
    AttrDef {
        returned: Returned::Always,
        uniqueness: Uniqueness::Server,
        ..read_only(exact(string("id", "A unique identifier for a SCIM resource, issued by the service provider.")))
    },
    exact(string("externalId", "An identifier for the resource as defined by the provisioning client.")),
    read_only(AttrDef { sub_attributes: META_SUBS, ..attr("meta", AttrType::Complex, "Resource metadata.") }),
];

/// An attribute found by name, with its canonical path.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// The schema URN for extension attributes, `None` for core and common ones.
    pub extension: Option<&'static str>,
    pub attr: &'static AttrDef,
    pub sub: Option<&'static AttrDef>,
}

impl Resolved {
    /// The definition the path ends at.
    pub fn leaf(&self) -> &'static AttrDef {
        self.sub.unwrap_or(self.attr)
    }

    /// Canonical path in the stored document: `["name", "givenName"]`,
    /// `[ENTERPRISE_USER_SCHEMA, "manager", "value"]`.
    pub fn path(&self) -> Vec<String> {
        let mut p: Vec<String> = self.extension.map(str::to_owned).into_iter().collect();
        p.push(self.attr.name.to_owned());
        if let Some(sub) = self.sub {
            p.push(sub.name.to_owned());
        }
        p
    }
}

fn find(attrs: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The combined profile's attributes: read-only, returned on request.
const fn combined(mut a: AttrDef) -> AttrDef {
    a.mutability = Mutability::ReadOnly;
    a.returned = Returned::Request;
    a
}

const SOURCE: AttrDef =
    read_only(string("source", "The source whose value won: sso, peoplefinder, import:<service>, registry."));
const SOURCED_SUBS: &[AttrDef] = &[read_only(string("value", "The value.")), SOURCE];
const SOURCED_ENTRY_SUBS: &[AttrDef] = &[
    read_only(string("value", "The address or number.")),
    read_only(string("type", "Its kind: work, home, mobile, contact or other.")),
    read_only(attr("primary", AttrType::Boolean, "Whether it is the primary one.")),
    SOURCE,
];

const fn sourced(name: &'static str, description: &'static str) -> AttrDef {
    combined(AttrDef { sub_attributes: SOURCED_SUBS, ..attr(name, AttrType::Complex, description) })
}

pub static COMBINED_USER: SchemaDef = SchemaDef {
    id: COMBINED_USER_SCHEMA,
    name: "CombinedUser",
    description: "identity's combined profile of the user, derived from every source by precedence",
    attributes: &[
        sourced("firstName", "First name."),
        sourced("middleName", "Middle name."),
        sourced("lastName", "Last name."),
        sourced("preferredName", "The name the person prefers to be called."),
        sourced("displayName", "The name to display."),
        sourced("primaryEmail", "The primary email address."),
        sourced("contactEmail", "The address to contact the person at."),
        combined(multi("emails", "Every email address.", SOURCED_ENTRY_SUBS)),
        combined(multi("phoneNumbers", "Every phone number.", SOURCED_ENTRY_SUBS)),
        sourced("pronouns", "Pronouns."),
        sourced("namePronunciation", "How the name is said."),
        sourced("title", "Job title."),
        sourced("grade", "Grade."),
        sourced("team", "The team's People Finder slug."),
        sourced("manager", "The manager's id."),
    ],
};

/// Finds an attribute of a User by its SCIM name, case-insensitively: `userName`,
/// `name.givenName`, `emails.value`, `meta.lastModified`, a fully qualified
/// `urn:ietf:params:scim:schemas:core:2.0:User:name.givenName`, or an extension attribute
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
pub fn resolve(name: &str) -> Option<Resolved> {
    let (extension, attrs, rest): (Option<&'static str>, &'static [AttrDef], &str) =
        if let Some(rest) = strip_prefix_ci(name, ENTERPRISE_USER_SCHEMA).and_then(|r| r.strip_prefix(':')) {
            (Some(ENTERPRISE_USER_SCHEMA), ENTERPRISE_USER.attributes, rest)
        } else if let Some(rest) = strip_prefix_ci(name, USER_SCHEMA).and_then(|r| r.strip_prefix(':')) {
            (None, USER.attributes, rest)
        } else {
            (None, USER.attributes, name)
        };
    let (top, sub) = match rest.split_once('.') {
        Some((top, sub)) => (top, Some(sub)),
        None => (rest, None),
    };
    let attr = find(attrs, top).or_else(|| if extension.is_none() { find(COMMON, top) } else { None })?;
    let sub = match sub {
        Some(s) => Some(find(attr.sub_attributes, s)?),
        None => None,
    };
    Some(Resolved { extension, attr, sub })
}

/// Finds a sub-attribute of a complex attribute (inside `emails[...]`).
pub fn resolve_sub(parent: &'static AttrDef, name: &str) -> Option<&'static AttrDef> {
    find(parent.sub_attributes, name)
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn type_name(t: AttrType) -> &'static str {
    match t {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

fn attr_json(a: &AttrDef) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": type_name(a.ty),
        "multiValued": a.multi_valued,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match a.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        },
        "uniqueness": match a.uniqueness {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        },
    });
    if !a.canonical_values.is_empty() {
        v["canonicalValues"] = json!(a.canonical_values);
    }
    if !a.reference_types.is_empty() {
        v["referenceTypes"] = json!(a.reference_types);
    }
    if !a.sub_attributes.is_empty() {
        v["subAttributes"] = Value::Array(a.sub_attributes.iter().map(attr_json).collect());
    }
    v
}

/// A schema as `/Schemas/{id}` serves it. `base` is the service's `/scim/v2` URL.
pub fn schema_json(s: &SchemaDef, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": s.attributes.iter().map(attr_json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", s.id)},
    })
}

/// The schemas this service serves.
pub fn schemas() -> [&'static SchemaDef; 3] {
    [&USER, &ENTERPRISE_USER, &COMBINED_USER]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively_to_canonical_paths() {
        assert_eq!(resolve("USERNAME").unwrap().path(), ["userName"]);
        assert_eq!(resolve("name.GIVENNAME").unwrap().path(), ["name", "givenName"]);
        assert_eq!(
            resolve("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName").unwrap().path(),
            ["name", "familyName"]
        );
        assert_eq!(
            resolve("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value").unwrap().path(),
            [ENTERPRISE_USER_SCHEMA, "manager", "value"]
        );
        assert_eq!(
            resolve("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Department").unwrap().path(),
            [ENTERPRISE_USER_SCHEMA, "department"]
        );
        assert_eq!(resolve("meta.lastModified").unwrap().leaf().ty, AttrType::DateTime);
        assert!(resolve("emails.value").unwrap().attr.multi_valued);
        assert!(resolve("id").unwrap().leaf().case_exact);
        for unknown in [
            "nope",
            "name.nope",
            "emails.nope",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName",
            "",
        ] {
            assert!(resolve(unknown).is_none(), "{unknown}");
        }
    }

    #[test]
    fn schema_documents_describe_every_attribute() {
        let doc = schema_json(&USER, "http://h/scim/v2");
        assert_eq!(doc["id"], USER_SCHEMA);
        let names: Vec<&str> =
            doc["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"userName") && names.contains(&"emails"));
        let user_name = &doc["attributes"][0];
        assert_eq!((user_name["required"].as_bool(), user_name["uniqueness"].as_str()), (Some(true), Some("server")));
        let emails = doc["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["subAttributes"][2]["canonicalValues"], json!(["work", "home", "other"]));
        assert_eq!(
            schema_json(&ENTERPRISE_USER, "b")["meta"]["location"],
            format!("b/Schemas/{ENTERPRISE_USER_SCHEMA}")
        );
    }
}
