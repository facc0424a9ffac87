//! Who says something about a user. Each source writes only its own profile.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of a service that imports its users (`npq` in `import:npq`).
///
/// Lower-case ASCII letters, digits, `-` and `_`, starting with a letter or digit, at most 64
/// characters: it appears in URLs, file names and the source column, so it is kept boring.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceNameError {
    #[error("service name is empty")]
    Empty,
    #[error("service name is longer than {max} characters", max = ServiceName::MAX_LEN)]
    TooLong,
    #[error("service name may only hold a-z, 0-9, '-' and '_', starting with a letter or digit")]
    BadCharacter,
}

impl ServiceName {
    pub const MAX_LEN: usize = 64;

    pub fn new(name: &str) -> Result<Self, ServiceNameError> {
        if name.is_empty() {
            return Err(ServiceNameError::Empty);
        }
        if name.len() > Self::MAX_LEN {
            return Err(ServiceNameError::TooLong);
        }
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        let first_ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !first_ok || !name.chars().all(ok_char) {
            return Err(ServiceNameError::BadCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ServiceName {
    type Err = ServiceNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A source of data about people.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Staff SSO, writing through SCIM. Owns users' existence and state.
    Sso,
    /// A bulk import from another service.
    Import(ServiceName),
    /// The teacher registry (DQT), keyed by TRN.
    Registry,
    /// People Finder: what people say about themselves and their work, keyed by its slug.
    PeopleFinder,
}

/// The family a source belongs to; precedence rules are written per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Sso,
    Import,
    Registry,
    PeopleFinder,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("unknown source {0:?} (expected sso, peoplefinder, registry or import:<service>)")]
    Unknown(String),
    #[error("bad service in source {source_text:?}: {reason}")]
    Service { source_text: String, reason: ServiceNameError },
}

impl Source {
    pub const fn kind(&self) -> SourceKind {
        match self {
            Self::Sso => SourceKind::Sso,
            Self::Import(_) => SourceKind::Import,
            Self::Registry => SourceKind::Registry,
            Self::PeopleFinder => SourceKind::PeopleFinder,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sso => f.write_str("sso"),
            Self::Import(service) => write!(f, "import:{service}"),
            Self::Registry => f.write_str("registry"),
            Self::PeopleFinder => f.write_str("peoplefinder"),
        }
    }
}

impl FromStr for Source {
    type Err = SourceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sso" => Ok(Self::Sso),
            "registry" => Ok(Self::Registry),
            "peoplefinder" => Ok(Self::PeopleFinder),
            _ => match s.strip_prefix("import:") {
                Some(service) => ServiceName::new(service)
                    .map(Self::Import)
                    .map_err(|reason| SourceError::Service { source_text: s.to_owned(), reason }),
                None => Err(SourceError::Unknown(s.to_owned())),
            },
        }
    }
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_through_text() {
        let npq = Source::Import(ServiceName::new("npq").unwrap());
        for s in [Source::Sso, Source::Registry, Source::PeopleFinder, npq] {
            assert_eq!(s.to_string().parse::<Source>(), Ok(s));
        }
        assert_eq!("import:npq".parse::<Source>().unwrap().to_string(), "import:npq");
    }

    #[test]
    fn unknown_and_malformed_sources_are_refused() {
        assert!(matches!("hr".parse::<Source>(), Err(SourceError::Unknown(_))));
        assert!(matches!("import:".parse::<Source>(), Err(SourceError::Service { .. })));
        assert!(matches!("import:NPQ".parse::<Source>(), Err(SourceError::Service { .. })));
    }

    #[test]
    fn service_names_are_checked() {
        assert!(ServiceName::new("npq").is_ok());
        assert!(ServiceName::new("register-trainee_2").is_ok());
        assert_eq!(ServiceName::new(""), Err(ServiceNameError::Empty));
        assert_eq!(ServiceName::new(&"a".repeat(65)), Err(ServiceNameError::TooLong));
        assert_eq!(ServiceName::new("-npq"), Err(ServiceNameError::BadCharacter));
        assert_eq!(ServiceName::new("np q"), Err(ServiceNameError::BadCharacter));
        assert_eq!(ServiceName::new("../x"), Err(ServiceNameError::BadCharacter));
    }

    #[test]
    fn kinds_group_sources() {
        assert_eq!(Source::Sso.kind(), SourceKind::Sso);
        assert_eq!(Source::Registry.kind(), SourceKind::Registry);
        assert_eq!(Source::Import(ServiceName::new("a").unwrap()).kind(), SourceKind::Import);
    }
}
