//! The PATCH engine (RFC 7644 §3.5.2): add, remove and replace operations applied to a user's
//! writable document, with the schema deciding names, types and mutability.
//!
//! Containers (the extension object, a complex attribute, a multi-valued array) are taken out
//! of their parent, changed and put back, and putting back drops them when they end up empty:
//! RFC 7643 §2.5 makes an empty value the same as an unassigned one, so documents stay tidy
//! without a separate clean-up pass.

use identity_core::query::{AttrType, CompareOp, Filter, Value as Typed};
use serde_json::{Map, Number, Value};

use crate::filter::{get_ci, matches};
use crate::path::{parse_path, PatchPath};
use crate::schema::{resolve_sub, AttrDef, Mutability, Resolved, SchemaDef, COMBINED_USER_SCHEMA};
use crate::ScimError;

pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations one PATCH may hold (stated in the README and in the refusal). With the
/// values of a multi-valued attribute bounded too ([`crate::user::MAX_VALUES`]), a PATCH costs
/// at most operations × values steps, however it is written.
pub const MAX_OPERATIONS: usize = 100;

type Object = Map<String, Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Add,
    Replace,
}

/// IdPs that sync passwords (Okta can) send the core `password` attribute. identity never
/// holds a credential for a person, so it is accepted and dropped, never stored or echoed.
fn is_password(name: &str) -> bool {
    name.eq_ignore_ascii_case("password")
        || name.eq_ignore_ascii_case(&format!("{}:password", crate::schema::USER_SCHEMA))
}

/// Applies a PatchOp request body to a user document, in place, all-or-nothing (on error `doc`
/// is unchanged). The caller validates the resulting document as a whole (required attributes,
/// uniqueness); this checks names, types and mutability of what each operation writes.
pub fn apply_patch(doc: &mut Value, body: &Value) -> Result<(), ScimError> {
    let operations = operations(body)?;
    let mut work = doc.clone();
    let Value::Object(root) = &mut work else {
        return Err(ScimError::new(500, None, "the stored resource is not a JSON object"));
    };
    for (index, operation) in operations.iter().enumerate() {
        // The bound holds after every operation, not only at the end: no list grows past it on
        // the way, so each operation's work stays bounded too.
        apply_operation(root, operation)
            .and_then(|()| crate::user::within_bounds(root))
            .map_err(|e| ScimError { detail: format!("operation {}: {}", index + 1, e.detail), ..e })?;
    }
    *doc = work;
    Ok(())
}

/// A user document from the attributes of a POST or PUT body: each attribute is written as a
/// path-less replace would write it onto an empty document (canonical names, checked types, the
/// same tolerated quirks). Read-only attributes (`id`, `meta`, `groups`) are ignored, as RFC 7644
/// §3.3 and §3.5.1 ask; the caller handles `schemas`.
pub fn document_from(attributes: &Map<String, Value>) -> Result<Value, ScimError> {
    let mut root = Object::new();
    for (name, value) in attributes {
        // identity's combined profile is read-only as a whole: a client that sends back what it
        // read has it ignored (RFC 7644 §3.5.1), never stored as Staff SSO's.
        if name.eq_ignore_ascii_case("schemas") || is_password(name) || name.eq_ignore_ascii_case(COMBINED_USER_SCHEMA)
        {
            continue;
        }
        let path = parse_path(name).map_err(|_| ScimError::invalid_value(format!("unknown attribute '{name}'")))?;
        if let PatchPath::Attr { target, .. } = &path {
            if target.attr.mutability == Mutability::ReadOnly
                || target.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
            {
                continue;
            }
        }
        write(&mut root, &path, value.clone(), Mode::Replace)?;
    }
    Ok(Value::Object(root))
}

fn operations(body: &Value) -> Result<&[Value], ScimError> {
    let body = body.as_object().ok_or_else(|| ScimError::invalid_syntax("a PATCH body must be a JSON object"))?;
    let declared = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| schemas.iter().filter_map(Value::as_str).any(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA)));
    if !declared {
        return Err(ScimError::invalid_syntax(format!("'schemas' must contain \"{PATCH_SCHEMA}\"")));
    }
    match get_ci(body, "Operations") {
        Some(Value::Array(ops)) if ops.len() > MAX_OPERATIONS => Err(ScimError::invalid_value(format!(
            "a PATCH may hold at most {MAX_OPERATIONS} operations, and this one has {}: send them in several requests",
            ops.len()
        ))),
        Some(Value::Array(ops)) if !ops.is_empty() => {
            // Before any is applied: a value too big for the document is refused up front.
            ops.iter().filter_map(|op| op.as_object().and_then(|o| get_ci(o, "value"))).try_for_each(bounded)?;
            Ok(ops)
        }
        _ => Err(ScimError::invalid_syntax("'Operations' must be a non-empty array")),
    }
}

/// Refuses a value holding a list longer than a document may keep.
fn bounded(value: &Value) -> Result<(), ScimError> {
    match value {
        Value::Array(items) if items.len() > crate::user::MAX_VALUES => Err(too_many_values("a value", items.len())),
        Value::Array(items) => items.iter().try_for_each(bounded),
        Value::Object(map) => map.values().try_for_each(bounded),
        _ => Ok(()),
    }
}

pub(crate) fn too_many_values(what: &str, n: usize) -> ScimError {
    ScimError::invalid_value(format!(
        "{what} holds {n} values; a multi-valued attribute keeps at most {}",
        crate::user::MAX_VALUES
    ))
}

