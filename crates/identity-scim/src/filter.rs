//! SCIM filters (RFC 7644 §3.4.2.2): text into a typed [`Filter`] with every attribute resolved
//! against the User schema, and an in-memory [`matches`] used by PATCH value filters.
//!
//! Input is untrusted, so it is bounded before any real work: length first, then a linear scan of
//! bracket nesting. The parser loops over `and`/`or` chains and recurses only into groups, whose
//! nesting it counts, so no input can exhaust the stack.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use identity_core::query::{Attr, AttrType, CompareOp, Filter, Value};
use serde_json::{Map, Value as Json};

use crate::schema::{resolve, resolve_sub, AttrDef, Resolved};
use crate::ScimError;

pub const MAX_FILTER_LEN: usize = 2048;
pub const MAX_FILTER_DEPTH: usize = 10;

/// Parses a filter such as `emails[type eq "work" and value co "@example.com"] or not (active eq
/// true)`. Keywords and attribute names are case-insensitive. Errors are `invalidFilter`, with a
/// detail naming what was expected and where (1-based character positions).
pub fn parse_filter(text: &str) -> Result<Filter, ScimError> {
    let mut parser = Parser::new(text, Syntax::Filter)?;
    let filter = parser.or_chain(&Scope::Top)?;
    parser.end("'and', 'or' or the end of the filter")?;
    Ok(filter)
}

/// Which grammar is being read: decides the error's `scimType` and how messages name the text.
/// PATCH paths share the attribute and value-filter grammar, and are reported as paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Filter,
    Path,
}

