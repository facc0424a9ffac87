//! The teacher registry (DQT): a person's legal names and date of birth, keyed by TRN.

use crate::profile::{DateOfBirth, ProfileFields, Trn};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRecord {
    pub trn: Trn,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub date_of_birth: DateOfBirth,
}

impl RegistryRecord {
    /// What the registry says about the person, as the `registry` source profile.
    pub fn profile_fields(&self) -> ProfileFields {
        ProfileFields {
            first_name: Some(self.first_name.clone()),
            middle_name: self.middle_name.clone(),
            last_name: Some(self.last_name.clone()),
            date_of_birth: Some(self.date_of_birth),
            trn: Some(self.trn.clone()),
            ..ProfileFields::default()
        }
    }
}
