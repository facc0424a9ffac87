//! People Finder's teams under `/api/peoplefinder/teams`: the tree from its root, a team with its
//! parents, a new team under a parent, a team changed or moved. Bodies and messages are the seed
//! system's; where it answered a refusal with 404 (a slug taken, a move that would break the
//! tree) identity answers 409, and a field a change leaves out keeps its value (it set it to
//! nothing, and failed on the ones that cannot be empty).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use identity_core::team::{slugify, LeadersOrdering, Team, TeamRefusal, TeamType, Tree, MAX_SLUG};
use identity_store::{StoreError, TeamUpdate};
use serde_json::{json, Map, Value};

use crate::reference;
use crate::request::Problem;
use crate::routes::{detached, failed, invalid, message, AppState};

/// People Finder's name for the body, in every `loc`.
const BODY: &str = "team_request";

const NO_TEAM: &str = "People finder team does not exist";

fn minimal(t: &Team) -> Value {
    json!({ "slug": t.slug, "name": t.name, "abbreviation": t.abbreviation })
}

fn parents(tree: &Tree<'_>, slug: &str) -> Value {
    let parents: Vec<Value> = tree
        .parents(slug)
        .into_iter()
        .map(|(t, depth)| json!({ "slug": t.slug, "name": t.name, "abbreviation": t.abbreviation, "depth": depth }))
        .collect();
    Value::Array(parents)
}

/// A team and everything under it, nested.
fn hierarchy(tree: &Tree<'_>, t: &Team, depth: usize) -> Value {
    let mut v = minimal(t);
    // The tree is checked on every move; the bound only guards against a stored loop.
    let children: Vec<Value> = if depth < 64 {
        tree.children(&t.slug).into_iter().map(|c| hierarchy(tree, c, depth + 1)).collect()
    } else {
        Vec::new()
    };
    v["children"] = Value::Array(children);
    v
}

/// `GET /teams`: the whole tree from the root.
pub async fn tree(State(s): State<AppState>) -> Response {
    let teams = match s.0.store.teams().await {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    let tree = Tree::new(&teams);
    match tree.root() {
        Some(root) => Json(hierarchy(&tree, root, 0)).into_response(),
        None => message(StatusCode::INTERNAL_SERVER_ERROR, "Could not get the team hierarchy, reason: no root team"),
    }
}

/// `GET /teams/{slug}`: a team with its parents, nearest first.
pub async fn read(State(s): State<AppState>, Path(slug): Path<String>) -> Response {
    let teams = match s.0.store.teams().await {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    let tree = Tree::new(&teams);
    match tree.get(&slug) {
        Some(t) => {
            let mut v = minimal(t);
            v["parents"] = parents(&tree, &t.slug);
            Json(v).into_response()
        }
        None => message(StatusCode::NOT_FOUND, NO_TEAM),
    }
}

/// The fields of a team request, checked; every problem at once.
struct Fields<'a> {
    given: &'a Map<String, Value>,
    problems: Vec<Problem>,
}

impl<'a> Fields<'a> {
    fn of(body: &'a Value) -> Result<Self, Vec<Problem>> {
        match body {
            Value::Object(given) => Ok(Self { given, problems: Vec::new() }),
            _ => Err(vec![Problem::not_an_object(BODY)]),
        }
    }

    /// A text field: `None` when not given, `Some(None)` when given as null.
    fn text(&mut self, name: &str, max: usize, required: bool) -> Option<Option<String>> {
        match self.given.get(name) {
            None if required => {
                self.problems.push(Problem::in_body(BODY, name, "missing", "Field required"));
                None
            }
            None => None,
            Some(Value::Null) if required => {
                self.problems.push(Problem::in_body(BODY, name, "string_type", "Input should be a valid string"));
                None
            }
            Some(Value::Null) => Some(None),
            Some(Value::String(t)) if t.chars().count() > max => {
                self.problems.push(Problem::in_body(
                    BODY,
                    name,
                    "string_too_long",
                    format!("String should have at most {max} characters"),
                ));
                None
            }
            Some(Value::String(t)) if t.contains('\0') => {
                self.problems.push(Problem::in_body(
                    BODY,
                    name,
                    "value_error",
                    "Value error, text may not contain NUL characters",
                ));
                None
            }
            Some(Value::String(t)) => Some(Some(t.clone())),
            Some(_) => {
                self.problems.push(Problem::in_body(BODY, name, "string_type", "Input should be a valid string"));
                None
            }
        }
    }

    /// A slug field, as People Finder makes it from what is given.
    fn slug(&mut self, name: &str, required: bool) -> Option<String> {
        let text = self.text(name, MAX_SLUG, required).flatten()?;
        let slug = slugify(&text);
        if slug.is_empty() {
            self.problems.push(Problem::in_body(
                BODY,
                name,
                "value_error",
                "Value error, a slug needs a letter or a digit",
            ));
            return None;
        }
        Some(slug)
    }

    fn choice<T: Copy>(&mut self, name: &str, parse: fn(&str) -> Option<T>, keys: &[&str]) -> Option<T> {
        match self.given.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_str().and_then(parse) {
                Some(c) => Some(c),
                None => {
                    self.problems
                        .push(Problem::not_one_of(Problem::loc(BODY, name), reference::expected(keys.iter().copied())));
                    None
                }
            },
        }
    }

    fn done<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(self.problems)
        }
    }
}

