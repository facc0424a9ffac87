//! Who may do what in admin. Each role may do everything the one before it may: a `viewer`
//! reads, a `reviewer` also decides and merges, an `admin` also undoes merges.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Reviewer,
    Admin,
}

impl Role {
    pub const ALL: [Self; 3] = [Self::Viewer, Self::Reviewer, Self::Admin];
    /// As `--role` takes them, and as a token's scope stores them.
    pub const NAMES: [&'static str; 3] = ["viewer", "reviewer", "admin"];

    pub const fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The role of a credential: the highest one among its scopes, if any.
    pub fn of_scopes(scopes: &[String]) -> Option<Self> {
        scopes.iter().filter_map(|s| s.parse().ok()).max()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?} (expected {})", Self::NAMES.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Viewer < Role::Reviewer && Role::Reviewer < Role::Admin);
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
        assert_eq!(Role::of_scopes(&["viewer".into(), "admin".into()]), Some(Role::Admin));
        assert_eq!(Role::of_scopes(&["people:read".into()]), None);
    }
}
