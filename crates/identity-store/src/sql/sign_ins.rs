//! sso-profile's reads: the sign-in profile of every active user Staff SSO knows, keyed by SSO's
//! id (the `sso` profile's external id), and where the change feed ends.

use identity_core::combined::CombinedDetails;
use identity_core::{Email, UserId};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row as _};
use uuid::Uuid;

use super::rows::{self, corrupt};
use super::{Backend, Db, Row};
use crate::columns::Column;
use crate::error::Result;
use crate::model::SignInProfile;

/// Active users only: the seed system's sign-in profile is `is_active=True` (a deactivated,
/// archived or merged person cannot sign in).
const SELECT: &str = "SELECT u.id, p.external_id, c.first_name, c.last_name, c.email, c.details FROM users u \
     JOIN source_profiles p ON p.user_id = u.id AND p.source = 'sso' \
     LEFT JOIN combined_profiles c ON c.user_id = u.id WHERE u.status = 'active'";

/// A page after `$1`: the bound is given to every table, so that each index scan starts there.
/// Given to `users` alone, PostgreSQL merge-joins the other two from their first row on every
/// page, and loading a million users read 50 million index entries (a minute, BENCHMARKS.md).
const PAGE: &str = "SELECT u.id, p.external_id, c.first_name, c.last_name, c.email, c.details FROM users u \
     JOIN source_profiles p ON p.user_id = u.id AND p.source = 'sso' AND p.user_id > $1 \
     LEFT JOIN combined_profiles c ON c.user_id = u.id AND c.user_id > $1 \
     WHERE u.status = 'active' AND u.id > $1 ORDER BY u.id LIMIT $2";

/// The rows that decode; one that does not (a stored address that no longer parses) is left out
/// and logged by user id, so that one bad row cannot stop every sign-in from loading.
fn sign_ins(rows: &[Row]) -> Vec<SignInProfile> {
    rows.iter()
        .filter_map(|row| match sign_in(row) {
            Ok(p) => Some(p),
            Err(e) => {
                let user = rows::user_id(row, "id").map(|u| u.to_string()).unwrap_or_default();
                tracing::warn!(user.id = %user, error = %e, "a sign-in profile that cannot be read is left out");
                None
            }
        })
        .collect()
}

fn sign_in(row: &Row) -> Result<SignInProfile> {
    let email = rows::email(row.try_get("email")?)?;
    // A person without a combined profile yet (a row of the LEFT JOIN) has no details either.
    let details = match row.try_get::<Option<Json<CombinedDetails>>, _>("details")? {
        Some(Json(d)) => d,
        None => CombinedDetails::default(),
    };
    let other_emails = details
        .emails
        .map(|e| {
            // Compared as addresses are (case-insensitively), not as spelled: the primary and the
            // list may come from different sources.
            let primary = email.as_ref().map(Email::key);
            e.value.into_iter().map(|entry| entry.address).filter(|a| Some(a.key()) != primary).collect()
        })
        .unwrap_or_default();
    Ok(SignInProfile {
        user: rows::user_id(row, "id")?,
        sso_id: row.try_get::<Option<String>, _>("external_id")?.ok_or_else(|| corrupt("sso external_id", "none"))?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        email,
        contact_email: details.contact_email.map(|c| c.value),
        other_emails,
    })
}

impl Backend {
    /// The sign-in profiles of up to `limit` users after `after`, in id order, and the last
    /// user read (`None` at the end).
    pub(crate) async fn sign_ins_page(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<(Vec<SignInProfile>, Option<UserId>)> {
        let after = after.map_or(Uuid::nil(), |u| *u.as_uuid());
        let found = self.conns.fetch_all(sqlx::query(PAGE).bind(after).bind(i64::from(limit))).await?;
        let last = match found.last() {
            Some(row) if found.len() == limit as usize => Some(rows::user_id(row, "id")?),
            _ => None,
        };
        Ok((sign_ins(&found), last))
    }

    /// The sign-in profiles of those of `ids` that have one now.
    pub(crate) async fn sign_ins_of(&self, ids: &[UserId]) -> Result<Vec<SignInProfile>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(super::write::BATCH) {
            let mut qb = QueryBuilder::<Db>::new(SELECT);
            qb.push(" AND ");
            super::push_in(&mut qb, "u.id", Column::Uuid(chunk.iter().map(|u| *u.as_uuid()).collect()));
            out.extend(sign_ins(&self.conns.fetch_all(qb.build()).await?));
        }
        Ok(out)
    }

    /// How many users have an `sso` profile (active or not): what a load will hold at most.
    pub(crate) async fn sso_profiles_count(&self) -> Result<i64> {
        let row =
            self.conns.fetch_one(sqlx::query("SELECT count(*) AS n FROM source_profiles WHERE source = 'sso'")).await?;
        Ok(row.try_get("n")?)
    }

    /// The last numbered change's `seq` (0 for an empty log): a reader that loads everything
    /// after reading it and then follows the feed from it misses nothing.
    pub(crate) async fn changes_end(&self) -> Result<i64> {
        let row = self.conns.fetch_one(sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM changes")).await?;
        Ok(row.try_get("seq")?)
    }
}
