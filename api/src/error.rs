//! The body of every refusal, and every code it may carry.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// `{"error": {"code", "message", "details"?}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable machine-readable `code` (one of [`ErrorCode`]), a message for
/// people, and for a refused graph or form the problems one by one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<Value>>,
}

impl ErrorDetail {
    /// The code as the enum, when this client knows it (a newer server may send others).
    pub fn known_code(&self) -> Option<ErrorCode> {
        ErrorCode::parse(&self.code)
    }
}

/// Declares the codes once: the variant, its text on the wire, its HTTP status and its meaning.
macro_rules! error_codes {
    ($($variant:ident => $text:literal, $status:literal, $meaning:literal;)*) => {
        /// Every code a refusal carries, with the HTTP status that goes with it. The server sends
        /// nothing else; the OpenAPI document lists them all with their meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(#[doc = $meaning] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code on the wire (`snake_case`).
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $text,)* }
            }

            /// The HTTP status a refusal with this code has.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// What the code means, for people (and the API's documentation).
            pub fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning,)* }
            }
        }
    };
}

error_codes! {
    Unauthorized => "unauthorized", 401, "No valid session or API key, wrong credentials, or a webhook delivery whose signature does not match.";
    Forbidden => "forbidden", 403, "The caller's role is too low for this (or an API key asked for what only a person may do).";
    NotFound => "not_found", 404, "No such thing, or it belongs to an org the caller is not in.";
    MethodNotAllowed => "method_not_allowed", 405, "The path exists but not with this method.";
    Conflict => "conflict", 409, "Something with this unique name or key already exists.";
    EmailTaken => "email_taken", 409, "An account with this email exists.";
    AlreadyMember => "already_member", 409, "The person is already a member of the org.";
    LastOwner => "last_owner", 409, "An org keeps at least one owner.";
    InvitationPending => "invitation_pending", 409, "A pending invitation for this email exists; revoke it to make a new link.";
    WrongInvitee => "wrong_invitee", 403, "The invitation is for another email address than the signed-in account's.";
    InvitationUsed => "invitation_used", 410, "The invitation link has been used already; each link works once.";
    InvitationRevoked => "invitation_revoked", 410, "An admin of the org revoked the invitation.";
    InvitationExpired => "invitation_expired", 410, "The invitation link has expired; ask for a new one.";
    SecretExists => "secret_exists", 409, "A secret with this name exists; PUT changes its value.";
    NotPublished => "not_published", 409, "The workflow has no published version to run.";
    Disabled => "disabled", 409, "The workflow's triggers are switched off.";
    NotRunnable => "not_runnable", 409, "The webhook's workflow cannot run now (switched off or not published).";
    NotListening => "not_listening", 404, "A delivery to a webhook's test URL while nobody listens for a test event in the studio.";
    RunFinished => "run_finished", 409, "The run has already finished.";
    RunUnfinished => "run_unfinished", 409, "The run has not finished yet.";
    NotControllable => "not_controllable", 409, "This actor cannot be stopped or restarted.";
    MalformedJson => "malformed_json", 400, "The body is not valid JSON.";
    InvalidBody => "invalid_body", 400, "The JSON does not have the fields this call takes.";
    InvalidPath => "invalid_path", 400, "A path segment is not a valid id or number.";
    InvalidQuery => "invalid_query", 400, "The query string does not read.";
    InvalidInput => "invalid_input", 400, "A value is refused; the message says which and why.";
    BadScope => "bad_scope", 400, "The event socket takes exactly one of `workflow` and `run`.";
    CreditsExhausted => "credits_exhausted", 402, "The org's credits are used up, or a top-up payment was declined.";
    PayloadTooLarge => "payload_too_large", 413, "The body is larger than this call accepts.";
    UnsupportedMediaType => "unsupported_media_type", 415, "The body must be JSON (content-type: application/json).";
    InvalidWorkflow => "invalid_workflow", 422, "The graph cannot be published; `details` lists every problem.";
    GraphRejected => "graph_rejected", 422, "The live doc refused the graph.";
    TooManyNodes => "too_many_nodes", 422, "The graph or file has more nodes than allowed.";
    TooManyEdges => "too_many_edges", 422, "The graph or file has more edges than allowed.";
    InvalidId => "invalid_id", 422, "A node or edge id is empty, too long or has characters ids may not have.";
    DuplicateNodeId => "duplicate_node_id", 422, "Two nodes share an id.";
    DuplicateEdgeId => "duplicate_edge_id", 422, "Two edges share an id.";
    NotAnObject => "not_an_object", 422, "The imported file is JSON but not an object.";
    MissingFormat => "missing_format", 422, "The imported file names no `format`, and is no n8n workflow either.";
    UnsupportedFormat => "unsupported_format", 422, "The imported file's `format` is not one this server reads.";
    WrongShape => "wrong_shape", 422, "The imported file has a field of the wrong type; the message says where.";
    NotAnN8nWorkflow => "not_an_n8n_workflow", 422, "The file looks like n8n's but is not a workflow.";
    DuplicateNodeName => "duplicate_node_name", 422, "Two nodes of the n8n workflow share a name.";
    UnknownNode => "unknown_node", 422, "A connection of the n8n workflow names a node it does not have.";
    RateLimited => "rate_limited", 429, "Too many requests; `Retry-After` says when to try again.";
    Internal => "internal", 500, "Something failed inside the server; the log has the details.";
    NotReady => "not_ready", 503, "The server cannot reach its database or Redis yet.";
    Unavailable => "unavailable", 503, "A part this call needs is unavailable on this node; try again.";
    Timeout => "timeout", 503, "The request took too long.";
    WebAppsNotBuilt => "web_apps_not_built", 503, "The web apps are not built on this server.";
    StorageFull => "storage_full", 507, "The database's storage is full: nothing was recorded; send it again later.";
}

impl ErrorCode {
    /// The code with this text, if there is one.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|code| code.as_str() == text)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ErrorCode::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown error code {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_code_is_distinct_snake_case_and_reads_back() {
        let texts: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(texts.len(), ErrorCode::ALL.len(), "no two codes share a text");
        for &code in ErrorCode::ALL {
            assert!(code.as_str().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{code}");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(serde_json::from_value::<ErrorCode>(code.as_str().into()).unwrap(), code);
            assert!((400..600).contains(&code.status()), "{code} is a refusal");
            assert!(code.meaning().ends_with('.'), "{code} says what it means");
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }

    #[test]
    fn a_body_knows_its_code() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":{"code":"credits_exhausted","message":"top up"}}"#).unwrap();
        assert_eq!(body.error.known_code(), Some(ErrorCode::CreditsExhausted));
        assert_eq!(ErrorCode::CreditsExhausted.status(), 402);
    }
}