impl Syntax {
    fn noun(self) -> &'static str {
        match self {
            Self::Filter => "filter",
            Self::Path => "path",
        }
    }

    fn error(self, detail: String) -> ScimError {
        match self {
            Self::Filter => ScimError::invalid_filter(detail),
            Self::Path => ScimError::invalid_path(detail),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind<'a> {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    /// An attribute path, keyword, operator, number, `true`, `false` or `null`: which one
    /// depends on where it stands, so the lexer does not decide.
    Word(&'a str),
    /// A JSON string literal, decoded.
    Str(String),
}

#[derive(Debug, Clone)]
struct Token<'a> {
    kind: Kind<'a>,
    /// As written, for messages.
    raw: &'a str,
    /// 1-based character position.
    pos: usize,
}

/// What an attribute is tested for: `pr`, or an operator with its (still untyped) value.
enum Test<'a> {
    Present,
    Compare { op: CompareOp, value: Token<'a> },
}

/// Where attribute names are resolved: the whole User, or the sub-attributes of the complex
/// attribute whose `[...]` is being read. `prefix` is prepended to resolved paths: empty for a
/// multi-valued parent (paths are relative to the element), the parent's own path for a
/// single-valued one (its value filter is rewritten into plain comparisons).
enum Scope {
    Top,
    Within { parent: &'static AttrDef, prefix: Vec<String> },
}

/// A token cursor over one filter or path, shared with `path.rs`.
pub(crate) struct Parser<'a> {
    syntax: Syntax,
    tokens: Vec<Token<'a>>,
    next: usize,
    /// Position reported for "end of input".
    end_pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    /// Checks the length and nesting bounds, then tokenizes.
    pub(crate) fn new(text: &'a str, syntax: Syntax) -> Result<Self, ScimError> {
        let noun = syntax.noun();
        let chars = text.chars().count();
        if chars > MAX_FILTER_LEN {
            return Err(syntax.error(format!("{noun} is longer than {MAX_FILTER_LEN} characters")));
        }
        if bracket_depth(text) > MAX_FILTER_DEPTH {
            return Err(syntax.error(format!("{noun} nests '(' and '[' deeper than {MAX_FILTER_DEPTH} levels")));
        }
        Ok(Self { syntax, tokens: tokenize(text, syntax)?, next: 0, end_pos: chars + 1, depth: 0 })
    }

    fn error(&self, detail: String) -> ScimError {
        self.syntax.error(detail)
    }

    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.next)
    }

    /// An error for the next token (or the end of input) not being what was expected.
    fn expected(&self, what: &str) -> ScimError {
        let found = match self.peek() {
            Some(t) => format!("at character {}, found '{}'", t.pos, t.raw),
            None => format!("at the end of the {} (character {})", self.syntax.noun(), self.end_pos),
        };
        self.error(format!("expected {what} {found}"))
    }

    fn expect(&mut self, kind: &Kind<'_>, what: &str) -> Result<(), ScimError> {
        if self.peek().map(|t| &t.kind) == Some(kind) {
            self.next += 1;
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// Fails unless every token has been consumed.
    pub(crate) fn end(&self, what: &str) -> Result<(), ScimError> {
        match self.peek() {
            Some(_) => Err(self.expected(what)),
            None => Ok(()),
        }
    }

    /// Consumes an attribute path (or the extension URN), which PATCH paths start with.
    pub(crate) fn word(&mut self) -> Result<&'a str, ScimError> {
        match self.peek().map(|t| &t.kind) {
            Some(Kind::Word(w)) => {
                let w = *w;
                self.next += 1;
                Ok(w)
            }
            _ => Err(self.expected("an attribute name")),
        }
    }

    /// Consumes `.name` following a `]`, as in `emails[type eq "work"].value`.
    pub(crate) fn dotted_suffix(&mut self) -> Option<&'a str> {
        let rest = match self.peek().map(|t| &t.kind) {
            Some(Kind::Word(w)) => w.strip_prefix('.')?,
            _ => return None,
        };
        self.next += 1;
        Some(rest)
    }

    pub(crate) fn at_bracket(&self) -> bool {
        self.peek().map(|t| &t.kind) == Some(&Kind::OpenBracket)
    }

    /// Consumes `[valFilter]`, the bracket being next; its attributes are relative to an
    /// element of the multi-valued `parent`.
    pub(crate) fn element_filter(&mut self, parent: &'static AttrDef) -> Result<Filter, ScimError> {
        let scope = Scope::Within { parent, prefix: Vec::new() };
        self.bracketed(&scope)
    }

    /// Counts one level of nesting; `leave` undoes it.
    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(self.error(format!(
                "{} nests deeper than {MAX_FILTER_DEPTH} levels of '(', '[' and 'not' at character {}",
                self.syntax.noun(),
                self.peek().map_or(self.end_pos, |t| t.pos)
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek().map(|t| &t.kind), Some(Kind::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn or_chain(&mut self, scope: &Scope) -> Result<Filter, ScimError> {
        let mut filter = self.and_chain(scope)?;
        while self.at_keyword("or") {
            self.next += 1;
            filter = Filter::or(filter, self.and_chain(scope)?);
        }
        Ok(filter)
    }

    fn and_chain(&mut self, scope: &Scope) -> Result<Filter, ScimError> {
        let mut filter = self.term(scope)?;
        while self.at_keyword("and") {
            self.next += 1;
            filter = Filter::and(filter, self.term(scope)?);
        }
        Ok(filter)
    }

    fn term(&mut self, scope: &Scope) -> Result<Filter, ScimError> {
        const START: &str = "an attribute name, 'not' or '('";
        let Some(token) = self.peek().cloned() else {
            return Err(self.expected(START));
        };
        match token.kind {
            Kind::Open => self.group(scope),
            Kind::Word(w) if w.eq_ignore_ascii_case("not") => {
                self.next += 1;
                if self.peek().map(|t| &t.kind) != Some(&Kind::Open) {
                    return Err(self.expected("'(' after 'not'"));
                }
                self.enter()?;
                let inner = self.group(scope)?;
                self.leave();
                Ok(Filter::not(inner))
            }
            Kind::Word(w) => {
                self.next += 1;
                self.attribute_expr(w, scope)
            }
            _ => Err(self.expected(START)),
        }
    }

    /// `( FILTER )`, the opening parenthesis being next.
    fn group(&mut self, scope: &Scope) -> Result<Filter, ScimError> {
        self.next += 1;
        self.enter()?;
        let inner = self.or_chain(scope)?;
        self.expect(&Kind::Close, "')' or 'and'/'or'")?;
        self.leave();
        Ok(inner)
    }

    /// `[ valFilter ]`, the opening bracket being next.
    fn bracketed(&mut self, scope: &Scope) -> Result<Filter, ScimError> {
        self.next += 1;
        self.enter()?;
        let inner = self.or_chain(scope)?;
        self.expect(&Kind::CloseBracket, "']' or 'and'/'or'")?;
        self.leave();
        Ok(inner)
    }

    fn attribute_expr(&mut self, name: &'a str, scope: &Scope) -> Result<Filter, ScimError> {
        let nested = self.at_bracket();
        match scope {
            Scope::Top => {
                let resolved = resolve(name).ok_or_else(|| self.error(format!("unknown attribute '{name}'")))?;
                if nested {
                    self.value_path(name, resolved)
                } else {
                    let test = self.test()?;
                    self.top_level(name, resolved, test)
                }
            }
            Scope::Within { parent, prefix } => {
                if let Some(t) = self.peek().filter(|_| nested) {
                    return Err(self.error(format!("value filters cannot nest: '[' at character {}", t.pos)));
                }
                let sub = resolve_sub(parent, name).ok_or_else(|| {
                    self.error(format!("unknown attribute '{name}': '{}' has no such sub-attribute", parent.name))
                })?;
                let mut path = prefix.clone();
                path.push(sub.name.to_owned());
                let attr = Attr { path, ty: sub.ty, case_exact: sub.case_exact };
                let test = self.test()?;
                self.typed(attr, &format!("{}.{}", parent.name, sub.name), test)
            }
        }
    }

    /// An attribute outside brackets. Multi-valued attributes are tested per element, so their
    /// comparisons become [`Filter::Any`]; one compared without a sub-attribute compares its
    /// `value`, as RFC 7644 §3.4.2.2 has `emails co "@x"` mean.
    fn top_level(&self, name: &str, resolved: Resolved, test: Test<'a>) -> Result<Filter, ScimError> {
        if !resolved.attr.multi_valued {
            return self.typed(attr_of(&resolved), name, test);
        }
        let element = match (resolved.sub, &test) {
            (Some(sub), _) => sub,
            (None, Test::Present) => return Ok(Filter::Present(whole(&resolved))),
            (None, Test::Compare { .. }) => resolve_sub(resolved.attr, "value").ok_or_else(|| {
                self.error(format!("'{name}' has no value to compare; compare one of its sub-attributes"))
            })?,
        };
        let inner = self.typed(relative(element), name, test)?;
        Ok(Filter::Any { attr: whole(&resolved), filter: Box::new(inner) })
    }

    /// `attr[valFilter]` outside brackets, the bracket being next.
    fn value_path(&mut self, name: &str, resolved: Resolved) -> Result<Filter, ScimError> {
        if resolved.sub.is_some() || resolved.attr.ty != AttrType::Complex {
            return Err(self.error(format!("'{name}' has no sub-attributes to filter with '[...]'")));
        }
        let prefix = if resolved.attr.multi_valued { Vec::new() } else { resolved.path() };
        let scope = Scope::Within { parent: resolved.attr, prefix };
        let inner = self.bracketed(&scope)?;
        Ok(if resolved.attr.multi_valued {
            Filter::Any { attr: whole(&resolved), filter: Box::new(inner) }
        } else {
            inner
        })
    }

    /// `pr`, or a comparison operator and its value.
    fn test(&mut self) -> Result<Test<'a>, ScimError> {
        const OPERATOR: &str = "an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr)";
        let op = match self.peek().map(|t| &t.kind) {
            Some(Kind::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "pr" => None,
                "eq" => Some(CompareOp::Eq),
                "ne" => Some(CompareOp::Ne),
                "co" => Some(CompareOp::Co),
                "sw" => Some(CompareOp::Sw),
                "ew" => Some(CompareOp::Ew),
                "gt" => Some(CompareOp::Gt),
                "ge" => Some(CompareOp::Ge),
                "lt" => Some(CompareOp::Lt),
                "le" => Some(CompareOp::Le),
                _ => return Err(self.expected(OPERATOR)),
            },
            _ => return Err(self.expected(OPERATOR)),
        };
        self.next += 1;
        let Some(op) = op else {
            return Ok(Test::Present);
        };
        match self.peek() {
            Some(t) if matches!(t.kind, Kind::Word(_) | Kind::Str(_)) => {
                let value = t.clone();
                self.next += 1;
                Ok(Test::Compare { op, value })
            }
            _ => Err(self.expected("a value (a string, number, true, false or null)")),
        }
    }

    /// Checks the operator and value against the attribute's type.
    fn typed(&self, attr: Attr, name: &str, test: Test<'a>) -> Result<Filter, ScimError> {
        let (op, token) = match test {
            Test::Present => return Ok(Filter::Present(attr)),
            Test::Compare { op, value } => (op, value),
        };
        let value = typed_value(attr.ty, op, &token.kind).map_err(|wanted| {
            self.error(format!("'{name}' {wanted}, found '{}' at character {}", token.raw, token.pos))
        })?;
        Ok(Filter::Compare { attr, op, value })
    }
}

/// The attribute a [`Resolved`] names, as a filter attribute.
fn attr_of(resolved: &Resolved) -> Attr {
    let leaf = resolved.leaf();
    Attr { path: resolved.path(), ty: leaf.ty, case_exact: leaf.case_exact }
}

/// The top-level attribute alone, without its sub-attribute.
fn whole(resolved: &Resolved) -> Attr {
    attr_of(&Resolved { sub: None, ..*resolved })
}

/// A sub-attribute relative to the element of a multi-valued attribute.
fn relative(sub: &'static AttrDef) -> Attr {
    Attr::new(&[sub.name], sub.ty, sub.case_exact)
}

/// Types a comparison value; on failure, says what the attribute needs (completed by the
/// caller into a message naming the attribute).
fn typed_value(ty: AttrType, op: CompareOp, value: &Kind<'_>) -> Result<Value, String> {
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let meaningful = match ty {
        AttrType::String | AttrType::Reference => true,
        AttrType::Binary => !ordering,
        AttrType::Boolean => !ordering && !substring,
        AttrType::Integer | AttrType::Decimal | AttrType::DateTime => !substring,
        AttrType::Complex => return Err("is complex and cannot be compared; compare one of its sub-attributes".into()),
    };
    if !meaningful {
        return Err(format!("cannot be compared with '{}'", op_name(op)));
    }
    if matches!(value, Kind::Word(w) if w.eq_ignore_ascii_case("null")) {
        return if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            Ok(Value::Null)
        } else {
            Err("can be compared with null only by 'eq' or 'ne'".into())
        };
    }
    match (ty, value) {
        (AttrType::Boolean, Kind::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(Value::Boolean(true)),
        (AttrType::Boolean, Kind::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(Value::Boolean(false)),
        (AttrType::Boolean, _) => Err("expects true or false".into()),
        (AttrType::Integer | AttrType::Decimal, Kind::Word(w)) => w
            .parse::<serde_json::Number>()
            .ok()
            .and_then(|n| n.as_f64())
            .map(Value::Number)
            .ok_or_else(|| "expects a number".into()),
        (AttrType::Integer | AttrType::Decimal, _) => Err("expects a number".into()),
        (AttrType::DateTime, Kind::Str(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Value::DateTime(t.with_timezone(&Utc)))
            .map_err(|_| "expects an RFC 3339 date-time string".into()),
        (AttrType::DateTime, _) => Err("expects an RFC 3339 date-time string".into()),
        (_, Kind::Str(s)) => Ok(Value::String(s.clone())),
        _ => Err("expects a string in double quotes".into()),
    }
}

fn op_name(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "eq",
        CompareOp::Ne => "ne",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Ew => "ew",
        CompareOp::Gt => "gt",
        CompareOp::Ge => "ge",
        CompareOp::Lt => "lt",
        CompareOp::Le => "le",
    }
}

/// The deepest nesting of `(` and `[` outside string literals, found in one pass so an
/// absurdly nested input is refused before anything allocates per level.
fn bracket_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn tokenize(text: &str, syntax: Syntax) -> Result<Vec<Token<'_>>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((index, (start, c))) = chars.next() {
        let pos = index + 1;
        let punctuation = match c {
            '(' => Some(Kind::Open),
            ')' => Some(Kind::Close),
            '[' => Some(Kind::OpenBracket),
            ']' => Some(Kind::CloseBracket),
            _ => None,
        };
        if let Some(kind) = punctuation {
            let raw = &text[start..start + c.len_utf8()];
            tokens.push(Token { kind, raw, pos });
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        let mut end = start + c.len_utf8();
        if c == '"' {
            let mut escaped = false;
            let mut closed = false;
            for (_, (i, c)) in chars.by_ref() {
                end = i + c.len_utf8();
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        closed = true;
                        break;
                    }
                    _ => {}
                }
            }
            let raw = &text[start..end];
            let decoded = closed.then(|| serde_json::from_str::<String>(raw).ok()).flatten().ok_or_else(|| {
                let what = if closed { "invalid" } else { "unterminated" };
                syntax.error(format!("{what} string starting at character {pos}"))
            })?;
            tokens.push(Token { kind: Kind::Str(decoded), raw, pos });
            continue;
        }
        while let Some(&(_, (i, next))) = chars.peek() {
            if next.is_whitespace() || matches!(next, '(' | ')' | '[' | ']' | '"') {
                break;
            }
            end = i + next.len_utf8();
            chars.next();
        }
        let raw = &text[start..end];
        tokens.push(Token { kind: Kind::Word(raw), raw, pos });
    }
    Ok(tokens)
}

