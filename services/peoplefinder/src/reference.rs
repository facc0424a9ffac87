//! People Finder's reference lists of choices (`reference/*.json`, data files of the project,
//! built into the binary): what `GET /api/peoplefinder/reference/{name}` answers, and the keys a
//! profile's choices are checked against. Each entry is `{"key", "value"}`: the key is stored, the
//! value is what people read.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Choice {
    pub key: String,
    pub value: String,
}

/// One list: its name in the route and its entries, in the order People Finder shows them.
pub struct List {
    pub name: &'static str,
    pub choices: Vec<Choice>,
}

impl List {
    pub fn has(&self, key: &str) -> bool {
        self.choices.iter().any(|c| c.key == key)
    }

    /// The keys as pydantic lists them in an enum error: `'a', 'b' or 'c'`.
    pub fn expected(&self) -> String {
        expected(self.choices.iter().map(|c| c.key.as_str()))
    }
}

/// `keys` as pydantic lists them in an enum error: `'a', 'b' or 'c'`.
pub fn expected<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = keys.into_iter().map(|k| format!("'{k}'")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

macro_rules! lists {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../reference/", $name, ".json")))),*]
    };
}

/// Every list, parsed once. A list that does not parse is a build mistake the tests catch.
pub static LISTS: LazyLock<Vec<List>> = LazyLock::new(|| {
    lists!(
        "workdays",
        "remote_working",
        "learning_interests",
        "professions",
        "grades",
        "key_skills",
        "additional_roles"
    )
    .into_iter()
    .map(|(name, text)| List { name, choices: serde_json::from_str(text).unwrap_or_default() })
    .collect()
});

pub fn list(name: &str) -> Option<&'static List> {
    LISTS.iter().find(|l| l.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_parses_with_unique_keys() {
        for l in LISTS.iter() {
            assert!(!l.choices.is_empty(), "{}", l.name);
            let mut keys: Vec<&str> = l.choices.iter().map(|c| c.key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), l.choices.len(), "{}", l.name);
        }
        assert_eq!(list("grades").map(|l| l.choices.len()), Some(21));
        assert_eq!(list("remote_working").unwrap().expected(), "'office_worker', 'remote_worker' or 'split'");
    }
}