fn apply_operation(root: &mut Object, operation: &Value) -> Result<(), ScimError> {
    let operation =
        operation.as_object().ok_or_else(|| ScimError::invalid_syntax("an operation must be a JSON object"))?;
    let op = get_ci(operation, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("an operation needs an 'op' string"))?;
    // Entra ID sends "Add", "Replace" and "Remove".
    let mode = match op.to_ascii_lowercase().as_str() {
        "add" => Some(Mode::Add),
        "replace" => Some(Mode::Replace),
        "remove" => None,
        _ => return Err(ScimError::invalid_syntax(format!("unknown op '{op}': expected add, remove or replace"))),
    };
    let path = match get_ci(operation, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if is_password(text) => return Ok(()),
        Some(Value::String(text)) => Some(parse_path(text)?),
        Some(_) => return Err(ScimError::invalid_path("'path' must be a string")),
    };
    let value = get_ci(operation, "value");
    let Some(mode) = mode else {
        let path = path.ok_or_else(|| ScimError::no_target("'remove' needs a 'path'"))?;
        return remove(root, &path, value);
    };
    let value = value.cloned().ok_or_else(|| ScimError::invalid_syntax(format!("'{op}' needs a 'value'")))?;
    match path {
        Some(path) => write(root, &path, value, mode),
        // Without a path the value holds attributes by name; those names may be anything a
        // path may be, which covers Entra ID's dotted `name.givenName` and URN-qualified keys.
        None => {
            let Value::Object(attributes) = value else {
                return Err(ScimError::invalid_value("without a 'path', 'value' must be an object of attributes"));
            };
            attributes
                .into_iter()
                .filter(|(name, _)| !is_password(name))
                .try_for_each(|(name, v)| write(root, &parse_path(&name)?, v, mode))
        }
    }
}

/// Writes `value` at `path` (add or replace).
fn write(root: &mut Object, path: &PatchPath, value: Value, mode: Mode) -> Result<(), ScimError> {
    let (target, filter) = match path {
        PatchPath::Extension(schema) => return write_extension(root, schema, value, mode),
        PatchPath::Attr { target, filter } => (target, filter),
    };
    writable(target)?;
    in_container(root, target.extension, |container| match filter {
        Some(filter) => write_matching(container, target, filter, value, mode),
        None if target.attr.multi_valued => write_multi(container, target, value, mode),
        None => write_single(container, target, value),
    })
}

/// The extension object written as a whole is merged attribute by attribute, like any complex
/// attribute (see [`write_single`]); `null` unassigns all of it.
fn write_extension(root: &mut Object, schema: &'static SchemaDef, value: Value, mode: Mode) -> Result<(), ScimError> {
    match value {
        Value::Null => {
            root.remove(schema.id);
            Ok(())
        }
        // Some clients echo the resource's `schemas` inside the extension object; it is not an
        // attribute of the extension.
        Value::Object(attributes) => attributes
            .into_iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("schemas"))
            .try_for_each(|(name, v)| {
                let path = parse_path(&format!("{}:{name}", schema.id))?;
                write(root, &path, v, mode)
            }),
        _ => Err(ScimError::invalid_value(format!("'{}' expects an object of its attributes", schema.id))),
    }
}

/// A single-valued attribute or a sub-attribute of one. Add and replace do the same here: for a
/// complex attribute RFC 7644 §3.5.2.3 says the given sub-attributes replace or add to the
/// existing ones and "sub-attributes that are not specified ... are left unchanged", which is
/// also what add means (§3.5.2.1), so both merge. `null` unassigns.
fn write_single(container: &mut Object, target: &Resolved, value: Value) -> Result<(), ScimError> {
    let name = display(target);
    let updates = match target.sub {
        Some(sub) => Object::from_iter([(sub.name.to_owned(), single(sub, &name, value)?)]),
        None => match single(target.attr, &name, value)? {
            Value::Object(subs) => subs,
            // Also `null` for a complex attribute, which unassigns all of it.
            other => {
                put(container, target.attr.name, other);
                return Ok(());
            }
        },
    };
    let mut object = take_object(container, target.attr.name);
    for (key, v) in updates {
        put(&mut object, &key, v);
    }
    put(container, target.attr.name, Value::Object(object));
    Ok(())
}

/// A multi-valued attribute without a value filter. Add appends the new elements (skipping
/// ones already there); replace swaps the whole array. With a sub-attribute (`emails.value`)
/// both set it on every element, creating one if there are none.
fn write_multi(container: &mut Object, target: &Resolved, value: Value, mode: Mode) -> Result<(), ScimError> {
    let attr = target.attr;
    let name = display(target);
    let mut items = take_array(container, attr.name);
    let touched: Vec<usize> = match target.sub {
        None => {
            let new = elements(attr, &name, value)?;
            if mode == Mode::Replace {
                items.clear();
            }
            new.into_iter()
                .map(|element| {
                    let element = Value::Object(element);
                    items.iter().position(|e| *e == element).unwrap_or_else(|| {
                        items.push(element);
                        items.len() - 1
                    })
                })
                .collect()
        }
        Some(sub) => {
            let v = single(sub, &name, value)?;
            if items.is_empty() && !v.is_null() {
                items.push(Value::Object(Object::new()));
            }
            for element in items.iter_mut().filter_map(Value::as_object_mut) {
                put(element, sub.name, v.clone());
            }
            (0..items.len()).collect()
        }
    };
    one_primary(&mut items, &touched, attr.name)?;
    put(container, attr.name, Value::Array(items));
    Ok(())
}

