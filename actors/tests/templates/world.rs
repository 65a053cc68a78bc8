//! The loopback world one template test talks to: the fake Slack, Sheets, OpenAI and SMTP servers
//! of `aos_engine_link::testing`, and an "API world" answering `http.request` nodes from the
//! fixture, plus rebinding an installed graph onto them.

use std::collections::VecDeque;

use aos_engine_link::testing::openai::OpenAi;
use aos_engine_link::testing::sheets::{self, Sheets};
use aos_engine_link::testing::slack::Slack;
use aos_engine_link::testing::smtp::{Behaviour, SmtpServer};
use aos_engine_link::testing::{Api, Fake, Received, Reply};
use aos_schema::{WorkflowGraph, kinds};
use serde_json::{Value, json};

use super::fixture::{Fixture, Route};
use super::secret_value;

/// The model the fake OpenAI serves, with the snapshot its answers name.
const MODEL: (&str, &str) = ("gpt-4o-mini", "gpt-4o-mini-2024-07-18");

/// The fake OpenAI, answering with scripted contents while it has some (then echoing the prompt).
#[derive(Debug)]
pub struct ScriptedOpenAi {
    inner: OpenAi,
    answers: VecDeque<String>,
}

impl Api for ScriptedOpenAi {
    fn answer(&mut self, request: &Received) -> Reply {
        let mut reply = self.inner.answer(request);
        if reply.status.is_success()
            && let Some(content) = self.answers.pop_front()
        {
            reply.body["choices"][0]["message"]["content"] = Value::String(content);
        }
        reply
    }
}

/// The other side of every `http.request`: the fixture's routes, each with how often it was hit.
#[derive(Debug)]
pub struct ApiWorld {
    routes: Vec<(Route, usize)>,
}

impl Api for ApiWorld {
    fn answer(&mut self, request: &Received) -> Reply {
        match self.routes.iter_mut().find(|(route, _)| route.matches(request)) {
            Some((route, hits)) => {
                let canned = &route.replies[(*hits).min(route.replies.len() - 1)];
                *hits += 1;
                Reply::json(canned.status, canned.body.clone())
            }
            None => Reply::json(
                404,
                json!({ "error": format!("no canned answer for {} {}", request.method, request.raw_path) }),
            ),
        }
    }
}

/// The services of one template test, all fresh, accepting only the installed secrets.
pub struct World {
    pub slack: Fake<Slack>,
    pub sheets: Fake<Sheets>,
    pub openai: Fake<ScriptedOpenAi>,
    pub smtp: SmtpServer,
    pub api: Fake<ApiWorld>,
}

impl World {
    /// Starts the fakes with the fixture's data; SMTP takes the login the template's email nodes use.
    pub async fn start(graph: &WorkflowGraph, fixture: &Fixture) -> Self {
        let slack = Slack::start().await;
        slack.api(|s| s.token = secret_value("SLACK_TOKEN"));
        let tabs: Vec<(&str, Value)> = fixture.sheets.iter().map(|(tab, rows)| (tab.as_str(), rows.clone())).collect();
        let sheets = Sheets::start(&tabs).await;
        sheets.api(|s| s.token = secret_value("GOOGLE_SHEETS_TOKEN"));
        let inner = OpenAi { api_key: secret_value("OPENAI_API_KEY"), models: vec![MODEL] };
        let openai = Fake::start(ScriptedOpenAi { inner, answers: VecDeque::new() }).await;
        let username = graph
            .nodes
            .iter()
            .filter(|node| node.kind == kinds::EMAIL_SEND)
            .find_map(|node| node.config.get("username").and_then(Value::as_str))
            .unwrap_or("mailer@example.test");
        let credentials = Some((username.to_owned(), secret_value("SMTP_PASSWORD")));
        let smtp = SmtpServer::start(Behaviour { credentials, ..Behaviour::default() }).await;
        let api = Fake::start(ApiWorld { routes: fixture.http.iter().map(|r| (r.clone(), 0)).collect() }).await;
        Self { slack, sheets, openai, smtp, api }
    }

    /// The graph as the user's copy has it: integrations on the fakes, the user's spreadsheet,
    /// HTTP calls on the API world; and the Slack workspace knows the channels it posts to.
    pub fn rebind(&self, graph: &WorkflowGraph) -> WorkflowGraph {
        let mut graph = graph.clone();
        for node in &mut graph.nodes {
            let rebound = match node.kind.as_str() {
                kinds::SLACK_POST_MESSAGE => vec![("base_url", self.slack.url("/api"))],
                kinds::SHEETS_APPEND | kinds::SHEETS_READ => vec![
                    ("base_url", sheets::base_url(&self.sheets)),
                    ("spreadsheet_id", sheets::SPREADSHEET.to_owned()),
                ],
                kinds::OPENAI_CHAT => vec![("base_url", self.openai.url("/v1"))],
                kinds::EMAIL_SEND => vec![("base_url", self.smtp.url())],
                kinds::HTTP_REQUEST => {
                    let url = node.config["url"].as_str().expect("http.request has a url");
                    vec![("url", rehome(url, &self.api.url("")))]
                }
                _ => Vec::new(),
            };
            for (field, value) in rebound {
                node.config.insert(field.to_owned(), Value::String(value));
            }
            if node.kind == kinds::SLACK_POST_MESSAGE
                && let Some(channel) = node.config["channel"].as_str().filter(|c| !c.contains("{{"))
            {
                self.slack.api(|s| {
                    let id = format!("C{:08}", s.channels.len());
                    s.channels.entry(channel.to_owned()).or_insert(id);
                });
            }
        }
        graph
    }

    /// What the model answers next, one content per call.
    pub fn script_openai(&self, answers: &[String]) {
        self.openai.api(|o| o.answers = answers.iter().cloned().collect());
    }

    /// How many scripted answers are still unasked.
    pub fn unasked_openai(&self) -> usize {
        self.openai.api(|o| o.answers.len())
    }

    /// The fixture routes nothing called, as `METHOD path`.
    pub fn unhit_routes(&self) -> Vec<String> {
        self.api.api(|a| {
            a.routes.iter().filter(|(_, hits)| *hits == 0).map(|(r, _)| format!("{} {}", r.method, r.path)).collect()
        })
    }
}

/// `url` with its scheme, host and port replaced by `origin`; path and query (expressions
/// included) stay.
pub fn rehome(url: &str, origin: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_at = rest.find(['/', '?']).unwrap_or(rest.len());
    assert!(!rest[..path_at].contains("{{"), "the host of {url:?} is an expression");
    format!("{origin}{}", &rest[path_at..])
}