/// Looks a key up in a JSON object, case-insensitively as SCIM attribute names are, preferring
/// an exact match. Shared with `patch.rs`.
pub(crate) fn get_ci<'v>(object: &'v Map<String, Json>, key: &str) -> Option<&'v Json> {
    object.get(key).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Whether a JSON value (a whole document, or an element of a multi-valued attribute for the
/// filters inside `[...]`) satisfies `filter`. A missing attribute and `null` are the same
/// (RFC 7643 §2.5): it equals `null`, is not present, and is `ne` any other value. Values of
/// the wrong JSON type match nothing but `ne`.
pub fn matches(filter: &Filter, element: &Json) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, element) && matches(b, element),
        Filter::Or(a, b) => matches(a, element) || matches(b, element),
        Filter::Not(a) => !matches(a, element),
        Filter::Present(attr) => lookup(element, &attr.path).is_some_and(is_present),
        Filter::Compare { attr, op, value } => match (value, lookup(element, &attr.path)) {
            (Value::Null, found) => match op {
                CompareOp::Eq => found.is_none(),
                CompareOp::Ne => found.is_some(),
                _ => false,
            },
            (_, None) => *op == CompareOp::Ne,
            (_, Some(found)) => compare(found, attr.case_exact, *op, value),
        },
        Filter::Any { attr, filter } => match lookup(element, &attr.path) {
            Some(Json::Array(items)) => items.iter().any(|item| matches(filter, item)),
            Some(object @ Json::Object(_)) => matches(filter, object),
            _ => false,
        },
    }
}

