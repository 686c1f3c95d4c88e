//! Identifiers of the domain. All are opaque strings so that ids minted by the
//! organization's directory, by a handheld offline, or by an older release all fit.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(value_type = String))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a string as this id.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

string_id!(
    /// A case (案件): one automerge document.
    CaseId
);
string_id!(
    /// One event in a case's history, unique across all devices.
    EventId
);
string_id!(
    /// A person with a login.
    UserId
);
string_id!(
    /// A handheld or workstation; bound to the automerge actor ids it writes with.
    DeviceId
);
string_id!(
    /// A street (街道).
    StreetId
);
string_id!(
    /// A community (社区).
    CommunityId
);
string_id!(
    /// A grid (网格), the smallest territorial unit; every case lies in exactly one.
    GridId
);
string_id!(
    /// A handling unit (处置单位): a department, beside the territorial tree.
    UnitId
);

impl CaseId {
    /// A fresh case id, safe to mint offline: a UUIDv7, so 74 random bits after the creation
    /// time. Time first keeps the stores' case-keyed trees growing at one edge: new cases land
    /// in a few B-tree leaves instead of rewriting leaves all over the tree (with random ids,
    /// sled's log grew about five times the data it held).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().simple().to_string())
    }

    /// A case id as [`CaseId::generate`] writes one (a UUIDv7, 32 lower-case hex digits), read
    /// back from where it was handed out (a form's hidden field); `None` for anything else.
    pub fn parse_generated(text: &str) -> Option<CaseId> {
        let uuid = uuid::Uuid::try_parse(text).ok()?;
        let written = uuid.simple().to_string();
        (uuid.get_version_num() == 7 && written == text).then_some(CaseId(written))
    }
}

impl EventId {
    /// A fresh event id, safe to mint offline; time-ordered like [`CaseId::generate`].
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().simple().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_case_id_reads_back_and_nothing_else_does() {
        let id = CaseId::generate();
        assert_eq!(CaseId::parse_generated(id.as_str()), Some(id.clone()));
        assert_eq!(
            CaseId::parse_generated(&id.as_str().to_uppercase()),
            None,
            "one spelling"
        );
        for other in [
            "",
            "new",
            "0190f6b2-8a5e-7c3a-9b1d-2f4e6a8c0d1e",
            // A version 4 UUID.
            "9b2f6c1e4d7a4e3b8c5a1f0e2d3c4b5a",
            "../../etc/passwd",
        ] {
            assert_eq!(CaseId::parse_generated(other), None, "{other}");
        }
    }
}
