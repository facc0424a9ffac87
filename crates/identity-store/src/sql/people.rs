//! The api's reads: a person (user, combined profile with the source of each field, links),
//! lookups, keyset listing, and the stored source profiles.

use std::sync::LazyLock;

use identity_core::link::link_key;
use identity_core::{CombinedProfile, DateOfBirth, Email, Link, Source, Sourced, Trn, User, UserId};
use sqlx::{QueryBuilder, Row as _};
use uuid::Uuid;

use super::rows::{self, corrupt};
use super::{write, Backend, Db, Row, DIALECT};
use crate::error::{Result, StoreError};
use crate::model::{LinkHolder, Page, PeopleQuery, Person, RankedProfiles, StoredProfile};

pub(super) static SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT u.id, u.status, u.merged_into, u.created_at, u.updated_at, \
         c.first_name, c.first_name_source, c.middle_name, c.middle_name_source, c.last_name, c.last_name_source, \
         c.preferred_name, c.preferred_name_source, c.display_name, c.display_name_source, c.email, c.email_source, \
         c.date_of_birth, c.date_of_birth_source, c.trn, c.trn_source, c.details, c.version, c.updated_at AS profile_updated_at, \
         {} AS links \
         FROM users u LEFT JOIN combined_profiles c ON c.user_id = u.id",
        DIALECT.links_json("u.id")
    )
});

fn sourced<T>(
    row: &Row,
    (col, source_col): (&str, &str),
    parse: impl Fn(String) -> Result<T>,
) -> Result<Option<Sourced<T>>> {
    let value: Option<String> = row.try_get(col)?;
    let source: Option<String> = row.try_get(source_col)?;
    match (value, source) {
        (Some(value), Some(source)) => {
            Ok(Some(Sourced { value: parse(value)?, source: source.parse().map_err(|e| corrupt(col, e))? }))
        }
        _ => Ok(None),
    }
}

/// The combined profile of a row with `combined_profiles`' value and source columns.
pub(super) fn combined(row: &Row) -> Result<CombinedProfile> {
    let text = |s: String| Ok(s);
    let dob_value: Option<chrono::NaiveDate> = row.try_get("date_of_birth")?;
    let dob_source: Option<String> = row.try_get("date_of_birth_source")?;
    let date_of_birth = match (dob_value, dob_source) {
        (Some(d), Some(s)) => {
            Some(Sourced { value: DateOfBirth::new(d), source: s.parse().map_err(|e| corrupt("date_of_birth", e))? })
        }
        _ => None,
    };
    Ok(CombinedProfile {
        first_name: sourced(row, ("first_name", "first_name_source"), text)?,
        middle_name: sourced(row, ("middle_name", "middle_name_source"), text)?,
        last_name: sourced(row, ("last_name", "last_name_source"), text)?,
        preferred_name: sourced(row, ("preferred_name", "preferred_name_source"), text)?,
        display_name: sourced(row, ("display_name", "display_name_source"), text)?,
        email: sourced(row, ("email", "email_source"), |s| Email::parse(&s).map_err(|e| corrupt("email", e)))?,
        date_of_birth,
        trn: sourced(row, ("trn", "trn_source"), |s| Trn::parse(&s).map_err(|e| corrupt("trn", e)))?,
        // A person with no combined profile yet (a left join) has no details either.
        details: row
            .try_get::<Option<sqlx::types::Json<identity_core::combined::CombinedDetails>>, _>("details")?
            .map(|d| d.0)
            .unwrap_or_default(),
    })
}