/// The non-null value at `path`.
fn lookup<'v>(element: &'v Json, path: &[String]) -> Option<&'v Json> {
    path.iter().try_fold(element, |v, key| get_ci(v.as_object()?, key)).filter(|v| !v.is_null())
}

/// RFC 7644 §3.4.2.2 `pr`: a non-empty value.
fn is_present(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
        Json::Bool(_) | Json::Number(_) => true,
    }
}

fn compare(found: &Json, case_exact: bool, op: CompareOp, value: &Value) -> bool {
    let ordering = match (value, found) {
        (Value::String(want), Json::String(have)) => {
            let fold = |s: &str| -> String {
                if case_exact {
                    s.to_owned()
                } else {
                    s.to_lowercase()
                }
            };
            let (have, want) = (fold(have), fold(want));
            match op {
                CompareOp::Co => return have.contains(&want),
                CompareOp::Sw => return have.starts_with(&want),
                CompareOp::Ew => return have.ends_with(&want),
                _ => Some(have.cmp(&want)),
            }
        }
        (Value::Boolean(want), Json::Bool(have)) => Some(have.cmp(want)),
        (Value::Number(want), Json::Number(have)) => have.as_f64().and_then(|h| h.partial_cmp(want)),
        (Value::DateTime(want), Json::String(have)) => {
            DateTime::parse_from_rfc3339(have).ok().map(|h| h.with_timezone(&Utc).cmp(want))
        }
        _ => None,
    };
    match ordering {
        Some(o) => ordered(op, o),
        None => op == CompareOp::Ne,
    }
}

