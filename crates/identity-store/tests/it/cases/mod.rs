mod changes;
mod credentials;
mod merges;
mod people;
mod peoplefinder;
mod precedence;
mod registry;
mod retention;
mod reviews;
mod schema;
mod sso;
mod sso_query;

pub use changes::*;
pub use credentials::*;
pub use merges::*;
pub use people::*;
pub use peoplefinder::*;
pub use precedence::*;
pub use registry::*;
pub use retention::*;
pub use reviews::*;
pub use schema::*;
pub use sso::*;
pub use sso_query::*;

use identity_core::{Email, ProfileFields};
use identity_store::{Actor, SsoUserWrite};
use serde_json::json;

pub fn actor() -> Actor {
    Actor::new("test")
}

/// What SCIM would write for a user: the profile fields and the document they came from.
pub fn sso_user(user_name: &str, given: &str, family: &str, email: &str) -> SsoUserWrite {
    SsoUserWrite {
        user_name: user_name.to_owned(),
        fields: ProfileFields {
            first_name: Some(given.to_owned()),
            last_name: Some(family.to_owned()),
            display_name: Some(format!("{given} {family}")),
            email: Some(Email::parse(email).unwrap()),
            ..ProfileFields::default()
        },
        attributes: json!({
            "userName": user_name,
            "name": {"givenName": given, "familyName": family},
            "displayName": format!("{given} {family}"),
            "emails": [{"value": email, "type": "work", "primary": true}],
        }),
        active: true,
    }
}
