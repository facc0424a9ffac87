//! PATCH paths (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`, plus the bare
//! extension URN, which names the extension object as a whole.

use identity_core::query::Filter;

use crate::filter::{Parser, Syntax};
use crate::schema::{resolve, resolve_sub, Resolved, SchemaDef, ENTERPRISE_USER};
use crate::ScimError;

/// What a PATCH operation's `path` designates.
#[derive(Debug, Clone)]
pub enum PatchPath {
    /// The extension's object as a whole: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    Extension(&'static SchemaDef),
    /// An attribute, or one sub-attribute of it (`name.givenName`, `emails.value`,
    /// `emails[type eq "work"].value`). `filter`, only ever on a multi-valued attribute,
    /// narrows the target to the elements it matches; its attribute paths are relative to the
    /// element.
    Attr { target: Resolved, filter: Option<Filter> },
}

/// Parses a PATCH path such as `userName`, `name.givenName`, `emails[type eq "work"].value`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, or the extension
/// URN alone. Names are case-insensitive; value filters follow [`crate::filter`]'s grammar and
/// typing. Errors are `invalidPath`, and the length and nesting bounds of filters apply.
pub fn parse_path(text: &str) -> Result<PatchPath, ScimError> {
    const END: &str = "the end of the path";
    let mut parser = Parser::new(text, Syntax::Path)?;
    let name = parser.word()?;
    if name.eq_ignore_ascii_case(ENTERPRISE_USER.id) {
        parser.end(END)?;
        return Ok(PatchPath::Extension(&ENTERPRISE_USER));
    }
    let unknown = |name: &str| ScimError::invalid_path(format!("unknown attribute '{name}'"));
    let mut target = resolve(name).ok_or_else(|| unknown(name))?;
    if !parser.at_bracket() {
        parser.end(END)?;
        return Ok(PatchPath::Attr { target, filter: None });
    }
    if !target.attr.multi_valued || target.sub.is_some() {
        return Err(ScimError::invalid_path(format!(
            "only a multi-valued attribute takes a value filter '[...]', and '{name}' is not one"
        )));
    }
    let filter = parser.element_filter(target.attr)?;
    if let Some(sub) = parser.dotted_suffix() {
        let found = resolve_sub(target.attr, sub).ok_or_else(|| unknown(&format!("{}.{sub}", target.attr.name)))?;
        target.sub = Some(found);
    }
    parser.end("'.' and a sub-attribute, or the end of the path")?;
    Ok(PatchPath::Attr { target, filter: Some(filter) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{parse_filter, MAX_FILTER_LEN};
    use crate::schema::ENTERPRISE_USER_SCHEMA as ENT;
    use crate::ScimType;

    /// A parsed path as its target's canonical path and its filter.
    fn summary(path: &PatchPath) -> (Vec<String>, Option<Filter>) {
        match path {
            PatchPath::Extension(schema) => (vec![format!("extension {}", schema.id)], None),
            PatchPath::Attr { target, filter } => (target.path(), filter.clone()),
        }
    }

    /// The filter `parent[inner]` has inside its `Any`.
    fn element_filter(parent: &str, inner: &str) -> Filter {
        match parse_filter(&format!("{parent}[{inner}]")) {
            Ok(Filter::Any { filter, .. }) => *filter,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paths_resolve_to_targets() {
        let manager = format!("{ENT}:manager");
        let cases: Vec<(String, Vec<&str>, Option<&str>)> = vec![
            ("userName".into(), vec!["userName"], None),
            ("USERNAME".into(), vec!["userName"], None),
            ("name.givenName".into(), vec!["name", "givenName"], None),
            ("Name.GivenName".into(), vec!["name", "givenName"], None),
            ("emails".into(), vec!["emails"], None),
            ("emails.value".into(), vec!["emails", "value"], None),
            ("emails[type eq \"work\"]".into(), vec!["emails"], Some("type eq \"work\"")),
            ("emails[type eq \"work\"].value".into(), vec!["emails", "value"], Some("type eq \"work\"")),
            (
                "Emails[Type EQ \"work\" and primary eq true].DISPLAY".into(),
                vec!["emails", "display"],
                Some("type eq \"work\" and primary eq true"),
            ),
            (
                "addresses[type eq \"work\" or not (streetAddress pr)].locality".into(),
                vec!["addresses", "locality"],
                Some("type eq \"work\" or not (streetAddress pr)"),
            ),
            ("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName".into(), vec!["name", "familyName"], None),
            (format!("{ENT}:department"), vec![ENT, "department"], None),
            (manager.clone(), vec![ENT, "manager"], None),
            (format!("{manager}.value"), vec![ENT, "manager", "value"], None),
            ("groups".into(), vec!["groups"], None),
            ("meta.lastModified".into(), vec!["meta", "lastModified"], None),
        ];
        for (text, path, filter) in cases {
            let parsed = parse_path(&text).unwrap();
            let (got_path, got_filter) = summary(&parsed);
            assert_eq!(got_path, path, "{text}");
            let want = filter.map(|inner| element_filter(path[0], inner));
            assert_eq!(got_filter, want, "{text}");
        }
    }

    #[test]
    fn the_bare_extension_urn_names_the_extension_object() {
        for text in [
            ENT,
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER",
            " urn:ietf:params:scim:schemas:extension:enterprise:2.0:User ",
        ] {
            assert!(matches!(parse_path(text), Ok(PatchPath::Extension(s)) if s.id == ENT), "{text}");
        }
    }

    #[test]
    fn bad_paths_are_invalid_paths() {
        let cases: &[(&str, &str)] = &[
            ("", "expected an attribute name at the end of the path (character 1)"),
            ("nope", "unknown attribute 'nope'"),
            ("name.nope", "unknown attribute 'name.nope'"),
            ("emails.value.extra", "unknown attribute 'emails.value.extra'"),
            ("urn:ietf:params:scim:schemas:core:2.0:User", "unknown attribute"),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName", "unknown attribute"),
            ("emails[type eq \"work\"].nope", "unknown attribute 'emails.nope'"),
            ("emails[nope eq \"work\"]", "unknown attribute 'nope'"),
            ("emails[type eq \"work\"", "expected ']' or 'and'/'or' at the end of the path"),
            ("emails[type eq 1]", "'emails.type' expects a string"),
            (
                "emails[type eq \"work\"] value",
                "expected '.' and a sub-attribute, or the end of the path at character 24, found 'value'",
            ),
            ("emails[type eq \"work\"][value pr]", "found '['"),
            (
                "userName[value eq \"x\"]",
                "only a multi-valued attribute takes a value filter '[...]', and 'userName' is not one",
            ),
            ("name[givenName eq \"x\"]", "'name' is not one"),
            ("emails.value[type eq \"x\"]", "'emails.value' is not one"),
            ("emails[value[type eq \"x\"]]", "value filters cannot nest"),
            ("userName extra", "expected the end of the path at character 10, found 'extra'"),
            ("(userName)", "expected an attribute name at character 1, found '('"),
            ("\"userName\"", "expected an attribute name"),
            (&ENT[..20], "unknown attribute"),
        ];
        for (text, detail) in cases {
            let err = parse_path(text).unwrap_err();
            assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{text}");
            assert!(err.detail.contains(detail), "{text}: {}", err.detail);
        }
    }

    #[test]
    fn paths_share_the_filter_bounds() {
        let long = format!("emails[value eq \"{}\"]", "x".repeat(MAX_FILTER_LEN));
        assert_eq!(parse_path(&long).unwrap_err(), ScimError::invalid_path("path is longer than 2048 characters"));
        let deep = format!("emails[{}type pr{}]", "(".repeat(10), ")".repeat(10));
        let err = parse_path(&deep).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
        assert!(err.detail.contains("deeper than 10"), "{}", err.detail);
    }
}