fn ordered(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering.is_eq(),
        CompareOp::Ne => ordering.is_ne(),
        CompareOp::Gt => ordering.is_gt(),
        CompareOp::Ge => ordering.is_ge(),
        CompareOp::Lt => ordering.is_lt(),
        CompareOp::Le => ordering.is_le(),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ENTERPRISE_USER_SCHEMA as ENT;
    use crate::ScimType;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde_json::json;

    fn string(path: &[&str]) -> Attr {
        Attr::new(path, AttrType::String, false)
    }

    fn cmp(attr: Attr, op: CompareOp, value: Value) -> Filter {
        Filter::Compare { attr, op, value }
    }

    fn eq(path: &[&str], v: &str) -> Filter {
        cmp(string(path), CompareOp::Eq, Value::String(v.into()))
    }

    fn some(path: &[&str], inner: Filter) -> Filter {
        Filter::Any { attr: Attr::new(path, AttrType::Complex, false), filter: Box::new(inner) }
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Value {
        Value::DateTime(Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap())
    }

    #[test]
    fn every_operator_parses() {
        let ops = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        for (name, op) in ops {
            for text in [format!("userName {name} \"j\""), format!("userName {} \"j\"", name.to_uppercase())] {
                assert_eq!(
                    parse_filter(&text),
                    Ok(cmp(string(&["userName"]), op, Value::String("j".into()))),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn filters_resolve_and_type_their_attributes() {
        let a = || eq(&["userName"], "a");
        let b = || eq(&["displayName"], "b");
        let c = || eq(&["title"], "c");
        let emails = |inner| some(&["emails"], inner);
        let manager = format!("{ENT}:manager");
        let cases: Vec<(String, Filter)> = vec![
            ("userName eq \"bjensen\"".into(), eq(&["userName"], "bjensen")),
            ("USERNAME EQ \"x\"".into(), eq(&["userName"], "x")),
            ("name.GIVENNAME Eq \"x\"".into(), eq(&["name", "givenName"], "x")),
            ("userName pr".into(), Filter::Present(string(&["userName"]))),
            ("userName PR".into(), Filter::Present(string(&["userName"]))),
            (
                "id eq \"2819c223\"".into(),
                cmp(Attr::new(&["id"], AttrType::String, true), CompareOp::Eq, Value::String("2819c223".into())),
            ),
            (
                "active eq true".into(),
                cmp(Attr::new(&["active"], AttrType::Boolean, false), CompareOp::Eq, Value::Boolean(true)),
            ),
            (
                "active ne FALSE".into(),
                cmp(Attr::new(&["active"], AttrType::Boolean, false), CompareOp::Ne, Value::Boolean(false)),
            ),
            (
                "meta.lastModified gt \"2011-05-13T04:42:34Z\"".into(),
                cmp(
                    Attr::new(&["meta", "lastModified"], AttrType::DateTime, false),
                    CompareOp::Gt,
                    utc(2011, 5, 13, 4, 42, 34),
                ),
            ),
            (
                "meta.created le \"2011-05-13T04:42:34+02:00\"".into(),
                cmp(
                    Attr::new(&["meta", "created"], AttrType::DateTime, false),
                    CompareOp::Le,
                    utc(2011, 5, 13, 2, 42, 34),
                ),
            ),
            ("displayName eq null".into(), cmp(string(&["displayName"]), CompareOp::Eq, Value::Null)),
            ("displayName NE NULL".into(), cmp(string(&["displayName"]), CompareOp::Ne, Value::Null)),
            (r##"title eq "a \"q\" \\ caf\u00e9 ([""##.into(), eq(&["title"], "a \"q\" \\ café ([")),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName sw \"J\"".into(),
                cmp(string(&["name", "familyName"]), CompareOp::Sw, Value::String("J".into())),
            ),
            (format!("{ENT}:department eq \"Tour\""), eq(&[ENT, "department"], "Tour")),
            (
                "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:DEPARTMENT eq \"T\"".into(),
                eq(&[ENT, "department"], "T"),
            ),
            (format!("{manager}.value eq \"26118915\""), eq(&[ENT, "manager", "value"], "26118915")),
            (
                format!("{manager}[value eq \"1\" or $REF pr]"),
                Filter::or(
                    eq(&[ENT, "manager", "value"], "1"),
                    Filter::Present(Attr::new(&[ENT, "manager", "$ref"], AttrType::Reference, true)),
                ),
            ),
            (
                "emails.value co \"@example.com\"".into(),
                emails(cmp(string(&["value"]), CompareOp::Co, Value::String("@example.com".into()))),
            ),
            ("emails.type pr".into(), emails(Filter::Present(string(&["type"])))),
            ("emails eq \"x\"".into(), emails(eq(&["value"], "x"))),
            ("emails co \"@x\"".into(), emails(cmp(string(&["value"]), CompareOp::Co, Value::String("@x".into())))),
            ("emails pr".into(), Filter::Present(Attr::new(&["emails"], AttrType::Complex, false))),
            (
                "emails.primary eq true".into(),
                emails(cmp(Attr::new(&["primary"], AttrType::Boolean, false), CompareOp::Eq, Value::Boolean(true))),
            ),
            (
                "emails[type eq \"work\" and value co \"@x\"]".into(),
                emails(Filter::and(
                    eq(&["type"], "work"),
                    cmp(string(&["value"]), CompareOp::Co, Value::String("@x".into())),
                )),
            ),
            ("EMAILS[ TYPE eq \"work\" ]".into(), emails(eq(&["type"], "work"))),
            ("emails[not (type eq \"work\")]".into(), emails(Filter::not(eq(&["type"], "work")))),
            (
                "name[givenName eq \"x\" or familyName eq \"y\"] and userName eq \"a\"".into(),
                Filter::and(Filter::or(eq(&["name", "givenName"], "x"), eq(&["name", "familyName"], "y")), a()),
            ),
            (
                "groups.$ref pr".into(),
                some(&["groups"], Filter::Present(Attr::new(&["$ref"], AttrType::Reference, true))),
            ),
            (
                "x509Certificates.value eq \"TUlJ\"".into(),
                some(
                    &["x509Certificates"],
                    cmp(Attr::new(&["value"], AttrType::Binary, false), CompareOp::Eq, Value::String("TUlJ".into())),
                ),
            ),
            (
                "userName eq \"a\" or displayName eq \"b\" and title eq \"c\"".into(),
                Filter::or(a(), Filter::and(b(), c())),
            ),
            (
                "userName eq \"a\" and displayName eq \"b\" or title eq \"c\"".into(),
                Filter::or(Filter::and(a(), b()), c()),
            ),
            (
                "(userName eq \"a\" or displayName eq \"b\") and title eq \"c\"".into(),
                Filter::and(Filter::or(a(), b()), c()),
            ),
            (
                "userName eq \"a\" or displayName eq \"b\" or title eq \"c\"".into(),
                Filter::or(Filter::or(a(), b()), c()),
            ),
            ("not (userName eq \"a\")".into(), Filter::not(a())),
            ("NOT(userName eq \"a\")".into(), Filter::not(a())),
            ("not (userName eq \"a\") and displayName eq \"b\"".into(), Filter::and(Filter::not(a()), b())),
            (
                "not (not (userName eq \"a\" or displayName eq \"b\"))".into(),
                Filter::not(Filter::not(Filter::or(a(), b()))),
            ),
            ("\t userName  eq\t\"a\"  ".into(), a()),
            ("((userName eq \"a\"))".into(), a()),
            ("userName eq \"a\"and(displayName eq \"b\")".into(), Filter::and(a(), b())),
        ];
        for (text, want) in cases {
            assert_eq!(parse_filter(&text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_filters_say_what_was_expected_and_where() {
        let cases: &[(&str, &str)] = &[
            ("", "expected an attribute name, 'not' or '(' at the end of the filter (character 1)"),
            ("   ", "expected an attribute name, 'not' or '(' at the end of the filter (character 4)"),
            ("userName", "expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr) at the end"),
            ("userName eq", "expected a value (a string, number, true, false or null) at the end"),
            (
                "userName xx \"a\"",
                "expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr) at character 10, found 'xx'",
            ),
            ("userName eq (", "expected a value (a string, number, true, false or null) at character 13, found '('"),
            (
                "userName eq \"a\" garbage",
                "expected 'and', 'or' or the end of the filter at character 17, found 'garbage'",
            ),
            (
                "userName eq \"a\" and",
                "expected an attribute name, 'not' or '(' at the end of the filter (character 20)",
            ),
            ("userName eq \"a\" or )", "at character 20, found ')'"),
            ("(userName eq \"a\"", "expected ')' or 'and'/'or' at the end of the filter"),
            ("userName eq \"a\")", "expected 'and', 'or' or the end of the filter at character 16, found ')'"),
            ("emails[type eq \"work\"", "expected ']' or 'and'/'or' at the end of the filter"),
            ("emails[type eq \"work\"]]", "found ']'"),
            ("emails[type eq \"work\")", "expected ']' or 'and'/'or' at character 22, found ')'"),
            ("emails[type eq \"work\"].value eq \"x\"", "found '.value'"),
            ("userName eq \"abc", "unterminated string starting at character 13"),
            ("userName eq \"a\\x\"", "invalid string starting at character 13"),
            ("\"userName\" eq \"x\"", "expected an attribute name, 'not' or '(' at character 1, found '\"userName\"'"),
            ("not userName eq \"x\"", "expected '(' after 'not' at character 5, found 'userName'"),
            ("nope eq \"x\"", "unknown attribute 'nope'"),
            ("name.nope pr", "unknown attribute 'name.nope'"),
            ("emails[nope eq \"x\"]", "unknown attribute 'nope': 'emails' has no such sub-attribute"),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq \"x\"", "unknown attribute"),
            ("emails[value[type eq \"x\"]]", "value filters cannot nest: '[' at character 13"),
            ("userName[value eq \"x\"]", "'userName' has no sub-attributes to filter with '[...]'"),
            ("name.givenName[x eq \"y\"]", "'name.givenName' has no sub-attributes"),
            ("name eq \"x\"", "'name' is complex and cannot be compared"),
            ("meta eq \"x\"", "'meta' is complex"),
            ("userName eq 1", "'userName' expects a string in double quotes, found '1' at character 13"),
            ("userName eq true", "'userName' expects a string"),
            ("userName eq bjensen", "'userName' expects a string"),
            ("active eq \"true\"", "'active' expects true or false, found '\"true\"'"),
            ("active eq 1", "'active' expects true or false"),
            ("emails.primary eq \"yes\"", "'emails.primary' expects true or false"),
            ("emails[primary eq 1]", "'emails.primary' expects true or false"),
            ("meta.lastModified gt \"yesterday\"", "'meta.lastModified' expects an RFC 3339 date-time string"),
            ("meta.lastModified gt 5", "expects an RFC 3339 date-time string"),
            ("active co true", "'active' cannot be compared with 'co'"),
            ("active gt true", "'active' cannot be compared with 'gt'"),
            ("emails.primary le false", "cannot be compared with 'le'"),
            ("meta.lastModified sw \"2011\"", "'meta.lastModified' cannot be compared with 'sw'"),
            ("meta.created ew \"Z\"", "cannot be compared with 'ew'"),
            ("x509Certificates.value gt \"a\"", "cannot be compared with 'gt'"),
            ("x509Certificates.value ge \"a\"", "cannot be compared with 'ge'"),
            ("userName gt null", "can be compared with null only by 'eq' or 'ne'"),
            ("active co null", "cannot be compared with 'co'"),
        ];
        for (text, detail) in cases {
            let err = parse_filter(text).expect_err(text);
            assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{text}");
            assert_eq!(err.status, 400);
            assert!(err.detail.contains(detail), "{text}: {}", err.detail);
        }
    }

    #[test]
    fn numbers_type_for_numeric_attributes() {
        let num = |ty, op, w| typed_value(ty, op, &Kind::Word(w));
        assert_eq!(num(AttrType::Integer, CompareOp::Eq, "42"), Ok(Value::Number(42.0)));
        assert_eq!(num(AttrType::Decimal, CompareOp::Gt, "-1.5e3"), Ok(Value::Number(-1500.0)));
        assert_eq!(num(AttrType::Decimal, CompareOp::Le, "0"), Ok(Value::Number(0.0)));
        assert_eq!(num(AttrType::Integer, CompareOp::Ne, "null"), Ok(Value::Null));
        for bad in ["0x10", "+1", "1.", "01", "NaN", "1e400", "true"] {
            assert!(num(AttrType::Integer, CompareOp::Eq, bad).is_err(), "{bad}");
        }
        assert!(num(AttrType::Integer, CompareOp::Co, "1").is_err());
        assert!(typed_value(AttrType::Decimal, CompareOp::Eq, &Kind::Str("1".into())).is_err());
    }

    #[test]
    fn length_is_bounded_in_characters() {
        let padded = |len: usize| format!("userName eq \"{}\"", "é".repeat(len - 14));
        assert!(parse_filter(&padded(MAX_FILTER_LEN)).is_ok());
        assert_eq!(
            parse_filter(&padded(MAX_FILTER_LEN + 1)),
            Err(ScimError::invalid_filter("filter is longer than 2048 characters"))
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let parens = |n: usize| format!("{}userName pr{}", "(".repeat(n), ")".repeat(n));
        assert!(parse_filter(&parens(MAX_FILTER_DEPTH)).is_ok());
        let deep = parse_filter(&parens(MAX_FILTER_DEPTH + 1)).unwrap_err();
        assert_eq!(deep.scim_type, Some(ScimType::InvalidFilter));
        assert!(deep.detail.contains("deeper than 10"), "{}", deep.detail);
        // Unbalanced input is refused on depth before the missing ')' is noticed.
        assert!(parse_filter(&"(".repeat(2000)).unwrap_err().detail.contains("deeper"));

        let with_bracket = |n: usize| format!("{}emails[type eq \"w\"]{}", "(".repeat(n), ")".repeat(n));
        assert!(parse_filter(&with_bracket(MAX_FILTER_DEPTH - 1)).is_ok());
        assert!(parse_filter(&with_bracket(MAX_FILTER_DEPTH)).is_err());

        // Brackets inside strings are text, not nesting.
        let quoted = format!("userName eq \"{}\\\"{}\"", "(".repeat(30), "[".repeat(30));
        assert!(parse_filter(&quoted).is_ok());

        // `not` counts as a level of its own, besides its parentheses.
        let nots = |n: usize| format!("{}userName pr{}", "not (".repeat(n), ")".repeat(n));
        assert!(parse_filter(&nots(MAX_FILTER_DEPTH / 2)).is_ok());
        let deep = parse_filter(&nots(MAX_FILTER_DEPTH / 2 + 1)).unwrap_err();
        assert!(deep.detail.contains("'not'"), "{}", deep.detail);
    }

    #[test]
    fn long_flat_chains_are_fine() {
        for joiner in [" or ", " and "] {
            let terms = MAX_FILTER_LEN / ("userName pr".len() + joiner.len());
            let text = vec!["userName pr"; terms].join(joiner);
            let filter = parse_filter(&text).unwrap();
            assert_eq!(filter.depth(), terms - 1);
            assert!(matches(&filter, &json!({"userName": "x"})));
        }
    }

    #[test]
    fn matching_evaluates_filters_over_json() {
        let doc = json!({
            "id": "AbC",
            "userName": "BJensen",
            "displayName": "",
            "active": true,
            "name": {"givenName": "Barbara"},
            "emails": [
                {"value": "b@Example.com", "type": "work", "primary": true},
                {"value": "b@home.org", "type": "home"}
            ],
            "meta": {"lastModified": "2011-05-13T04:42:34Z"},
            ENT: {"department": "Tour", "manager": {"value": "m1"}}
        });
        let cases: &[(&str, bool)] = &[
            ("userName eq \"bjensen\"", true),
            ("userName ne \"bjensen\"", false),
            ("userName co \"JENS\"", true),
            ("userName sw \"bj\"", true),
            ("userName ew \"SEN\"", true),
            ("userName ew \"bj\"", false),
            ("userName gt \"a\"", true),
            ("userName lt \"a\"", false),
            ("userName ge \"BJENSEN\"", true),
            ("userName le \"bjensen\"", true),
            ("id eq \"abc\"", false),
            ("id eq \"AbC\"", true),
            ("nickName eq \"x\"", false),
            ("nickName ne \"x\"", true),
            ("nickName eq null", true),
            ("userName eq null", false),
            ("userName ne null", true),
            ("userName pr", true),
            ("displayName pr", false),
            ("nickName pr", false),
            ("active eq true", true),
            ("active ne true", false),
            ("emails pr", true),
            ("phoneNumbers pr", false),
            ("emails[type eq \"work\" and value co \"example.com\"]", true),
            ("emails[type eq \"home\" and value co \"example.com\"]", false),
            ("emails[type eq \"other\"]", false),
            ("emails.value ew \".ORG\"", true),
            ("emails co \"@home\"", true),
            ("emails[primary eq true]", true),
            ("emails[not (primary pr)]", true),
            ("emails[primary eq false]", false),
            ("name.givenName sw \"bar\"", true),
            ("name[givenName eq \"barbara\"]", true),
            ("not (active eq true)", false),
            ("active eq false or userName pr", true),
            ("active eq false and userName pr", false),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"tour\"", true),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"m1\"", true),
            ("meta.lastModified gt \"2011-01-01T00:00:00Z\"", true),
            ("meta.lastModified eq \"2011-05-13T06:42:34+02:00\"", true),
            ("meta.lastModified lt \"2011-01-01T00:00:00Z\"", false),
        ];
        for (text, want) in cases {
            assert_eq!(matches(&parse_filter(text).unwrap(), &doc), *want, "{text}");
        }
        // A value of the wrong JSON type is unequal to everything.
        let active = |op| cmp(Attr::new(&["active"], AttrType::Boolean, false), op, Value::String("true".into()));
        assert!(!matches(&active(CompareOp::Eq), &doc));
        assert!(matches(&active(CompareOp::Ne), &doc));
        let count = |n: f64, op| cmp(Attr::new(&["n"], AttrType::Integer, false), op, Value::Number(n));
        assert!(matches(&count(2.0, CompareOp::Lt), &json!({"n": 1})));
        assert!(!matches(&count(2.0, CompareOp::Co), &json!({"n": 1})));
        assert!(matches(&count(1.0, CompareOp::Eq), &json!({"N": 1.0})));
    }

    /// Prints a filter as text that parses back to it.
    fn print(filter: &Filter) -> String {
        let name = |attr: &Attr| match attr.path.split_first() {
            Some((first, rest)) if first == ENT => format!("{ENT}:{}", rest.join(".")),
            _ => attr.dotted(),
        };
        match filter {
            Filter::And(a, b) => format!("({} and {})", print(a), print(b)),
            Filter::Or(a, b) => format!("({} or {})", print(a), print(b)),
            Filter::Not(a) => format!("not ({})", print(a)),
            Filter::Present(attr) => format!("{} pr", name(attr)),
            Filter::Any { attr, filter } => format!("{}[{}]", name(attr), print(filter)),
            Filter::Compare { attr, op, value } => {
                let value = match value {
                    Value::String(s) => json!(s).to_string(),
                    Value::Boolean(b) => b.to_string(),
                    Value::Number(n) => json!(n).to_string(),
                    Value::DateTime(t) => json!(t.to_rfc3339()).to_string(),
                    Value::Null => "null".into(),
                };
                format!("{} {} {value}", name(attr), op_name(*op))
            }
        }
    }

    fn any_op(ops: &'static [CompareOp]) -> impl Strategy<Value = CompareOp> {
        prop::sample::select(ops)
    }

    const ALL: &[CompareOp] = &[
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];
    const ORDERED: &[CompareOp] =
        &[CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le];
    const EQUALITY: &[CompareOp] = &[CompareOp::Eq, CompareOp::Ne];

    fn text() -> impl Strategy<Value = String> {
        "[a-zé\"\\\\ ()\\[\\]\t\u{1}-]{0,8}"
    }

    /// A comparison or presence test on a string attribute at `path`.
    fn string_test(path: Vec<&'static str>, case_exact: bool) -> impl Strategy<Value = Filter> {
        let attr = Attr::new(&path, AttrType::String, case_exact);
        let present = Filter::Present(attr.clone());
        prop_oneof![
            Just(present),
            (any_op(ALL), text()).prop_map({
                let attr = attr.clone();
                move |(op, s)| cmp(attr.clone(), op, Value::String(s))
            }),
            any_op(EQUALITY).prop_map(move |op| cmp(attr.clone(), op, Value::Null)),
        ]
    }

    fn boolean_test(path: Vec<&'static str>) -> impl Strategy<Value = Filter> {
        let attr = Attr::new(&path, AttrType::Boolean, false);
        (any_op(EQUALITY), any::<bool>()).prop_map(move |(op, b)| cmp(attr.clone(), op, Value::Boolean(b)))
    }

    fn leaf() -> impl Strategy<Value = Filter> {
        let element = prop_oneof![
            string_test(vec!["value"], false),
            string_test(vec!["type"], false),
            boolean_test(vec!["primary"]),
        ];
        let element = prop_oneof![element.clone(), (element.clone(), element).prop_map(|(a, b)| Filter::or(a, b)),];
        let last_modified = Attr::new(&["meta", "lastModified"], AttrType::DateTime, false);
        prop_oneof![
            string_test(vec!["userName"], false),
            string_test(vec!["id"], true),
            string_test(vec!["name", "givenName"], false),
            string_test(vec![ENT, "department"], false),
            string_test(vec![ENT, "manager", "value"], false),
            boolean_test(vec!["active"]),
            (any_op(ORDERED), 0i64..4_000_000_000).prop_filter_map("valid time", move |(op, s)| {
                let t = DateTime::from_timestamp(s, 0)?;
                Some(cmp(last_modified.clone(), op, Value::DateTime(t)))
            }),
            element.prop_map(|inner| some(&["emails"], inner)),
        ]
    }

    fn typed_filter() -> impl Strategy<Value = Filter> {
        leaf().prop_recursive(3, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::and(a, b)),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::or(a, b)),
                inner.prop_map(Filter::not),
            ]
        })
    }

    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "(",
            ")",
            "[",
            "]",
            "not",
            "and",
            "or",
            "pr",
            "eq",
            "co",
            "gt",
            "userName",
            "emails",
            "emails.value",
            "name",
            "type",
            "value",
            "active",
            "meta.lastModified",
            "\"x\"",
            "\"2011-05-13T04:42:34Z\"",
            "\"",
            "\\",
            "true",
            "null",
            "1.5",
            "-",
            ".",
            ":",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "é",
            "\t",
        ])
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = parse_filter(&text);
        }

        #[test]
        fn never_panics_on_token_soup(
            tokens in prop::collection::vec(token(), 0..40),
            spaced in any::<bool>(),
        ) {
            let text = tokens.join(if spaced { " " } else { "" });
            if let Ok(filter) = parse_filter(&text) {
                prop_assert!(filter.depth() < text.len());
            }
        }

        #[test]
        fn printed_filters_parse_back(filter in typed_filter()) {
            let text = print(&filter);
            prop_assert_eq!(parse_filter(&text), Ok(filter), "{}", text);
        }
    }
}
