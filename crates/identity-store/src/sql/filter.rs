//! A typed filter (`identity_core::query`) as SQL over SCIM's users: `u` is `users`, `p` the
//! user's `sso` profile. A few attributes live in columns (`id`, `userName` through its link,
//! `active` as the status, `meta` times); the rest are read from the profile's JSON document.
//!
//! Every leaf on a document value is wrapped in `coalesce(…, FALSE)` so that an absent attribute
//! makes a comparison false rather than SQL's NULL, and `not (title eq "x")` matches users
//! without a title. Column leaves are never NULL and stay bare, so indexes still apply.

use identity_core::normalize::case_insensitive_key;
use identity_core::query::{Attr, AttrType, CompareOp, Filter, SortOrder, Value};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Db, DIALECT};
use crate::error::{Result, StoreError};

type Qb<'a> = QueryBuilder<'a, Db>;

/// Where an attribute's value is read from.
enum Target {
    Id,
    UserName,
    Active,
    /// A timestamp column.
    Time(&'static str),
    /// A fixed text (`meta.resourceType`).
    Constant(&'static str),
    /// A value in a JSON document: `doc` is an SQL expression, `path` a path literal.
    Json {
        doc: String,
        path: String,
    },
}

impl Target {
    /// Whether the value can be absent.
    fn nullable(&self) -> bool {
        matches!(self, Self::Json { .. })
    }
}

fn unsupported(what: impl Into<String>) -> StoreError {
    StoreError::Unsupported(what.into())
}

fn json_target(doc: &str, attr: &Attr) -> Result<Target> {
    let path =
        DIALECT.json_path(&attr.path).ok_or_else(|| unsupported(format!("attribute name {:?}", attr.dotted())))?;
    Ok(Target::Json { doc: doc.to_owned(), path })
}

fn target(attr: &Attr, element: Option<&str>) -> Result<Target> {
    if let Some(doc) = element {
        return json_target(doc, attr);
    }
    let path: Vec<&str> = attr.path.iter().map(String::as_str).collect();
    Ok(match path.as_slice() {
        ["id"] => Target::Id,
        ["userName"] => Target::UserName,
        ["active"] => Target::Active,
        ["meta", "created"] => Target::Time("p.created_at"),
        ["meta", "lastModified"] => Target::Time("p.updated_at"),
        ["meta", "resourceType"] => Target::Constant("'User'"),
        ["meta", ..] => return Err(unsupported(format!("filtering on {}", attr.dotted()))),
        _ => json_target("p.attributes", attr)?,
    })
}

/// Appends `filter` as an SQL condition.
pub(super) fn push_filter(qb: &mut Qb<'_>, filter: &Filter) -> Result<()> {
    push(qb, filter, None)
}

fn push(qb: &mut Qb<'_>, filter: &Filter, element: Option<&str>) -> Result<()> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            let op = if matches!(filter, Filter::And(..)) { " AND " } else { " OR " };
            qb.push("(");
            push(qb, a, element)?;
            qb.push(op);
            push(qb, b, element)?;
            qb.push(")");
        }
        Filter::Not(a) => {
            qb.push("(NOT ");
            push(qb, a, element)?;
            qb.push(")");
        }
        Filter::Present(attr) => {
            let target = target(attr, element)?;
            let nullable = target.nullable();
            if nullable {
                qb.push("coalesce(");
            }
            present(qb, &target);
            if nullable {
                qb.push(", FALSE)");
            }
        }
        Filter::Compare { attr, op, value } => {
            let target = target(attr, element)?;
            // Only values read from a document can be absent (SQL NULL). Wrapping a column
            // comparison in coalesce() would also hide it from the planner: `userName eq` must
            // stay an index lookup.
            let (open, close) = if target.nullable() { ("coalesce(", ", FALSE)") } else { ("(", ")") };
            qb.push(open);
            if *op == CompareOp::Ne {
                // Not equal includes "has no value".
                qb.push("NOT ").push(open);
                compare(qb, &target, attr, CompareOp::Eq, value)?;
                qb.push(close);
            } else {
                compare(qb, &target, attr, *op, value)?;
            }
            qb.push(close);
        }
        Filter::Any { attr, filter } => {
            if element.is_some() {
                return Err(unsupported("a value filter inside a value filter"));
            }
            let path = DIALECT
                .json_path(&attr.path)
                .ok_or_else(|| unsupported(format!("attribute name {:?}", attr.dotted())))?;
            qb.push("EXISTS (SELECT 1 FROM ");
            qb.push(DIALECT.json_elements("p.attributes", &path, "e"));
            qb.push(" WHERE ");
            push(qb, filter, Some(&DIALECT.element_doc("e")))?;
            qb.push(")");
        }
    }
    Ok(())
}

fn present(qb: &mut Qb<'_>, target: &Target) {
    match target {
        // Always present on a SCIM user.
        Target::Id | Target::UserName | Target::Active | Target::Time(_) | Target::Constant(_) => qb.push("TRUE"),
        Target::Json { doc, path } => qb.push(DIALECT.json_present(doc, path)),
    };
}

