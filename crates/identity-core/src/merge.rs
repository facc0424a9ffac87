//! Merging two records of one person, and undoing it: the rules that decide whether either may
//! happen, and what a merge records so that its undo puts both people back exactly.
//!
//! A merge archives the merged person with `merged_into` set to the survivor, moves the merged
//! person's links to the survivor (so a source's id, and a re-import of its file, finds the
//! survivor) and derives the survivor's combined profile again from both people's source
//! profiles, which stay with their own person. An undo is exact or refused: it needs both
//! combined profiles at the versions the merge left them, which nothing but the merge wrote.

use serde::{Deserialize, Serialize};

use crate::combined::CombinedProfile;
use crate::source::Source;
use crate::user::{User, UserId, UserStatus};

/// Why a merge or its undo cannot happen: answered as a conflict, with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a person cannot be merged with itself")]
    SamePerson,
    #[error("the survivor {0} was merged into {1}; merge into {1} instead")]
    SurvivorMerged(UserId, UserId),
    #[error("the survivor {0} is archived; only a live person can survive a merge")]
    SurvivorArchived(UserId),
    #[error("{0} was already merged into {1}")]
    AlreadyMerged(UserId, UserId),
    #[error("{0} is archived; an archived person is not merged")]
    MergedArchived(UserId),
    #[error("this merge was undone already")]
    AlreadyUndone,
    #[error("{0} has changed since the merge, so undoing it would lose that change")]
    ChangedSince(UserId),
    #[error("{0}'s email address is now held by another person")]
    EmailTaken(UserId),
    #[error("{0} was erased; nothing of the merge is left to undo")]
    Erased(UserId),
}

/// Whether `merged` may be merged into `survivor`. Both are live: a merged person is archived,
/// so a chain that would loop (A into B, then B into A) is refused as merging into a merged
/// person.
pub fn check(survivor: &User, merged: &User) -> Result<(), Refusal> {
    if survivor.id == merged.id {
        return Err(Refusal::SamePerson);
    }
    if let Some(into) = survivor.merged_into {
        return Err(Refusal::SurvivorMerged(survivor.id, into));
    }
    if survivor.status.is_gone() {
        return Err(Refusal::SurvivorArchived(survivor.id));
    }
    if let Some(into) = merged.merged_into {
        return Err(Refusal::AlreadyMerged(merged.id, into));
    }
    if merged.status.is_gone() {
        return Err(Refusal::MergedArchived(merged.id));
    }
    Ok(())
}

/// One person's state as a merge found it and as it left it: what its undo restores and
/// checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Before {
    pub status: UserStatus,
    pub combined: CombinedProfile,
    /// The combined profile's version the merge left: an undo finds it unchanged, or refuses.
    pub version_after: i64,
}

/// Everything a merge changed, recorded with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRecord {
    pub survivor: Before,
    pub merged: Before,
    /// The merged person's links, moved to the survivor: (source, external id).
    pub moved_links: Vec<(Source, String)>,
    /// People merged into the merged person earlier, now pointing at the survivor.
    pub repointed: Vec<UserId>,
}

/// A merge as recorded: who decided it, when, why, and whether it was undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Merge {
    pub id: uuid::Uuid,
    pub survivor: UserId,
    pub merged: UserId,
    pub reason: String,
    pub by: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub undone: Option<Undone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undone {
    pub by: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Whether a recorded merge may be undone, given both people's combined-profile versions now.
pub fn check_undo(
    merge: &Merge,
    record: &MergeRecord,
    survivor_version: i64,
    merged_version: i64,
) -> Result<(), Refusal> {
    if merge.undone.is_some() {
        return Err(Refusal::AlreadyUndone);
    }
    if survivor_version != record.survivor.version_after {
        return Err(Refusal::ChangedSince(merge.survivor));
    }
    if merged_version != record.merged.version_after {
        return Err(Refusal::ChangedSince(merge.merged));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn user(status: UserStatus, merged_into: Option<UserId>) -> User {
        User { id: UserId::random(), status, merged_into, created_at: Utc::now(), updated_at: Utc::now() }
    }

    #[test]
    fn live_people_merge_in_either_status() {
        for (a, b) in [(UserStatus::Active, UserStatus::Inactive), (UserStatus::Inactive, UserStatus::Active)] {
            assert_eq!(check(&user(a, None), &user(b, None)), Ok(()));
        }
    }

    #[test]
    fn a_merge_needs_two_live_people() {
        let live = user(UserStatus::Active, None);
        assert_eq!(check(&live, &live), Err(Refusal::SamePerson));
        let other = UserId::random();
        let merged = user(UserStatus::Archived, Some(other));
        assert_eq!(check(&merged, &live), Err(Refusal::SurvivorMerged(merged.id, other)));
        assert_eq!(check(&live, &merged), Err(Refusal::AlreadyMerged(merged.id, other)));
        let archived = user(UserStatus::Archived, None);
        assert_eq!(check(&archived, &live), Err(Refusal::SurvivorArchived(archived.id)));
        assert_eq!(check(&live, &archived), Err(Refusal::MergedArchived(archived.id)));
    }

    #[test]
    fn an_undo_needs_both_people_as_the_merge_left_them() {
        let before =
            |version_after| Before { status: UserStatus::Active, combined: CombinedProfile::default(), version_after };
        let record = MergeRecord { survivor: before(3), merged: before(7), moved_links: vec![], repointed: vec![] };
        let mut merge = Merge {
            id: uuid::Uuid::nil(),
            survivor: UserId::random(),
            merged: UserId::random(),
            reason: "same person".into(),
            by: "reviewer".into(),
            at: Utc::now(),
            undone: None,
        };
        assert_eq!(check_undo(&merge, &record, 3, 7), Ok(()));
        assert_eq!(check_undo(&merge, &record, 4, 7), Err(Refusal::ChangedSince(merge.survivor)));
        assert_eq!(check_undo(&merge, &record, 3, 8), Err(Refusal::ChangedSince(merge.merged)));
        merge.undone = Some(Undone { by: "admin".into(), at: Utc::now() });
        assert_eq!(check_undo(&merge, &record, 3, 7), Err(Refusal::AlreadyUndone));
    }
}
