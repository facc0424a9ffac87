//! People Finder's teams (`teams`, migration 0014): read whole (there are hundreds, not
//! millions), written one at a time, each write taking the root's row first so that two moves
//! can never make a loop between them.

use identity_core::team::{slugify, LeadersOrdering, Team, TeamRefusal, TeamType, Tree};
use sqlx::query::Query;
use sqlx::{Database, Row as _};

use super::rows::corrupt;
use super::{ended, Backend, Conn, Db, Row, DIALECT};
use crate::error::{Result, StoreError};
use crate::model::TeamUpdate;

const COLUMNS: &str = "slug, name, abbreviation, description, leaders_ordering, cost_code, team_type, parent";

fn team_of(row: &Row) -> Result<Team> {
    let ordering: String = row.try_get("leaders_ordering")?;
    let kind: String = row.try_get("team_type")?;
    Ok(Team {
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        abbreviation: row.try_get("abbreviation")?,
        description: row.try_get("description")?,
        leaders_ordering: LeadersOrdering::parse(&ordering)
            .ok_or_else(|| corrupt("teams.leaders_ordering", ordering))?,
        cost_code: row.try_get("cost_code")?,
        team_type: TeamType::parse(&kind).ok_or_else(|| corrupt("teams.team_type", kind))?,
        parent: row.try_get("parent")?,
    })
}

/// Every team, with the root's row locked: team writes take turns.
async fn locked_tree(tx: &mut Conn) -> Result<Vec<Team>> {
    let lock = format!("SELECT slug FROM teams WHERE parent IS NULL{}", DIALECT.for_update());
    sqlx::query(&lock).fetch_all(&mut *tx).await?;
    let all = sqlx::query(&format!("SELECT {COLUMNS} FROM teams")).fetch_all(&mut *tx).await?;
    all.iter().map(team_of).collect()
}

/// `team`'s columns bound in [`COLUMNS`]' order.
fn with_team<'q>(
    query: Query<'q, Db, <Db as Database>::Arguments<'q>>,
    team: &'q Team,
) -> Query<'q, Db, <Db as Database>::Arguments<'q>> {
    query
        .bind(&team.slug)
        .bind(&team.name)
        .bind(&team.abbreviation)
        .bind(&team.description)
        .bind(team.leaders_ordering.as_str())
        .bind(&team.cost_code)
        .bind(team.team_type.as_str())
        .bind(&team.parent)
}

fn refused(r: TeamRefusal) -> StoreError {
    StoreError::TeamRefused(r)
}

async fn create_in(tx: &mut Conn, team: &Team) -> Result<()> {
    let all = locked_tree(tx).await?;
    let tree = Tree::new(&all);
    if team.parent.as_deref().and_then(|p| tree.get(p)).is_none() {
        return Err(refused(TeamRefusal::NoParent));
    }
    if tree.get(&team.slug).is_some() {
        return Err(refused(TeamRefusal::SlugTaken));
    }
    let sql = format!("INSERT INTO teams ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
    with_team(sqlx::query(&sql), team).execute(&mut *tx).await?;
    Ok(())
}

async fn update_in(tx: &mut Conn, slug: &str, u: &TeamUpdate) -> Result<Team> {
    let all = locked_tree(tx).await?;
    let tree = Tree::new(&all);
    // As People Finder: the parent is looked for before the team.
    if let Some(parent) = &u.parent {
        if tree.get(parent).is_none() {
            return Err(refused(TeamRefusal::NoParent));
        }
    }
    let mut team = tree.get(slug).cloned().ok_or_else(|| refused(TeamRefusal::NoTeam))?;
    if let Some(parent) = u.parent.as_deref().filter(|p| team.parent.as_deref() != Some(*p)) {
        tree.check_move(slug, parent).map_err(|e| refused(TeamRefusal::Move(e)))?;
        team.parent = Some(parent.to_owned());
    }
    // A new slug, given or made from a new name; one taken is made again with the parent's name.
    if let Some(wanted) = u.slug.as_deref().or(u.name.as_deref()).map(slugify).filter(|s| s != slug) {
        let parent_name = team.parent.as_deref().and_then(|p| tree.get(p)).map(|p| p.name.as_str());
        let free = |s: &String| tree.get(s).is_none();
        let chosen = Some(wanted.clone())
            .filter(free)
            .or_else(|| parent_name.map(|p| slugify(&format!("{p} {wanted}"))).filter(free))
            .ok_or_else(|| refused(TeamRefusal::SlugTaken))?;
        team.slug = chosen;
    }
    if let Some(name) = &u.name {
        team.name = name.clone();
    }
    if let Some(v) = &u.abbreviation {
        team.abbreviation = v.clone();
    }
    if let Some(v) = &u.description {
        team.description = v.clone();
    }
    if let Some(v) = &u.cost_code {
        team.cost_code = v.clone();
    }
    team.leaders_ordering = u.leaders_ordering.unwrap_or(team.leaders_ordering);
    team.team_type = u.team_type.unwrap_or(team.team_type);
    let sql = "UPDATE teams SET slug = $1, name = $2, abbreviation = $3, description = $4, leaders_ordering = $5, \
               cost_code = $6, team_type = $7, parent = $8 WHERE slug = $9";
    with_team(sqlx::query(sql), &team).bind(slug).execute(&mut *tx).await?;
    Ok(team)
}

impl Backend {
    pub(crate) async fn teams(&self) -> Result<Vec<Team>> {
        let sql = format!("SELECT {COLUMNS} FROM teams");
        self.conns.fetch_all(sqlx::query(&sql)).await?.iter().map(team_of).collect()
    }

    pub(crate) async fn team_create(&self, team: &Team) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let created = create_in(&mut tx, team).await;
        ended(tx, created).await
    }

    pub(crate) async fn team_update(&self, slug: &str, update: &TeamUpdate) -> Result<Team> {
        let mut tx = self.begin_write().await?;
        let updated = update_in(&mut tx, slug, update).await;
        ended(tx, updated).await
    }
}
