//! The small closed vocabularies that cross every layer: member roles, the life-cycle states of
//! runs, steps and dead-letter entries, the kinds of credit-ledger entry and where a replay starts. Each has one stable snake_case spelling, used in JSON, in
//! SQL columns and in URLs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that is not one of a vocabulary's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} {value:?}")]
pub struct UnknownWord {
    /// Which vocabulary was asked ("role", "run status", ...).
    pub vocabulary: &'static str,
    /// The text that matched no word.
    pub value: String,
}

/// Declares a closed vocabulary: an enum with one snake_case spelling per variant.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every word, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownWord;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownWord { vocabulary: $what, value: s.to_owned() }),
                }
            }
        }
    };
}

vocabulary!(
    /// A member's role in an org, from most to least powerful.
    Role, "role", {
        /// Everything, including deleting the org and managing owners.
        Owner => "owner",
        /// Members, secrets, billing and every workflow.
        Admin => "admin",
        /// Builds, publishes and runs workflows.
        Editor => "editor",
        /// Reads only.
        Viewer => "viewer",
    }
);

impl Role {
    /// Whether this role includes everything `other` may do.
    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }

    fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Editor => 1,
            Role::Viewer => 0,
        }
    }
}

vocabulary!(
    /// Where a run is in its life.
    RunStatus, "run status", {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        /// A step exhausted its retries; the run waits in the dead-letter queue.
        DeadLettered => "dead_lettered",
        Cancelled => "cancelled",
    }
);

impl RunStatus {
    /// Whether the run can change no more (without a replay, which makes a new run).
    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

vocabulary!(
    /// Where one attempt of one step is.
    StepStatus, "step status", {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        /// On a branch the run did not take.
        Skipped => "skipped",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// What became of a dead-letter entry.
    DlqStatus, "dead-letter status", {
        Pending => "pending",
        Replayed => "replayed",
        Discarded => "discarded",
    }
);

vocabulary!(
    /// What a credit-ledger entry is for.
    CreditKind, "credit kind", {
        /// Credits given for free (signup, goodwill).
        Grant => "grant",
        /// Credits bought.
        Topup => "topup",
        /// A debit for usage (written by the billing code only).
        Usage => "usage",
        /// Credits given back.
        Refund => "refund",
    }
);

vocabulary!(
    /// Where the replay of a finished run starts.
    ReplayFrom, "replay start", {
        /// Every step again, on the workflow's current published version.
        Start => "start",
        /// Only what did not succeed, on the version the run used.
        Failed => "failed",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_roundtrip_and_unknown_words_are_errors() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
            assert_eq!(serde_json::to_string(role).unwrap(), format!("\"{role}\""));
        }
        for kind in CreditKind::ALL {
            assert_eq!(CreditKind::try_from(kind.as_str().to_owned()), Ok(*kind));
            assert_eq!(serde_json::to_string(kind).unwrap(), format!("\"{kind}\""));
        }
        for from in ReplayFrom::ALL {
            assert_eq!(serde_json::from_str::<ReplayFrom>(&format!("\"{from}\"")).unwrap(), *from);
        }
        assert!(CreditKind::try_from("bonus".to_owned()).is_err());
        assert_eq!(RunStatus::DeadLettered.as_str(), "dead_lettered");
        let err = "root".parse::<Role>().unwrap_err();
        assert_eq!(err.to_string(), "unknown role \"root\"");
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Owner.at_least(Role::Admin));
        assert!(Role::Editor.at_least(Role::Viewer));
        assert!(!Role::Viewer.at_least(Role::Editor));
    }
}
