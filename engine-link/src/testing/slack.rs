//! A fake Slack Web API: `POST /api/chat.postMessage` with a bot token and a JSON body, answered
//! like Slack (HTTP 200 with `{"ok": false, "error": …}` for API errors).

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::json;

use super::{Api, Fake, Received, Reply};

pub const TOKEN: &str = "xoxb-test-4f1c2d9a";

/// Slack's state: the token it accepts, the channels it knows (name → id), what was posted.
#[derive(Debug)]
pub struct Slack {
    pub token: String,
    pub channels: BTreeMap<String, String>,
    /// `(channel id, text)` of every posted message.
    pub posted: Vec<(String, String)>,
}

impl Slack {
    pub async fn start() -> Fake<Self> {
        let channels = [("#general", "C024BE91L"), ("#deploys", "C061EG9SL")];
        Fake::start(Self {
            token: TOKEN.to_owned(),
            channels: channels.iter().map(|(n, id)| ((*n).to_owned(), (*id).to_owned())).collect(),
            posted: Vec::new(),
        })
        .await
    }
}

/// The base URL to configure for the fake (Slack's is `https://slack.com/api`).
pub fn base_url(fake: &Fake<Slack>) -> String {
    fake.url("/api")
}

fn error(code: &str) -> Reply {
    Reply::ok(json!({ "ok": false, "error": code }))
}

impl Api for Slack {
    fn answer(&mut self, request: &Received) -> Reply {
        if request.method != Method::POST || request.segments != ["api", "chat.postMessage"] {
            return Reply::json(404, json!({ "ok": false, "error": "unknown_method" }));
        }
        match request.bearer() {
            None => return error("not_authed"),
            Some(token) if token != self.token => return error("invalid_auth"),
            Some(_) => {}
        }
        if !request.content_type.as_deref().unwrap_or_default().starts_with("application/json") {
            return error("invalid_arguments");
        }
        let Some(channel) = request.body["channel"].as_str() else {
            return error("channel_not_found");
        };
        let Some(text) = request.body["text"].as_str().filter(|t| !t.is_empty()) else {
            return error("no_text");
        };
        let id = if self.channels.values().any(|id| id == channel) {
            channel.to_owned()
        } else if let Some(id) = self.channels.get(channel) {
            id.clone()
        } else {
            return error("channel_not_found");
        };
        self.posted.push((id.clone(), text.to_owned()));
        let ts = format!("1700000000.{:06}", self.posted.len());
        Reply::ok(json!({
            "ok": true,
            "channel": id,
            "ts": ts,
            "message": { "type": "message", "text": text, "ts": ts, "bot_id": "B0123" },
        }))
    }
}
