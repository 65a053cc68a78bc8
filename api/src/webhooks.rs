//! Webhook sources: how one checks its deliveries, what creating or rotating one answers (its
//! URL holds the token: whoever has it can start runs), sources as listed, and the deliveries.

use aos_schema::{OrgId, RunId, WebhookEventId, WebhookSourceId, WorkflowId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a source checks and limits its deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// The vault secret whose value signs deliveries (HMAC-SHA256 of the body); none = unsigned.
    pub signing_secret: Option<String>,
    /// A provider's delivery-id header (e.g. `X-GitHub-Delivery`) to dedupe on when the sender
    /// gives no `Idempotency-Key`.
    pub dedupe_header: Option<String>,
    /// Deliveries accepted per minute (a token bucket refilled continuously).
    pub rate_per_minute: u32,
    /// The largest body accepted.
    pub max_body_bytes: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { signing_secret: None, dedupe_header: None, rate_per_minute: 600, max_body_bytes: 1024 * 1024 }
    }
}

/// `POST /api/workflows/{id}/webhooks` (the body is optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<WebhookSettings>,
}

/// A source with its token, as creating or rotating it answers. Its `Debug` hides the token and
/// the URL that holds it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceWithToken {
    pub source_id: WebhookSourceId,
    pub url: String,
    pub token: String,
}

impl std::fmt::Debug for SourceWithToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceWithToken").field("source_id", &self.source_id).finish_non_exhaustive()
    }
}

/// A source as listed (`GET /api/workflows/{id}/webhooks`): its URL for editors and above,
/// `None` for viewers and for a source made before tokens were kept (rotate it to get one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    pub id: WebhookSourceId,
    pub org_id: OrgId,
    pub workflow_id: WorkflowId,
    pub name: String,
    /// The token's first characters, so people can tell sources apart.
    pub token_prefix: String,
    pub enabled: bool,
    pub created_at: String,
    pub rotated_at: Option<String>,
    pub settings: WebhookSettings,
    pub url: Option<String>,
    /// The test URL beside it (`…/test`): a delivery there reaches whoever listens for a test
    /// event in the studio and starts no run. `None` whenever `url` is.
    #[serde(default)]
    pub test_url: Option<String>,
}

/// One received delivery (`GET /api/webhooks/{id}/events`); credential headers were never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub id: WebhookEventId,
    pub source_id: WebhookSourceId,
    pub org_id: OrgId,
    pub idempotency_key: String,
    pub headers: Value,
    pub body: Value,
    /// The URL's query string as an object (`{}` for deliveries recorded before it was kept).
    #[serde(default)]
    pub query: Value,
    /// The run it started, once one was created.
    pub run_id: Option<RunId>,
    pub received_at: String,
}

/// A delivery to a source's test URL, as the studio's listener receives it: what a run's trigger
/// would see (`body`, `headers` without credentials, `query`), no run started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestEvent {
    pub source_id: WebhookSourceId,
    pub headers: serde_json::Map<String, Value>,
    pub query: serde_json::Map<String, Value>,
    pub body: Value,
    pub received_at: String,
}

/// `GET /api/webhooks/{id}/test-event?wait=SECONDS`: the next delivery to the test URL, or `None`
/// when none arrived while it waited (ask again to keep listening).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestEventWait {
    pub event: Option<TestEvent>,
}

/// What `POST /hooks/{token}/test` answers when a listener took the delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestDelivered {
    /// How many studio listeners received it.
    pub listeners: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_source_does_not_show_its_token_in_debug_output() {
        let created = SourceWithToken {
            source_id: WebhookSourceId::new(),
            url: "http://localhost/hooks/whk_secret".into(),
            token: "whk_secret".into(),
        };
        assert!(!format!("{created:?}").contains("whk_secret"));
    }

    #[test]
    fn settings_left_out_take_their_defaults() {
        let settings: WebhookSettings = serde_json::from_str(r#"{"rate_per_minute": 5}"#).unwrap();
        assert_eq!(settings, WebhookSettings { rate_per_minute: 5, ..WebhookSettings::default() });
    }
}