const ORDERINGS: &[&str] = &["alphabetical", "custom"];
const TYPES: &[&str] = &["standard", "directorate", "portfolio"];

/// The body as JSON; none when it is not JSON at all (400, as the seed system answers).
fn body_of(body: &Bytes) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

fn not_json() -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "detail": "Cannot parse request body" }))).into_response()
}

fn new_team(body: &Value) -> Result<Team, Vec<Problem>> {
    let mut f = Fields::of(body)?;
    let slug = f.slug("slug", true);
    let name = f.text("name", 255, true).flatten();
    let parent = f.slug("parent_slug", true);
    let abbreviation = f.text("abbreviation", 20, false).flatten();
    let description = f.text("description", 5000, false).flatten();
    let cost_code = f.text("cost_code", 20, false).flatten();
    let leaders_ordering = f.choice("leaders_ordering", LeadersOrdering::parse, ORDERINGS);
    let team_type = f.choice("team_type", TeamType::parse, TYPES);
    let team = Team {
        slug: slug.unwrap_or_default(),
        name: name.unwrap_or_default(),
        abbreviation,
        description,
        leaders_ordering: leaders_ordering.unwrap_or(LeadersOrdering::Alphabetical),
        cost_code,
        team_type: team_type.unwrap_or(TeamType::Standard),
        parent,
    };
    f.done(team)
}

fn team_update(body: &Value) -> Result<TeamUpdate, Vec<Problem>> {
    let mut f = Fields::of(body)?;
    let update = TeamUpdate {
        slug: f.slug("slug", false),
        name: f.text("name", 255, false).flatten(),
        abbreviation: f.text("abbreviation", 20, false),
        description: f.text("description", 5000, false),
        cost_code: f.text("cost_code", 20, false),
        leaders_ordering: f.choice("leaders_ordering", LeadersOrdering::parse, ORDERINGS),
        team_type: f.choice("team_type", TeamType::parse, TYPES),
        parent: f.slug("parent_slug", false),
    };
    f.done(update)
}

fn refusal(r: &TeamRefusal, creating: bool) -> Response {
    match r {
        TeamRefusal::NoParent if creating => {
            message(StatusCode::NOT_FOUND, "Cannot create the people finder team, parent team does not exist")
        }
        TeamRefusal::NoParent => {
            message(StatusCode::NOT_FOUND, "Cannot update the people finder team, parent team does not exist")
        }
        TeamRefusal::NoTeam => message(StatusCode::NOT_FOUND, NO_TEAM),
        TeamRefusal::SlugTaken => message(StatusCode::CONFLICT, "Team has been previously created"),
        TeamRefusal::Move(e) => message(StatusCode::CONFLICT, &e.to_string()),
    }
}

/// `POST /teams`: a new team under `parent_slug`.
pub async fn create(State(s): State<AppState>, body: Bytes) -> Response {
    let Some(body) = body_of(&body) else { return not_json() };
    let team = match new_team(&body) {
        Ok(t) => t,
        Err(problems) => return invalid(&problems),
    };
    let (store, new) = (s.0.store.clone(), team.clone());
    match detached(async move { store.team_create(&new).await }).await {
        Ok(()) => (StatusCode::CREATED, Json(minimal(&team))).into_response(),
        Err(StoreError::TeamRefused(r)) => refusal(&r, true),
        Err(e) => failed(&e),
    }
}

/// `PUT /teams/{slug}`: the fields given changed; a new `parent_slug` moves the team.
pub async fn update(State(s): State<AppState>, Path(slug): Path<String>, body: Bytes) -> Response {
    let Some(body) = body_of(&body) else { return not_json() };
    let update = match team_update(&body) {
        Ok(u) => u,
        Err(problems) => return invalid(&problems),
    };
    let store = s.0.store.clone();
    let team = match detached(async move { store.team_update(&slug, &update).await }).await {
        Ok(t) => t,
        Err(StoreError::TeamRefused(r)) => return refusal(&r, false),
        Err(e) => return failed(&e),
    };
    let teams = match s.0.store.teams().await {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    let tree = Tree::new(&teams);
    Json(json!({
        "slug": team.slug,
        "name": team.name,
        "abbreviation": team.abbreviation,
        "description": team.description,
        "leaders_ordering": team.leaders_ordering.as_str(),
        "cost_code": team.cost_code,
        "team_type": team.team_type.as_str(),
        "parents": parents(&tree, &team.slug),
    }))
    .into_response()
}