pub(super) fn person(row: &Row) -> Result<Person> {
    let id = rows::user_id(row, "id")?;
    let combined = combined(row)?;
    let pairs: Vec<(String, String)> =
        serde_json::from_str(&row.try_get::<String, _>("links")?).map_err(|e| corrupt("links", e))?;
    let links = pairs
        .into_iter()
        .map(|(source, external_id)| {
            let source: Source = source.parse().map_err(|e| corrupt("links.source", e))?;
            Ok(Link { source, external_id, user_id: id })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut links = links;
    links.sort_by(|a, b| a.source.cmp(&b.source).then_with(|| a.key().cmp(&b.key())));
    Ok(Person {
        user: User {
            id,
            status: rows::status(row, "status")?,
            merged_into: row.try_get::<Option<Uuid>, _>("merged_into")?.map(UserId::from_uuid),
            created_at: rows::time(row, "created_at")?,
            updated_at: rows::time(row, "updated_at")?,
        },
        combined,
        version: row.try_get::<Option<i64>, _>("version")?.unwrap_or(0),
        profile_updated_at: row.try_get("profile_updated_at")?,
        links,
    })
}

impl Backend {
    pub(crate) async fn person(&self, id: UserId) -> Result<Person> {
        let sql = format!("{} WHERE u.id = $1", *SELECT);
        let row = self.conns.fetch_optional(sqlx::query(&sql).bind(id.as_uuid())).await?.ok_or(StoreError::NotFound)?;
        person(&row)
    }

    /// The live user holding this address (compared lower-cased).
    pub(crate) async fn person_by_email(&self, email_key: &str) -> Result<Option<Person>> {
        let sql = format!("{} WHERE c.email_key = $1", *SELECT);
        self.conns.fetch_optional(sqlx::query(&sql).bind(email_key)).await?.as_ref().map(person).transpose()
    }

    /// The user a source's external id is linked to.
    pub(crate) async fn person_by_link(&self, source: &Source, external_id: &str) -> Result<Option<Person>> {
        let sql =
            format!("{} WHERE u.id = (SELECT user_id FROM links WHERE source = $1 AND external_key = $2)", *SELECT);
        let query = sqlx::query(&sql).bind(source.to_string()).bind(link_key(source, external_id));
        self.conns.fetch_optional(query).await?.as_ref().map(person).transpose()
    }

    /// Who holds the link, with their status and the id as the source spelled it: one indexed
    /// read, for callers that need no profile.
    pub(crate) async fn link_holder(&self, source: &Source, external_id: &str) -> Result<Option<LinkHolder>> {
        let query = sqlx::query(
            "SELECT u.id, u.status, l.external_id FROM links l JOIN users u ON u.id = l.user_id \
             WHERE l.source = $1 AND l.external_key = $2",
        )
        .bind(source.to_string())
        .bind(link_key(source, external_id));
        let Some(row) = self.conns.fetch_optional(query).await? else { return Ok(None) };
        Ok(Some(LinkHolder {
            user: rows::user_id(&row, "id")?,
            status: rows::status(&row, "status")?,
            external_id: row.try_get("external_id")?,
        }))
    }

    pub(crate) async fn list_people(&self, q: &PeopleQuery) -> Result<Page<Person, Uuid>> {
        let mut qb = QueryBuilder::<Db>::new(SELECT.as_str());
        qb.push(" WHERE 1 = 1");
        if let Some(after) = q.after {
            qb.push(" AND u.id > ").push_bind(after);
        }
        match q.status {
            Some(status) => qb.push(" AND u.status = ").push_bind(status.as_str()),
            None => qb.push(" AND u.status NOT IN ('archived', 'erased')"),
        };
        if let Some(since) = q.updated_since {
            qb.push(" AND c.updated_at >= ").push_bind(since);
        }
        qb.push(" ORDER BY u.id LIMIT ").push_bind(i64::from(q.limit) + 1);
        let found = self.conns.fetch_all(qb.build()).await?;
        let mut items = found.iter().map(person).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > q.limit as usize {
            items.truncate(q.limit as usize);
            items.last().map(|p| *p.user.id.as_uuid())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    pub(crate) async fn profiles(&self, id: UserId) -> Result<Vec<StoredProfile>> {
        let mut conn = self.conns.acquire().await?;
        let exists =
            sqlx::query("SELECT 1 FROM users WHERE id = $1").bind(id.as_uuid()).fetch_optional(conn.start()).await;
        if conn.finish(exists)?.is_none() {
            return Err(StoreError::NotFound);
        }
        let profiles = write::load_profiles(conn.start(), id).await.map(|p| p.own);
        conn.finish(profiles)
    }

    /// The profiles of the people merged into `id`, each with its person: part of `id`'s
    /// combined profile, though they stay with their own person.
    /// A person's own profiles, and those of the people merged into it with whose they are, in
    /// the order derivation ranks them.
    pub(crate) async fn ranked_profiles(&self, id: UserId) -> Result<RankedProfiles> {
        let mut conn = self.conns.acquire().await?;
        let loaded = write::load_profiles(conn.start(), id).await;
        let write::Profiles { own, absorbed, absorbed_from } = conn.finish(loaded)?;
        Ok(RankedProfiles { own, absorbed: absorbed_from.into_iter().zip(absorbed).collect() })
    }

    pub(crate) async fn merged_profiles(&self, id: UserId) -> Result<Vec<(UserId, StoredProfile)>> {
        let sql = format!(
            "SELECT {} FROM source_profiles WHERE user_id IN (SELECT id FROM users WHERE merged_into = $1) \
             ORDER BY user_id, source",
            write::PROFILE_COLUMNS
        );
        let found = self.conns.fetch_all(sqlx::query(&sql).bind(id.as_uuid())).await?;
        found.iter().map(|row| Ok((rows::user_id(row, "user_id")?, write::stored_profile(row)?))).collect()
    }
}
