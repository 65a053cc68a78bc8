//! Newtype ids: every entity has its own id type so a `RunId` can never be passed where a
//! `WorkflowId` is expected. They serialize as plain UUID strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a UUID-backed id type, serde-transparent, `Display`/`FromStr` as the hyphenated UUID.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUID v7), so ids sort roughly by creation time.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (a value read from storage or a request path).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID, for storage layers that bind it as a column value.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

id_type!(
    /// A tenant: every piece of tenant data belongs to exactly one org.
    OrgId
);
id_type!(
    /// A person who can log in.
    UserId
);
id_type!(
    /// A long-lived API key for scripts.
    ApiKeyId
);
id_type!(
    /// An invitation to join an org, used once through its link.
    InvitationId
);
id_type!(
    /// A workflow: its draft doc, its versions, its runs.
    WorkflowId
);
id_type!(
    /// One immutable published version of a workflow.
    WorkflowVersionId
);
id_type!(
    /// A gallery template.
    TemplateId
);
id_type!(
    /// One published version of a template.
    TemplateVersionId
);
id_type!(
    /// A template installed into an org.
    InstallationId
);
id_type!(
    /// A webhook endpoint that triggers a workflow.
    WebhookSourceId
);
id_type!(
    /// One received webhook delivery.
    WebhookEventId
);
id_type!(
    /// One execution of a workflow version.
    RunId
);
id_type!(
    /// One attempt of one step of a run.
    RunStepId
);
id_type!(
    /// A dead-lettered run awaiting replay or discard.
    DlqEntryId
);
id_type!(
    /// An encrypted secret.
    SecretId
);

/// A node's id inside one workflow graph: short, human-chosen or generated, unique within the graph.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub String);

/// An edge's id inside one workflow graph.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EdgeId(pub String);

macro_rules! string_id_impls {
    ($name:ident) => {
        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
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

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Lets maps keyed by this id be queried with a plain `&str` (the hash and order of the
        /// newtype are those of the string it wraps).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id_impls!(NodeId);
string_id_impls!(EdgeId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_roundtrip_through_json_as_plain_strings() {
        let id = RunId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let back: RunId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn a_malformed_id_is_an_error_not_a_panic() {
        assert!("not-a-uuid".parse::<WorkflowId>().is_err());
    }
}
