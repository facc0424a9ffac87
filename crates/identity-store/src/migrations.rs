//! The migrations of `migrations/<backend>/`, embedded in the binary so a deployed service needs
//! no files beside it. Adding a migration means adding its file and one line here; a test checks
//! that the two lists agree.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

pub(crate) type Embedded = &'static [(i64, &'static str, &'static str)];

pub(crate) const POSTGRES: Embedded = &[
    (1, "initial", include_str!("../../../migrations/postgres/0001_initial.sql")),
    (2, "change_log_horizon", include_str!("../../../migrations/postgres/0002_change_log_horizon.sql")),
    (
        3,
        "user_references_checked_per_statement",
        include_str!("../../../migrations/postgres/0003_user_references_checked_per_statement.sql"),
    ),
    (4, "sso_profiles_index", include_str!("../../../migrations/postgres/0004_sso_profiles_index.sql")),
    (5, "merges", include_str!("../../../migrations/postgres/0005_merges.sql")),
    (6, "reviews", include_str!("../../../migrations/postgres/0006_reviews.sql")),
    (7, "hawk_nonces", include_str!("../../../migrations/postgres/0007_hawk_nonces.sql")),
    (8, "erasure", include_str!("../../../migrations/postgres/0008_erasure.sql")),
    (9, "retention", include_str!("../../../migrations/postgres/0009_retention.sql")),
    (10, "hawk_nonces_by_time", include_str!("../../../migrations/postgres/0010_hawk_nonces_by_time.sql")),
    (
        11,
        "changes_by_person_in_order",
        include_str!("../../../migrations/postgres/0011_changes_by_person_in_order.sql"),
    ),
    (12, "precedence_versions", include_str!("../../../migrations/postgres/0012_precedence_versions.sql")),
    (13, "profile_details", include_str!("../../../migrations/postgres/0013_profile_details.sql")),
    (14, "teams", include_str!("../../../migrations/postgres/0014_teams.sql")),
    (15, "reference_lists", include_str!("../../../migrations/postgres/0015_reference_lists.sql")),
    (16, "hawk_nonces_unlogged", include_str!("../../../migrations/postgres/0016_hawk_nonces_unlogged.sql")),
];

pub(crate) const SQLITE: Embedded = &[
    (1, "initial", include_str!("../../../migrations/sqlite/0001_initial.sql")),
    (2, "change_log_horizon", include_str!("../../../migrations/sqlite/0002_change_log_horizon.sql")),
    (
        3,
        "user_references_checked_per_statement",
        include_str!("../../../migrations/sqlite/0003_user_references_checked_per_statement.sql"),
    ),
    (4, "sso_profiles_index", include_str!("../../../migrations/sqlite/0004_sso_profiles_index.sql")),
    (5, "merges", include_str!("../../../migrations/sqlite/0005_merges.sql")),
    (6, "reviews", include_str!("../../../migrations/sqlite/0006_reviews.sql")),
    (7, "hawk_nonces", include_str!("../../../migrations/sqlite/0007_hawk_nonces.sql")),
    (8, "erasure", include_str!("../../../migrations/sqlite/0008_erasure.sql")),
    (9, "retention", include_str!("../../../migrations/sqlite/0009_retention.sql")),
    (10, "hawk_nonces_by_time", include_str!("../../../migrations/sqlite/0010_hawk_nonces_by_time.sql")),
    (11, "changes_by_person_in_order", include_str!("../../../migrations/sqlite/0011_changes_by_person_in_order.sql")),
    (12, "precedence_versions", include_str!("../../../migrations/sqlite/0012_precedence_versions.sql")),
    (13, "profile_details", include_str!("../../../migrations/sqlite/0013_profile_details.sql")),
    (14, "teams", include_str!("../../../migrations/sqlite/0014_teams.sql")),
    (15, "reference_lists", include_str!("../../../migrations/sqlite/0015_reference_lists.sql")),
    (16, "hawk_nonces_unlogged", include_str!("../../../migrations/sqlite/0016_hawk_nonces_unlogged.sql")),
];

pub(crate) fn migrator(embedded: Embedded) -> Migrator {
    let migrations = embedded
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, Cow::Borrowed(*sql), false)
        })
        .collect::<Vec<_>>();
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str) -> Vec<String> {
        let path = format!("{}/../../migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    fn listed(embedded: Embedded) -> Vec<String> {
        embedded.iter().map(|(v, d, _)| format!("{v:04}_{d}.sql")).collect()
    }

    #[test]
    fn every_migration_file_is_embedded_and_both_backends_match() {
        assert_eq!(files("postgres"), listed(POSTGRES));
        assert_eq!(files("sqlite"), listed(SQLITE));
        assert_eq!(listed(POSTGRES), listed(SQLITE), "same version numbers on both backends");
    }
}
