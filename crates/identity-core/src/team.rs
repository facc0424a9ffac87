//! People Finder's teams: a tree under one root, each team with a slug people link to. The tree
//! is held as each team's parent; [`Tree`] answers a team's parents (nearest first) and children
//! from the whole set, and checks a move before it is made.

use std::collections::HashMap;

/// How a team's leaders are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadersOrdering {
    Alphabetical,
    Custom,
}

/// What kind of unit a team is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeamType {
    Standard,
    Directorate,
    Portfolio,
}

macro_rules! keyed {
    ($t:ty { $($v:ident => $k:literal),* $(,)? }) => {
        impl $t {
            pub const ALL: &'static [Self] = &[$(Self::$v),*];

            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$v => $k),* }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }
    };
}

keyed!(LeadersOrdering { Alphabetical => "alphabetical", Custom => "custom" });
keyed!(TeamType { Standard => "standard", Directorate => "directorate", Portfolio => "portfolio" });

/// The longest slug People Finder keeps.
pub const MAX_SLUG: usize = 130;

/// `text` as a slug, as People Finder makes them (Django's `slugify`): lower case, letters and
/// digits kept, runs of anything else one hyphen, no hyphen at either end. Empty when `text`
/// has no letter or digit.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.chars().take(MAX_SLUG).collect::<String>().trim_end_matches('-').to_owned()
}

/// A team as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub slug: String,
    pub name: String,
    pub abbreviation: Option<String>,
    pub description: Option<String>,
    pub leaders_ordering: LeadersOrdering,
    pub cost_code: Option<String>,
    pub team_type: TeamType,
    /// The parent's slug; none for the root.
    pub parent: Option<String>,
}

/// Why a team cannot move where it was asked to (People Finder's own messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    #[error("A team's parent cannot be the team itself")]
    ItsOwnParent,
    #[error("A team's parent cannot be a team's child")]
    UnderItsChild,
    #[error("Cannot update the parent of the root team")]
    Root,
}

/// Why a team write is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamRefusal {
    #[error("the parent team does not exist")]
    NoParent,
    #[error("People finder team does not exist")]
    NoTeam,
    #[error("Team has been previously created")]
    SlugTaken,
    #[error(transparent)]
    Move(#[from] MoveError),
}

/// Every team, by slug.
pub struct Tree<'a> {
    by_slug: HashMap<&'a str, &'a Team>,
}

impl<'a> Tree<'a> {
    pub fn new(teams: &'a [Team]) -> Self {
        Self { by_slug: teams.iter().map(|t| (t.slug.as_str(), t)).collect() }
    }

    pub fn get(&self, slug: &str) -> Option<&'a Team> {
        self.by_slug.get(slug).copied()
    }

    /// The team with no parent.
    pub fn root(&self) -> Option<&'a Team> {
        let mut roots: Vec<&Team> = self.by_slug.values().copied().filter(|t| t.parent.is_none()).collect();
        roots.sort_by(|a, b| a.slug.cmp(&b.slug));
        roots.first().copied()
    }

    /// `slug`'s parents, nearest first, each with its distance (1 for the parent).
    pub fn parents(&self, slug: &str) -> Vec<(&'a Team, usize)> {
        let mut out = Vec::new();
        let mut at = self.get(slug).and_then(|t| t.parent.as_deref());
        while let Some(parent) = at.and_then(|p| self.get(p)) {
            // A loop (never written, but a stored tree is not to be trusted blindly) ends the walk.
            if out.iter().any(|(t, _): &(&Team, usize)| t.slug == parent.slug) || parent.slug == slug {
                break;
            }
            out.push((parent, out.len() + 1));
            at = parent.parent.as_deref();
        }
        out
    }

    /// `slug`'s children, by name.
    pub fn children(&self, slug: &str) -> Vec<&'a Team> {
        let mut out: Vec<&Team> =
            self.by_slug.values().copied().filter(|t| t.parent.as_deref() == Some(slug)).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.slug.cmp(&b.slug)));
        out
    }

    /// Whether `slug` may move under `parent`.
    pub fn check_move(&self, slug: &str, parent: &str) -> Result<(), MoveError> {
        if slug == parent {
            return Err(MoveError::ItsOwnParent);
        }
        if self.get(slug).is_some_and(|t| t.parent.is_none()) {
            return Err(MoveError::Root);
        }
        if self.parents(parent).iter().any(|(t, _)| t.slug == slug) {
            return Err(MoveError::UnderItsChild);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(slug: &str, parent: Option<&str>) -> Team {
        Team {
            slug: slug.into(),
            name: slug.to_uppercase(),
            abbreviation: None,
            description: None,
            leaders_ordering: LeadersOrdering::Alphabetical,
            cost_code: None,
            team_type: TeamType::Standard,
            parent: parent.map(Into::into),
        }
    }

    #[test]
    fn slugs_are_made_as_people_finder_makes_them() {
        assert_eq!(slugify("Employee Experience Team"), "employee-experience-team");
        assert_eq!(slugify("  Digital, Data & Technology! "), "digital-data-technology");
        assert_eq!(slugify("---"), "");
        assert_eq!(slugify(&"a".repeat(200)).len(), MAX_SLUG);
    }

    #[test]
    fn parents_come_nearest_first_and_moves_keep_it_a_tree() {
        let teams = [team("root", None), team("a", Some("root")), team("b", Some("a")), team("c", Some("b"))];
        let tree = Tree::new(&teams);
        assert_eq!(tree.root().map(|t| t.slug.as_str()), Some("root"));
        let parents: Vec<(&str, usize)> = tree.parents("c").iter().map(|(t, d)| (t.slug.as_str(), *d)).collect();
        assert_eq!(parents, [("b", 1), ("a", 2), ("root", 3)]);
        assert!(tree.parents("root").is_empty());
        assert_eq!(tree.children("root").len(), 1);
        assert_eq!(tree.check_move("a", "a"), Err(MoveError::ItsOwnParent));
        assert_eq!(tree.check_move("a", "c"), Err(MoveError::UnderItsChild));
        assert_eq!(tree.check_move("root", "a"), Err(MoveError::Root));
        assert_eq!(tree.check_move("c", "root"), Ok(()));
        assert_eq!(LeadersOrdering::parse("custom"), Some(LeadersOrdering::Custom));
        assert_eq!(TeamType::parse("Standard"), None, "the keys, not the labels");
    }
}