/// What a filtered write puts into each matching element.
enum Written {
    /// `emails[type eq "work"].value`: that sub-attribute.
    Sub(&'static AttrDef, Value),
    /// `emails[type eq "work"]`: sub-attributes, merged in by add, replacing the element by
    /// replace (RFC 7644 §3.5.2.3's example changes "a User's entire work address" this way).
    Element(Object),
}

/// A multi-valued attribute narrowed by a value filter. When nothing matches, a filter made of
/// `eq` comparisons joined by `and` describes the element the client means, so it is created
/// (Entra ID sends `emails[type eq "work"].value` for a user with no work email); any other
/// filter is RFC 7644's noTarget.
fn write_matching(
    container: &mut Object,
    target: &Resolved,
    filter: &Filter,
    value: Value,
    mode: Mode,
) -> Result<(), ScimError> {
    let attr = target.attr;
    let name = display(target);
    let written = match target.sub {
        Some(sub) => Written::Sub(sub, single(sub, &name, value)?),
        None => Written::Element(strip_nulls(complex(attr, &name, value)?)),
    };
    let mut items = take_array(container, attr.name);
    let matched: Vec<usize> = items.iter().enumerate().filter(|(_, e)| matches(filter, e)).map(|(i, _)| i).collect();
    let touched = if matched.is_empty() {
        if matches!(written, Written::Sub(_, Value::Null)) {
            Vec::new()
        } else {
            let mut element = seed(filter)
                .ok_or_else(|| ScimError::no_target(format!("no element of '{}' matches the filter", attr.name)))?;
            match written {
                Written::Sub(sub, v) => put(&mut element, sub.name, v),
                Written::Element(fields) => element.extend(fields),
            }
            items.push(Value::Object(element));
            vec![items.len() - 1]
        }
    } else {
        for &i in &matched {
            let Some(Value::Object(element)) = items.get_mut(i) else {
                continue;
            };
            match &written {
                Written::Sub(sub, v) => put(element, sub.name, v.clone()),
                Written::Element(fields) => {
                    if mode == Mode::Replace {
                        element.clear();
                    }
                    element.extend(fields.clone());
                }
            }
        }
        matched
    };
    one_primary(&mut items, &touched, attr.name)?;
    put(container, attr.name, Value::Array(items));
    Ok(())
}

/// The element an `eq`-only conjunction describes: `type eq "work" and primary eq true` gives
/// `{"type": "work", "primary": true}`. `None` for any other filter.
fn seed(filter: &Filter) -> Option<Object> {
    match filter {
        Filter::And(a, b) => {
            let mut element = seed(a)?;
            element.extend(seed(b)?);
            Some(element)
        }
        Filter::Compare { attr, op: CompareOp::Eq, value } => {
            let [key] = attr.path.as_slice() else {
                return None;
            };
            let json = match value {
                Typed::Null => return Some(Object::new()),
                Typed::String(s) => Value::String(s.clone()),
                Typed::Boolean(b) => Value::Bool(*b),
                Typed::Number(n) if attr.ty == AttrType::Integer && n.fract() == 0.0 => Value::from(*n as i64),
                Typed::Number(n) => Value::Number(Number::from_f64(*n)?),
                Typed::DateTime(t) => Value::String(t.to_rfc3339()),
            };
            Some(Object::from_iter([(key.clone(), json)]))
        }
        _ => None,
    }
}

fn remove(root: &mut Object, path: &PatchPath, value: Option<&Value>) -> Result<(), ScimError> {
    let (target, filter) = match path {
        PatchPath::Extension(schema) => {
            root.remove(schema.id);
            return Ok(());
        }
        PatchPath::Attr { target, filter } => (target, filter),
    };
    writable(target)?;
    in_container(root, target.extension, |container| {
        let attr = target.attr;
        if !attr.multi_valued {
            match target.sub {
                None => {
                    container.remove(attr.name);
                }
                Some(sub) => {
                    let mut object = take_object(container, attr.name);
                    object.remove(sub.name);
                    put(container, attr.name, Value::Object(object));
                }
            }
            return Ok(());
        }
        let mut items = take_array(container, attr.name);
        let selected = |e: &Value| filter.as_ref().is_none_or(|f| matches(f, e));
        match (target.sub, value.filter(|v| !v.is_null())) {
            (Some(sub), _) => {
                for element in items.iter_mut().filter(|e| selected(e)) {
                    if let Value::Object(element) = element {
                        element.remove(sub.name);
                    }
                }
            }
            // Entra ID removes elements by listing them, `"path": "emails", "value": [{"value":
            // "x"}]`, meaning "the elements with these values".
            (None, Some(listed)) if filter.is_none() => {
                let doomed = listed_values(attr, &display(target), listed)?;
                let case_exact = resolve_sub(attr, "value").is_some_and(|v| v.case_exact);
                items.retain(|e| {
                    let own = e.get("value");
                    !doomed.iter().any(|d| own.is_some_and(|own| same(own, d, case_exact)))
                });
            }
            (None, _) => items.retain(|e| !selected(e)),
        }
        put(container, attr.name, Value::Array(items));
        Ok(())
    })
}

/// The `value`s of the elements listed in a remove's `value`.
fn listed_values(attr: &'static AttrDef, name: &str, listed: &Value) -> Result<Vec<Value>, ScimError> {
    let items = match listed {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    items
        .into_iter()
        .map(|item| {
            complex(attr, name, item)?.remove("value").ok_or_else(|| {
                ScimError::invalid_value(format!("elements to remove from '{name}' must each have a 'value'"))
            })
        })
        .collect()
}

fn same(a: &Value, b: &Value, case_exact: bool) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) if !case_exact => a.to_lowercase() == b.to_lowercase(),
        _ => a == b,
    }
}

