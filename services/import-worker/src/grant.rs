//! Which services an import token may import for. An administrator of one service gets a token
//! for that service only: its uploads write that service's source profiles and its jobs' result
//! files hold that service's people, so another service's token must not reach them. Scopes are
//! `import:<service>`, or `import:*` for every service.

use identity_core::ServiceName;
use identity_server::auth::Principal;

const EVERY_SERVICE: &str = "import:*";

/// What a token may import for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Every,
    Only(Vec<ServiceName>),
}

impl Grant {
    /// The scopes stored with a new token.
    pub fn scopes(&self) -> Vec<String> {
        match self {
            Self::Every => vec![EVERY_SERVICE.to_owned()],
            Self::Only(services) => services.iter().map(|s| format!("import:{s}")).collect(),
        }
    }

    /// A token's grant, from its scopes (scopes that name no service grant nothing).
    pub fn of(principal: &Principal) -> Self {
        if principal.has_scope(EVERY_SERVICE) {
            return Self::Every;
        }
        Self::Only(
            principal
                .scopes
                .iter()
                .filter_map(|s| s.strip_prefix("import:"))
                .filter_map(|s| ServiceName::new(s).ok())
                .collect(),
        )
    }

    pub fn allows(&self, service: &ServiceName) -> bool {
        match self {
            Self::Every => true,
            Self::Only(services) => services.contains(service),
        }
    }

    /// The services it is limited to, or `None` for every service.
    pub fn services(&self) -> Option<&[ServiceName]> {
        match self {
            Self::Every => None,
            Self::Only(services) => Some(services),
        }
    }

    /// Says what the token may do, for a refusal.
    pub fn describe(&self) -> String {
        match self {
            Self::Every => "every service".to_owned(),
            Self::Only(s) if s.is_empty() => "no service (make a new token with --service)".to_owned(),
            Self::Only(s) => s.iter().map(ServiceName::as_str).collect::<Vec<_>>().join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &[&str]) -> Principal {
        Principal { id: uuid::Uuid::nil(), name: "t".into(), scopes: scopes.iter().map(|&s| s.to_owned()).collect() }
    }

    fn service(s: &str) -> ServiceName {
        ServiceName::new(s).unwrap()
    }

    #[test]
    fn a_grant_round_trips_through_its_scopes() {
        for grant in [Grant::Every, Grant::Only(vec![service("npq"), service("register")])] {
            let scopes = grant.scopes();
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            assert_eq!(Grant::of(&principal(&scopes)), grant);
        }
    }

    #[test]
    fn a_token_reaches_its_own_services_only() {
        let npq = Grant::of(&principal(&["import:npq"]));
        assert!(npq.allows(&service("npq")));
        assert!(!npq.allows(&service("register")));
        assert!(Grant::Every.allows(&service("register")));
        // A scope for another binary, or none, grants nothing.
        let none = Grant::of(&principal(&["people:read", "import:", "npq"]));
        assert_eq!(none, Grant::Only(Vec::new()));
        assert!(!none.allows(&service("npq")));
        assert!(none.describe().contains("--service"));
    }
}