fn compare(qb: &mut Qb<'_>, target: &Target, attr: &Attr, op: CompareOp, value: &Value) -> Result<()> {
    let mismatch = || unsupported(format!("comparing {} with {value:?}", attr.dotted()));
    if *value == Value::Null {
        // `eq null` asks for "no value"; `ne null` was turned into `not (eq null)` by the caller.
        return match op {
            CompareOp::Eq => {
                qb.push("NOT ");
                present(qb, target);
                Ok(())
            }
            _ => Err(mismatch()),
        };
    }
    match target {
        Target::Id => {
            let Value::String(text) = value else {
                return Err(mismatch());
            };
            match (op, Uuid::parse_str(text)) {
                (CompareOp::Eq, Ok(id)) => {
                    qb.push("u.id = ").push_bind(id);
                }
                // A malformed id matches no user.
                (CompareOp::Eq, Err(_)) => {
                    qb.push("1 = 0");
                }
                _ => return Err(unsupported("id supports only eq, ne and pr")),
            }
        }
        Target::UserName => {
            let Value::String(text) = value else {
                return Err(mismatch());
            };
            qb.push("u.id IN (SELECT l.user_id FROM links l WHERE l.source = 'sso' AND ");
            text_op(qb, "l.external_key", op, case_insensitive_key(text));
            qb.push(")");
        }
        Target::Active => {
            let (CompareOp::Eq, Value::Boolean(active)) = (op, value) else {
                return Err(mismatch());
            };
            qb.push(if *active { "u.status = 'active'" } else { "u.status = 'inactive'" });
        }
        Target::Time(column) => {
            let Value::DateTime(at) = value else {
                return Err(mismatch());
            };
            let sql_op = ordering_op(op).ok_or_else(|| unsupported(format!("{op:?} on {}", attr.dotted())))?;
            qb.push(*column).push(sql_op).push_bind(*at);
        }
        Target::Constant(expr) => {
            let Value::String(text) = value else {
                return Err(mismatch());
            };
            text_op(qb, &DIALECT.fold(expr), op, text.to_ascii_lowercase());
        }
        Target::Json { doc, path } => match (attr.ty, value) {
            (AttrType::Boolean, Value::Boolean(b)) if op == CompareOp::Eq => {
                qb.push(DIALECT.json_bool_is(doc, path, *b));
            }
            (AttrType::Integer | AttrType::Decimal, Value::Number(n)) => {
                let sql_op = ordering_op(op).ok_or_else(|| unsupported(format!("{op:?} on a number")))?;
                qb.push(DIALECT.json_number(doc, path)).push(sql_op).push_bind(*n);
            }
            (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(text)) => {
                let expr = DIALECT.json_text(doc, path);
                if attr.case_exact {
                    text_op(qb, &expr, op, text.clone());
                } else {
                    text_op(qb, &DIALECT.fold(&expr), op, text.to_ascii_lowercase());
                }
            }
            (AttrType::DateTime, Value::DateTime(at)) => {
                let sql_op = ordering_op(op).ok_or_else(|| unsupported(format!("{op:?} on a date")))?;
                // Stored as RFC 3339 text; UTC values of one precision order as text.
                qb.push(DIALECT.json_text(doc, path))
                    .push(sql_op)
                    .push_bind(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
            }
            _ => return Err(mismatch()),
        },
    }
    Ok(())
}

fn ordering_op(op: CompareOp) -> Option<&'static str> {
    match op {
        CompareOp::Eq => Some(" = "),
        CompareOp::Gt => Some(" > "),
        CompareOp::Ge => Some(" >= "),
        CompareOp::Lt => Some(" < "),
        CompareOp::Le => Some(" <= "),
        CompareOp::Ne | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => None,
    }
}

/// A text comparison, case-sensitive on both backends; the caller folds both sides first when
/// the attribute is case-insensitive.
fn text_op(qb: &mut Qb<'_>, expr: &str, op: CompareOp, needle: String) {
    match op {
        CompareOp::Co => {
            qb.push(format!("{}({expr}, ", DIALECT.position_fn())).push_bind(needle).push(") > 0");
        }
        CompareOp::Sw => {
            qb.push(format!("substr({expr}, 1, length(")).push_bind(needle.clone()).push(")) = ").push_bind(needle);
        }
        CompareOp::Ew => {
            qb.push(format!("(length({expr}) >= length(")).push_bind(needle.clone());
            qb.push(format!(") AND substr({expr}, length({expr}) - length(")).push_bind(needle.clone());
            qb.push(") + 1) = ").push_bind(needle).push(")");
        }
        // `Ne` never reaches here (the caller negates `Eq`).
        CompareOp::Eq | CompareOp::Ne => {
            qb.push(expr).push(" = ").push_bind(needle);
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            let sql_op = ordering_op(op).unwrap_or(" = ");
            qb.push(DIALECT.bytewise(expr)).push(sql_op).push_bind(needle);
        }
    }
}

/// Appends `ORDER BY` for a SCIM sort, with the id as the tie-breaker so pages never overlap.
/// Unassigned values sort last ascending and first descending (RFC 7644 §3.4.2.3).
pub(super) fn push_order(qb: &mut Qb<'_>, sort: Option<(&Attr, SortOrder)>) -> Result<()> {
    let Some((attr, order)) = sort else {
        qb.push(" ORDER BY u.id");
        return Ok(());
    };
    let expr = match target(attr, None)? {
        Target::Id => "u.id".to_owned(),
        Target::UserName => DIALECT.fold("p.external_id"),
        Target::Active => "u.status".to_owned(),
        Target::Time(column) => column.to_owned(),
        Target::Constant(expr) => expr.to_owned(),
        Target::Json { doc, path } => match attr.ty {
            AttrType::Integer | AttrType::Decimal => DIALECT.json_number(&doc, &path),
            AttrType::Complex => return Err(unsupported(format!("sorting by {}", attr.dotted()))),
            _ if attr.case_exact => DIALECT.bytewise(&DIALECT.json_text(&doc, &path)),
            _ => DIALECT.fold(&DIALECT.json_text(&doc, &path)),
        },
    };
    let direction = match order {
        SortOrder::Ascending => " ASC NULLS LAST",
        SortOrder::Descending => " DESC NULLS FIRST",
    };
    qb.push(" ORDER BY ").push(expr).push(direction).push(", u.id");
    Ok(())
}