/// RFC 7643 §2.4: at most one element is primary. The element just written wins; writing more
/// than one primary at once is the client's mistake.
fn one_primary(items: &mut [Value], touched: &[usize], name: &str) -> Result<(), ScimError> {
    let mut primaries: Vec<usize> = touched
        .iter()
        .copied()
        .filter(|&i| items.get(i).and_then(|e| e.get("primary")) == Some(&Value::Bool(true)))
        .collect();
    primaries.sort_unstable();
    primaries.dedup();
    match primaries.as_slice() {
        [] => Ok(()),
        [keep] => {
            for (_, element) in items.iter_mut().enumerate().filter(|(i, _)| i != keep) {
                if let Value::Object(element) = element {
                    element.remove("primary");
                }
            }
            Ok(())
        }
        _ => Err(ScimError::invalid_value(format!("at most one element of '{name}' can be primary"))),
    }
}

/// Read-only attributes (`id`, `meta`, `groups`, `manager.displayName`) cannot be targeted.
fn writable(target: &Resolved) -> Result<(), ScimError> {
    let read_only =
        [Some(target.attr), target.sub].into_iter().flatten().any(|def| def.mutability == Mutability::ReadOnly);
    if read_only {
        return Err(ScimError::mutability(format!("'{}' is read-only", display(target))));
    }
    Ok(())
}

/// How messages name a target: as a client would write it.
fn display(target: &Resolved) -> String {
    let local = match target.sub {
        Some(sub) => format!("{}.{}", target.attr.name, sub.name),
        None => target.attr.name.to_owned(),
    };
    match target.extension {
        Some(urn) => format!("{urn}:{local}"),
        None => local,
    }
}

/// Checks one value written to `def` and brings it to the stored form: canonical sub-attribute
/// names, booleans from Entra ID's "True"/"False" strings, a one-element array (sent by some
/// clients for single-valued attributes) unwrapped. `null` stays `null`, meaning unassign.
fn single(def: &'static AttrDef, name: &str, value: Value) -> Result<Value, ScimError> {
    let value = match value {
        Value::Array(items) => match <[Value; 1]>::try_from(items) {
            Ok([only]) => only,
            Err(_) => return Err(ScimError::invalid_value(format!("'{name}' is single-valued"))),
        },
        other => other,
    };
    let checked = match (def.ty, value) {
        (_, Value::Null) => Ok(Value::Null),
        (AttrType::String | AttrType::Reference | AttrType::Binary, v @ Value::String(_)) => Ok(v),
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => Err("a string"),
        (AttrType::Boolean, v @ Value::Bool(_)) => Ok(v),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        (AttrType::Boolean, _) => Err("true or false"),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Value::Number(n)),
        (AttrType::Integer, _) => Err("an integer"),
        (AttrType::Decimal, v @ Value::Number(_)) => Ok(v),
        (AttrType::Decimal, _) => Err("a number"),
        (AttrType::DateTime, Value::String(s)) if chrono::DateTime::parse_from_rfc3339(&s).is_ok() => {
            Ok(Value::String(s))
        }
        (AttrType::DateTime, _) => Err("an RFC 3339 date-time string"),
        (AttrType::Complex, v) => return complex(def, name, v).map(Value::Object),
    };
    checked.map_err(|expected| ScimError::invalid_value(format!("'{name}' expects {expected}")))
}

/// A complex value, with canonical sub-attribute names. A bare string, number or boolean is
/// taken as the `value` sub-attribute, as filters take `emails eq "x"`; Entra ID writes
/// `manager` this way. Read-only sub-attributes are dropped rather than refused, since clients
/// echo them back (`manager.displayName`) and RFC 7644 §3.5.1 has servers ignore them.
fn complex(def: &'static AttrDef, name: &str, value: Value) -> Result<Object, ScimError> {
    let fields = match value {
        Value::Object(fields) => fields,
        scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_)) if resolve_sub(def, "value").is_some() => {
            Object::from_iter([("value".to_owned(), scalar)])
        }
        _ => return Err(ScimError::invalid_value(format!("'{name}' expects an object"))),
    };
    let mut out = Object::new();
    for (key, v) in fields {
        let sub = resolve_sub(def, &key)
            .ok_or_else(|| ScimError::invalid_value(format!("'{name}' has no sub-attribute '{key}'")))?;
        if sub.mutability != Mutability::ReadOnly {
            let v = single(sub, &format!("{name}.{}", sub.name), v)?;
            out.insert(sub.name.to_owned(), v);
        }
    }
    Ok(out)
}

/// The elements a value gives a multi-valued attribute: one object or an array of them.
fn elements(def: &'static AttrDef, name: &str, value: Value) -> Result<Vec<Object>, ScimError> {
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        one => vec![one],
    };
    items.into_iter().filter(|item| !item.is_null()).map(|item| complex(def, name, item).map(strip_nulls)).collect()
}

fn strip_nulls(mut object: Object) -> Object {
    object.retain(|_, v| !v.is_null());
    object
}

/// Runs `f` on the object holding the target's attribute: the document itself, or the
/// extension's object within it. When `f` fails the extension object is not put back, which
/// is harmless because `apply_patch` then throws its working copy away.
fn in_container(
    root: &mut Object,
    extension: Option<&'static str>,
    f: impl FnOnce(&mut Object) -> Result<(), ScimError>,
) -> Result<(), ScimError> {
    let Some(urn) = extension else {
        return f(root);
    };
    let mut object = take_object(root, urn);
    f(&mut object)?;
    put(root, urn, Value::Object(object));
    Ok(())
}

