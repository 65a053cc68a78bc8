//! A fake OpenAI API: `POST /v1/chat/completions`, answering with a chat completion whose content
//! echoes the last user message (`echo: …`), and OpenAI's error shape
//! `{"error": {message, type, param, code}}`.

use axum::http::Method;
use serde_json::{Value, json};

use super::{Api, Fake, Received, Reply};

pub const API_KEY: &str = "sk-test-0123456789abcdef";

#[derive(Debug)]
pub struct OpenAi {
    pub api_key: String,
    /// Models it serves, by the name a request uses; answers name the dated snapshot.
    pub models: Vec<(&'static str, &'static str)>,
}

impl OpenAi {
    pub async fn start() -> Fake<Self> {
        Fake::start(Self { api_key: API_KEY.to_owned(), models: vec![("gpt-4o-mini", "gpt-4o-mini-2024-07-18")] }).await
    }
}

/// The base URL to configure for the fake (OpenAI's is `https://api.openai.com/v1`).
pub fn base_url(fake: &Fake<OpenAi>) -> String {
    fake.url("/v1")
}

/// An error answer in OpenAI's shape.
pub fn error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Reply {
    Reply::json(status, json!({ "error": { "message": message, "type": kind, "param": null, "code": code } }))
}

impl Api for OpenAi {
    fn answer(&mut self, request: &Received) -> Reply {
        if request.method != Method::POST || request.segments != ["v1", "chat", "completions"] {
            return error(404, "invalid_request_error", None, "Invalid URL");
        }
        match request.bearer() {
            Some(key) if key == self.api_key => {}
            _ => {
                return error(
                    401,
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    "Incorrect API key provided: sk-***.",
                );
            }
        }
        let model = request.body["model"].as_str().unwrap_or_default();
        let Some((_, snapshot)) = self.models.iter().find(|(name, _)| *name == model) else {
            return error(
                404,
                "invalid_request_error",
                Some("model_not_found"),
                &format!("The model `{model}` does not exist or you do not have access to it."),
            );
        };
        let Some(messages) = request.body["messages"].as_array().filter(|m| !m.is_empty()) else {
            return error(400, "invalid_request_error", None, "'messages' is a required property");
        };
        if let Some(t) = request.body.get("temperature")
            && !t.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t))
        {
            return error(400, "invalid_request_error", Some("decimal_above_max_value"), "Invalid 'temperature'");
        }
        let last_user = messages.iter().rev().find(|m| m["role"] == "user").map(|m| m["content"].clone());
        let content = format!("echo: {}", last_user.as_ref().and_then(Value::as_str).unwrap_or_default());
        let prompt_tokens = messages
            .iter()
            .map(|m| m["content"].as_str().unwrap_or_default().split_whitespace().count())
            .sum::<usize>();
        let completion_tokens = content.split_whitespace().count();
        Reply::ok(json!({
            "id": "chatcmpl-fake123",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": snapshot,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": content, "refusal": null },
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }))
    }
}