fn take_object(container: &mut Object, key: &str) -> Object {
    match container.remove(key) {
        Some(Value::Object(object)) => object,
        _ => Object::new(),
    }
}

fn take_array(container: &mut Object, key: &str) -> Vec<Value> {
    match container.remove(key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// Stores `value` under `key`, or unassigns `key` when the value is empty (RFC 7643 §2.5).
fn put(container: &mut Object, key: &str, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    if empty {
        container.remove(key);
    } else {
        container.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ENTERPRISE_USER_SCHEMA as ENT;
    use crate::ScimType;
    use serde_json::json;

    /// What a case expects: the start document after an edit, or an error of this type with
    /// the document untouched.
    enum Want {
        Doc(fn(&mut Value)),
        Fails(ScimType),
    }
    use Want::{Doc, Fails};

    struct Case {
        name: &'static str,
        start: Value,
        body: Value,
        want: Want,
    }

    fn base() -> Value {
        json!({
            "userName": "bjensen",
            "displayName": "Babs",
            "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "b@work.example", "type": "work", "primary": true},
                {"value": "b@home.example", "type": "home"}
            ],
            ENT: {"department": "Tour", "manager": {"value": "m1"}}
        })
    }

    /// A body around `operations`, which may also be a whole body (an object) or anything else.
    fn body(operations: Value) -> Value {
        match operations {
            Value::Array(_) => json!({"schemas": [PATCH_SCHEMA], "Operations": operations}),
            other => other,
        }
    }

    fn on(start: Value, name: &'static str, operations: Value, want: Want) -> Case {
        Case { name, start, body: body(operations), want }
    }

    fn case(name: &'static str, operations: Value, want: Want) -> Case {
        on(base(), name, operations, want)
    }

    fn emails(d: &mut Value) -> &mut Vec<Value> {
        d["emails"].as_array_mut().unwrap()
    }

    fn run(cases: Vec<Case>) {
        for Case { name, start, body, want } in cases {
            let mut doc = start.clone();
            let result = apply_patch(&mut doc, &body);
            match want {
                Doc(edit) => {
                    let mut expected = start;
                    edit(&mut expected);
                    assert_eq!(result, Ok(()), "{name}");
                    assert_eq!(doc, expected, "{name}");
                }
                Fails(scim_type) => {
                    let err = result.expect_err(name);
                    assert_eq!((err.status, err.scim_type), (400, Some(scim_type)), "{name}: {err}");
                    assert_eq!(doc, start, "{name}: a failed patch must leave the document alone");
                }
            }
        }
    }

    #[test]
    fn add() {
        run(vec![
            case(
                "sets a string",
                json!([{"op": "add", "path": "displayName", "value": "Bee"}]),
                Doc(|d| d["displayName"] = json!("Bee")),
            ),
            case(
                "sets an absent attribute, canonically spelled",
                json!([{"op": "add", "path": "NICKNAME", "value": "B"}]),
                Doc(|d| d["nickName"] = json!("B")),
            ),
            case(
                "merges into a complex attribute",
                json!([{"op": "add", "path": "name", "value": {"middleName": "J", "GIVENNAME": "Barb"}}]),
                Doc(|d| d["name"] = json!({"givenName": "Barb", "familyName": "Jensen", "middleName": "J"})),
            ),
            case(
                "sets a sub-attribute",
                json!([{"op": "add", "path": "name.honorificPrefix", "value": "Ms."}]),
                Doc(|d| d["name"]["honorificPrefix"] = json!("Ms.")),
            ),
            case(
                "appends one element",
                json!([{"op": "add", "path": "emails", "value": {"value": "n@x", "TYPE": "other"}}]),
                Doc(|d| emails(d).push(json!({"value": "n@x", "type": "other"}))),
            ),
            case(
                "appends an array, skipping elements already there",
                json!([{"op": "add", "path": "emails", "value": [{"value": "b@home.example", "type": "home"}, {"value": "n@x"}]}]),
                Doc(|d| emails(d).push(json!({"value": "n@x"}))),
            ),
            case(
                "a bare string becomes an element's value",
                json!([{"op": "add", "path": "emails", "value": "n@x"}]),
                Doc(|d| emails(d).push(json!({"value": "n@x"}))),
            ),
            case(
                "a new primary element demotes the old one",
                json!([{"op": "add", "path": "emails", "value": {"value": "p@x", "primary": true}}]),
                Doc(|d| {
                    emails(d)[0].as_object_mut().unwrap().remove("primary");
                    emails(d).push(json!({"value": "p@x", "primary": true}));
                }),
            ),
            case(
                "primary as a string",
                json!([{"op": "add", "path": "emails", "value": [{"value": "p@x", "primary": "True"}]}]),
                Doc(|d| {
                    emails(d)[0].as_object_mut().unwrap().remove("primary");
                    emails(d).push(json!({"value": "p@x", "primary": true}));
                }),
            ),
            case(
                "two primaries at once",
                json!([{"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "the same primary twice is one",
                json!([{"op": "add", "path": "emails", "value": [{"value": "b@work.example", "type": "work", "primary": true}, {"value": "b@work.example", "type": "work", "primary": "true"}]}]),
                Doc(|_| {}),
            ),
            case(
                "a filter sets a sub-attribute on each match",
                json!([{"op": "add", "path": "emails[type eq \"work\"].display", "value": "Work"}]),
                Doc(|d| emails(d)[0]["display"] = json!("Work")),
            ),
            case(
                "a filter without sub-attribute merges into matches",
                json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"display": "Home"}}]),
                Doc(|d| emails(d)[1]["display"] = json!("Home")),
            ),
            case(
                "an eq filter matching nothing creates the element",
                json!([{"op": "Add", "path": "emails[type eq \"other\"].value", "value": "o@x"}]),
                Doc(|d| emails(d).push(json!({"type": "other", "value": "o@x"}))),
            ),
            case(
                "an extension attribute",
                json!([{"op": "add", "path": format!("{ENT}:department"), "value": "Sales"}]),
                Doc(|d| d[ENT]["department"] = json!("Sales")),
            ),
            case(
                "Entra's manager as a bare id",
                json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": "m2"}]),
                Doc(|d| d[ENT]["manager"] = json!({"value": "m2"})),
            ),
            case(
                "a read-only sub-attribute in a value is ignored",
                json!([{"op": "add", "path": format!("{ENT}:manager"), "value": {"value": "m2", "displayName": "Boss"}}]),
                Doc(|d| d[ENT]["manager"] = json!({"value": "m2"})),
            ),
            on(
                json!({"userName": "u"}),
                "creates the extension object",
                json!([{"op": "add", "path": format!("{ENT}:department"), "value": "Sales"}]),
                Doc(|d| d[ENT] = json!({"department": "Sales"})),
            ),
            on(
                json!({"userName": "u"}),
                "creates the first element",
                json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "555", "type": "work"}}]),
                Doc(|d| d["phoneNumbers"] = json!([{"value": "555", "type": "work"}])),
            ),
            case(
                "without a path: plain, dotted, URN-qualified and extension names",
                json!([{"op": "add", "value": {
                    "nickName": "B",
                    "name.middleName": "J",
                    "urn:ietf:params:scim:schemas:core:2.0:User:title": "Boss",
                    (ENT): {"costCenter": "4130", "manager": "m2"},
                    "emails": [{"value": "n@x", "primary": "false"}]
                }}]),
                Doc(|d| {
                    d["nickName"] = json!("B");
                    d["name"]["middleName"] = json!("J");
                    d["title"] = json!("Boss");
                    d[ENT]["costCenter"] = json!("4130");
                    d[ENT]["manager"] = json!({"value": "m2"});
                    emails(d).push(json!({"value": "n@x", "primary": false}));
                }),
            ),
        ]);
    }

    #[test]
    fn replace() {
        run(vec![
            case(
                "a string",
                json!([{"op": "replace", "path": "displayName", "value": "Bee"}]),
                Doc(|d| d["displayName"] = json!("Bee")),
            ),
            case(
                "Entra's boolean as a string",
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
                Doc(|d| d["active"] = json!(false)),
            ),
            case(
                "Entra's boolean string without a path",
                json!([{"op": "Replace", "value": {"active": "False"}}]),
                Doc(|d| d["active"] = json!(false)),
            ),
            case(
                "several attributes without a path, op in capitals",
                json!([{"op": "REPLACE", "value": {"ACTIVE": "true", "displayName": "X"}}]),
                Doc(|d| d["displayName"] = json!("X")),
            ),
            case(
                "Entra's dotted names without a path",
                json!([{"op": "replace", "value": {"name.givenName": "G", "name.familyName": "F"}}]),
                Doc(|d| d["name"] = json!({"givenName": "G", "familyName": "F"})),
            ),
            case(
                "a URN-qualified extension name without a path",
                json!([{"op": "replace", "value": {(format!("{ENT}:department")): "X"}}]),
                Doc(|d| d[ENT]["department"] = json!("X")),
            ),
            case(
                "a one-element array for a single value",
                json!([{"op": "replace", "path": "displayName", "value": ["X"]}]),
                Doc(|d| d["displayName"] = json!("X")),
            ),
            case(
                "null unassigns",
                json!([{"op": "replace", "path": "displayName", "value": null}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove("displayName");
                }),
            ),
            case(
                "a complex attribute keeps unspecified sub-attributes",
                json!([{"op": "replace", "path": "name", "value": {"givenName": "B"}}]),
                Doc(|d| d["name"]["givenName"] = json!("B")),
            ),
            case(
                "a complex attribute set to null goes",
                json!([{"op": "replace", "path": "name", "value": null}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove("name");
                }),
            ),
            on(
                json!({"userName": "u", "name": {"givenName": "G"}}),
                "the last sub-attribute unassigned takes its parent",
                json!([{"op": "replace", "path": "name.givenName", "value": null}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove("name");
                }),
            ),
            case(
                "a multi-valued attribute as a whole",
                json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x", "type": "work"}]}]),
                Doc(|d| d["emails"] = json!([{"value": "only@x", "type": "work"}])),
            ),
            case(
                "a multi-valued attribute emptied",
                json!([{"op": "replace", "path": "emails", "value": []}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove("emails");
                }),
            ),
            case(
                "a sub-attribute of every element",
                json!([{"op": "replace", "path": "emails.display", "value": "E"}]),
                Doc(|d| {
                    emails(d)[0]["display"] = json!("E");
                    emails(d)[1]["display"] = json!("E");
                }),
            ),
            on(
                json!({"userName": "u"}),
                "a sub-attribute with no elements creates one",
                json!([{"op": "replace", "path": "phoneNumbers.value", "value": "555"}]),
                Doc(|d| d["phoneNumbers"] = json!([{"value": "555"}])),
            ),
            case(
                "a filtered sub-attribute",
                json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work"}]),
                Doc(|d| emails(d)[0]["value"] = json!("new@work")),
            ),
            case(
                "a filtered sub-attribute unassigned",
                json!([{"op": "replace", "path": "emails[type eq \"work\"].primary", "value": null}]),
                Doc(|d| {
                    emails(d)[0].as_object_mut().unwrap().remove("primary");
                }),
            ),
            case(
                "a filtered element as a whole",
                json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h2@x", "type": "home"}}]),
                Doc(|d| emails(d)[1] = json!({"value": "h2@x", "type": "home"})),
            ),
            case(
                "an eq-and filter matching nothing creates the element",
                json!([{"op": "replace", "path": "emails[type eq \"other\" and primary eq true].value", "value": "o@x"}]),
                Doc(|d| {
                    emails(d)[0].as_object_mut().unwrap().remove("primary");
                    emails(d).push(json!({"type": "other", "primary": true, "value": "o@x"}));
                }),
            ),
            case(
                "a whole-element write creates from eq values too",
                json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@x"}}]),
                Doc(|d| emails(d).push(json!({"type": "other", "value": "o@x"}))),
            ),
            case(
                "null through a filter matching nothing does nothing",
                json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": null}]),
                Doc(|_| {}),
            ),
            case(
                "another filter matching nothing",
                json!([{"op": "replace", "path": "emails[type co \"oth\"].value", "value": "o@x"}]),
                Fails(ScimType::NoTarget),
            ),
            case(
                "an or filter matching nothing",
                json!([{"op": "replace", "path": "emails[type eq \"a\" or type eq \"b\"].value", "value": "o@x"}]),
                Fails(ScimType::NoTarget),
            ),
            case(
                "the extension object, merged",
                json!([{"op": "replace", "path": ENT, "value": {"department": "Sales"}}]),
                Doc(|d| d[ENT]["department"] = json!("Sales")),
            ),
            case(
                "the extension object unassigned",
                json!([{"op": "replace", "path": ENT, "value": null}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove(ENT);
                }),
            ),
            case(
                "the extension object without a path",
                json!([{"op": "replace", "value": {(ENT.to_lowercase()): {"Department": "Sales"}}}]),
                Doc(|d| d[ENT]["department"] = json!("Sales")),
            ),
            case(
                "a path of null is no path",
                json!([{"op": "replace", "path": null, "value": {"displayName": "X"}}]),
                Doc(|d| d["displayName"] = json!("X")),
            ),
        ]);
    }

    #[test]
    fn password_is_accepted_and_never_stored() {
        run(vec![
            case("by path", json!([{"op": "replace", "path": "password", "value": "hunter2"}]), Doc(|_| {})),
            case(
                "by qualified path, removed",
                json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:User:password"}]),
                Doc(|_| {}),
            ),
            case(
                "among path-less attributes",
                json!([{"op": "replace", "value": {"Password": "hunter2", "displayName": "Bee"}}]),
                Doc(|d| d["displayName"] = json!("Bee")),
            ),
        ]);
        let doc = document_from(json!({"userName": "b", "password": "hunter2"}).as_object().unwrap()).unwrap();
        assert_eq!(doc, json!({"userName": "b"}));
    }

    #[test]
    fn remove() {
        run(vec![
            case(
                "an attribute",
                json!([{"op": "remove", "path": "displayName"}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove("displayName");
                }),
            ),
            case(
                "a sub-attribute",
                json!([{"op": "Remove", "path": "name.givenName"}]),
                Doc(|d| {
                    d["name"].as_object_mut().unwrap().remove("givenName");
                }),
            ),
            case(
                "a multi-valued attribute",
                json!([{"op": "remove", "path": "emails"}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove("emails");
                }),
            ),
            case(
                "matching elements",
                json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
                Doc(|d| {
                    emails(d).remove(0);
                }),
            ),
            case(
                "a sub-attribute of matching elements",
                json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
                Doc(|d| {
                    emails(d)[0].as_object_mut().unwrap().remove("primary");
                }),
            ),
            case(
                "a sub-attribute of every element",
                json!([{"op": "remove", "path": "emails.type"}]),
                Doc(|d| {
                    for e in emails(d) {
                        e.as_object_mut().unwrap().remove("type");
                    }
                }),
            ),
            case(
                "Entra's elements listed by value",
                json!([{"op": "Remove", "path": "emails", "value": [{"value": "B@HOME.example"}]}]),
                Doc(|d| {
                    emails(d).remove(1);
                }),
            ),
            case(
                "elements listed by bare value",
                json!([{"op": "remove", "path": "emails", "value": ["b@work.example", "b@home.example"]}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove("emails");
                }),
            ),
            case(
                "listed elements need a value",
                json!([{"op": "remove", "path": "emails", "value": [{"type": "home"}]}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "an extension attribute",
                json!([{"op": "remove", "path": format!("{ENT}:manager")}]),
                Doc(|d| {
                    d[ENT].as_object_mut().unwrap().remove("manager");
                }),
            ),
            case(
                "the extension object",
                json!([{"op": "remove", "path": ENT}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove(ENT);
                }),
            ),
            on(
                json!({"userName": "u", ENT: {"department": "D"}}),
                "the last extension attribute takes the object",
                json!([{"op": "remove", "path": format!("{ENT}:department")}]),
                Doc(|d| {
                    d.as_object_mut().unwrap().remove(ENT);
                }),
            ),
            case(
                "something absent",
                json!([
                    {"op": "remove", "path": "nickName"},
                    {"op": "remove", "path": "phoneNumbers[type eq \"work\"]"},
                    {"op": "remove", "path": "emails[type eq \"other\"].value"},
                    {"op": "remove", "path": format!("{ENT}:costCenter")},
                    {"op": "remove", "path": "addresses.locality"},
                    {"op": "remove", "path": "name.middleName"}
                ]),
                Doc(|_| {}),
            ),
            on(
                json!({"userName": "u"}),
                "nothing is created by removing",
                json!([
                    {"op": "remove", "path": format!("{ENT}:manager.value")},
                    {"op": "remove", "path": "name.givenName"}
                ]),
                Doc(|_| {}),
            ),
            case("needs a path", json!([{"op": "remove"}]), Fails(ScimType::NoTarget)),
            case("read-only attributes", json!([{"op": "remove", "path": "groups"}]), Fails(ScimType::Mutability)),
        ]);
    }

    #[test]
    fn bad_requests_change_nothing() {
        run(vec![
            case("not an object", json!("add"), Fails(ScimType::InvalidSyntax)),
            case(
                "no schemas",
                json!({"Operations": [{"op": "remove", "path": "title"}]}),
                Fails(ScimType::InvalidSyntax),
            ),
            case(
                "the wrong schema",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": [{"op": "remove", "path": "title"}]}),
                Fails(ScimType::InvalidSyntax),
            ),
            case("no operations", json!({"schemas": [PATCH_SCHEMA]}), Fails(ScimType::InvalidSyntax)),
            case("empty operations", json!([]), Fails(ScimType::InvalidSyntax)),
            case(
                "operations not an array",
                json!({"schemas": [PATCH_SCHEMA], "Operations": {"op": "add"}}),
                Fails(ScimType::InvalidSyntax),
            ),
            case("an operation not an object", json!(["add"]), Fails(ScimType::InvalidSyntax)),
            case("no op", json!([{"path": "title", "value": "x"}]), Fails(ScimType::InvalidSyntax)),
            case(
                "an unknown op",
                json!([{"op": "move", "path": "title", "value": "x"}]),
                Fails(ScimType::InvalidSyntax),
            ),
            case("add without a value", json!([{"op": "add", "path": "title"}]), Fails(ScimType::InvalidSyntax)),
            case("a path not a string", json!([{"op": "add", "path": 1, "value": "x"}]), Fails(ScimType::InvalidPath)),
            case("an unknown path", json!([{"op": "add", "path": "nope", "value": "x"}]), Fails(ScimType::InvalidPath)),
            case(
                "a malformed path",
                json!([{"op": "add", "path": "emails[type eq", "value": "x"}]),
                Fails(ScimType::InvalidPath),
            ),
            case(
                "an unknown name without a path",
                json!([{"op": "add", "value": {"title": "t", "nope": "x"}}]),
                Fails(ScimType::InvalidPath),
            ),
            case(
                "a pathless value not an object",
                json!([{"op": "replace", "value": "x"}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "a boolean that is not one",
                json!([{"op": "replace", "path": "active", "value": "yes"}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "a string that is a number",
                json!([{"op": "replace", "path": "displayName", "value": 5}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "several values for a single-valued attribute",
                json!([{"op": "replace", "path": "displayName", "value": ["a", "b"]}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "a complex attribute given a string",
                json!([{"op": "replace", "path": "name", "value": "x"}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "an unknown sub-attribute in a value",
                json!([{"op": "add", "path": "name", "value": {"nope": "x"}}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "a mistyped element",
                json!([{"op": "add", "path": "emails", "value": [{"value": 1}]}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "an element that is an array",
                json!([{"op": "add", "path": "emails", "value": [["x"]]}]),
                Fails(ScimType::InvalidValue),
            ),
            case(
                "the extension given a string",
                json!([{"op": "replace", "path": ENT, "value": "x"}]),
                Fails(ScimType::InvalidValue),
            ),
            case("id", json!([{"op": "replace", "path": "id", "value": "x"}]), Fails(ScimType::Mutability)),
            case(
                "id without a path",
                json!([{"op": "replace", "value": {"displayName": "x", "id": "x"}}]),
                Fails(ScimType::Mutability),
            ),
            case(
                "meta",
                json!([{"op": "add", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"}]),
                Fails(ScimType::Mutability),
            ),
            case(
                "groups",
                json!([{"op": "add", "path": "groups", "value": {"value": "g"}}]),
                Fails(ScimType::Mutability),
            ),
            case(
                "a read-only sub-attribute by path",
                json!([{"op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "x"}]),
                Fails(ScimType::Mutability),
            ),
            case(
                "a second operation failing undoes the first",
                json!([
                    {"op": "replace", "path": "displayName", "value": "changed"},
                    {"op": "remove", "path": "emails"},
                    {"op": "add", "path": "nope", "value": "x"}
                ]),
                Fails(ScimType::InvalidPath),
            ),
        ]);
    }

    #[test]
    fn bodies_are_read_leniently() {
        run(vec![case(
            "operations in any case, schema URN in any case",
            json!({
                "schemas": [PATCH_SCHEMA.to_uppercase()],
                "operations": [{"OP": "add", "Path": "title", "VALUE": "t"}]
            }),
            Doc(|d| d["title"] = json!("t")),
        )]);
    }

    #[test]
    fn errors_name_the_failing_operation() {
        let mut doc = base();
        let err = apply_patch(
            &mut doc,
            &body(json!([
                {"op": "replace", "path": "title", "value": "t"},
                {"op": "replace", "path": "active", "value": "maybe"}
            ])),
        )
        .unwrap_err();
        assert_eq!(err.detail, "operation 2: 'active' expects true or false");
        let err = apply_patch(&mut json!([]), &body(json!([{"op": "remove", "path": "title"}])));
        assert_eq!(err.unwrap_err().status, 500);
    }
}
