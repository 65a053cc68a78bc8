//! The n8n corpus (`schema/tests/fixtures/n8n/corpus/`): workflows in n8n's export format covering
//! the nodes and expression forms people use, each with inputs and what n8n 1.123 itself computed
//! for them (`<name>.recorded.json`, written by `record.mjs` there). Each workflow is imported
//! through the API, pointed at loopback servers that speak Slack's, Google Sheets', OpenAI's and
//! SMTP's protocols (and a company directory and a CRM for the HTTP requests), published, and run by posting
//! each recorded input to the webhook URL the API gives. Then, field for field: every step n8n ran
//! ran here on the same branch with the same output, every step n8n did not run did not run here,
//! and what the services received (the Slack message, the sheet's row, the email, the chat
//! prompt) is what n8n sent. Numbers compare as numbers (JavaScript has one number type); sheet
//! cells compare as the text a sheet shows.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use aos_engine_link::testing::{Fake, openai, sheets, slack, smtp};
use aos_persistence::Backend;
use serde_json::{Map, Value, json};
use support_api::{Account, Api};
use support_http::wait_until;

both_backends!(the_corpus_runs_as_it_did_in_n8n);

const CORPUS: [&str; 5] = ["order-router", "lead-enrichment", "dates-and-data", "ai-support", "order-lines"];
/// Where the corpus's HTTP request nodes (and `record.mjs`) find the company directory.
const DIRECTORY_IN_CORPUS: &str = "http://127.0.0.1:18099";
/// The address the email steps send from, set as the importer's warnings ask.
const SENDER: &str = "support@example.com";
/// The password the mail server takes from [`SENDER`] (the secret the importer asks for).
const MAIL_PASSWORD: &str = "an-app-password";

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/tests/fixtures/n8n/corpus")
}

fn read_json(name: &str) -> Value {
    let path = corpus_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The loopback services the corpus talks to.
struct Services {
    slack: Fake<slack::Slack>,
    sheets: Fake<sheets::Sheets>,
    openai: Fake<openai::OpenAi>,
    smtp: smtp::SmtpServer,
    directory: String,
}

impl Services {
    async fn start() -> Self {
        let slack = slack::Slack::start().await;
        slack.api(|s| {
            s.channels.insert("#sales".into(), "C0SALES01".into());
            s.channels.insert("#enterprise".into(), "C0ENTERP1".into());
            s.channels.insert("#orders".into(), "C0ORDERS1".into());
        });
        let sheets = sheets::Sheets::start(&[]).await;
        sheets.api(|s| {
            let header = vec![json!("Email"), json!("Company"), json!("Score"), json!("Founded")];
            s.spreadsheets.insert("1LeadsSheetId".into(), BTreeMap::from([("Leads".to_owned(), vec![header])]));
        });
        let openai = openai::OpenAi::start().await;
        let credentials = Some((SENDER.to_owned(), MAIL_PASSWORD.to_owned()));
        let smtp = smtp::SmtpServer::start(smtp::Behaviour { credentials, ..smtp::Behaviour::default() }).await;
        Self { slack, sheets, openai, smtp, directory: directory().await }
    }

    /// Everything the service behind step `kind` has received, oldest first, as n8n's recording
    /// names it.
    fn sent(&self, kind: &str) -> Vec<Value> {
        match kind {
            "slack.post_message" => self.slack.api(|s| {
                s.posted
                    .iter()
                    .map(|(channel, text)| {
                        let name = s.channels.iter().find(|(_, id)| *id == channel).map(|(n, _)| n.clone());
                        json!({ "channel": name.unwrap_or_else(|| channel.clone()), "text": text })
                    })
                    .collect()
            }),
            "sheets.append" => {
                let rows = self.sheets.api(|s| s.spreadsheets["1LeadsSheetId"]["Leads"].clone());
                let header: Vec<String> = rows[0].iter().map(|c| c.as_str().unwrap_or_default().to_owned()).collect();
                rows[1..]
                    .iter()
                    .map(|row| header.iter().cloned().zip(row.iter().cloned()).collect::<Map<_, _>>().into())
                    .collect()
            }
            "email.send" => self
                .smtp
                .delivered()
                .iter()
                .map(|mail| {
                    json!({
                        "to": mail.rcpt_to.join(", "),
                        "subject": mail.header("Subject").unwrap_or_default(),
                        "body": mail.body().replace("\r\n", "\n").trim_end().to_owned(),
                    })
                })
                .collect(),
            "openai.chat" => self
                .openai
                .received()
                .iter()
                .map(|request| {
                    let said = |role: &str| {
                        request.body["messages"]
                            .as_array()
                            .and_then(|m| m.iter().find(|m| m["role"] == role))
                            .map(|m| m["content"].clone())
                            .unwrap_or(Value::Null)
                    };
                    json!({ "system": said("system"), "prompt": said("user") })
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// How many requests each service has received, to tell a case's from the ones before.
    fn counts(&self) -> BTreeMap<&'static str, usize> {
        SERVICE_KINDS.iter().map(|kind| (*kind, self.sent(kind).len())).collect()
    }
}

/// The step kinds whose output is compared as what their service received.
const SERVICE_KINDS: [&str; 4] = ["slack.post_message", "sheets.append", "email.send", "openai.chat"];

/// `values` in a stable order: iterations of a for-each may finish in any order.
fn sorted(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_key(Value::to_string);
    values
}

/// The company directory `record.mjs` serves to n8n, here on a port of its own.
async fn directory() -> String {
    let companies = read_json("companies.json");
    let app = axum::Router::new().route(
        "/companies/{domain}",
        axum::routing::get(move |axum::extract::Path(domain): axum::extract::Path<String>| {
            let company = companies.get(&domain).cloned();
            async move {
                match company {
                    Some(company) => (axum::http::StatusCode::OK, axum::Json(company)),
                    None => (axum::http::StatusCode::NOT_FOUND, axum::Json(json!({ "error": "unknown company" }))),
                }
            }
        }),
    );
    // the CRM echoes the form it is sent, as record.mjs's does
    let app = app.route(
        "/crm",
        axum::routing::post(|headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
            let received: Map<String, Value> = form_urlencoded::parse(&body)
                .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
                .collect();
            let form = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            axum::Json(json!({ "received": received, "form": form }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Whether `ours` is `n8n`'s value: the same JSON, numbers compared as numbers.
fn same(ours: &Value, n8n: &Value) -> bool {
    match (ours, n8n) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(key, value)| b.get(key).is_some_and(|other| same(value, other)))
        }
        _ => ours == n8n,
    }
}

/// A cell as a sheet shows it.
fn cell(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Imports the workflow, points it at the services, sets its secrets and publishes it; returns
/// its id, its webhook URL and its graph's nodes (id → (label, kind)).
async fn import_and_publish(
    api: &Api,
    owner: &Account,
    services: &Services,
    name: &str,
) -> (String, String, BTreeMap<String, (String, String)>) {
    let org = &owner.org_id;
    let bytes = std::fs::read(corpus_dir().join(format!("{name}.json"))).unwrap();
    let reply = api.raw("POST", &format!("/api/orgs/{org}/workflows/import"), Some(&owner.token), bytes).await;
    assert_eq!(reply.status, 201, "{name}: {reply:?}");
    let report = &reply.body["n8n"];
    let kept: Vec<&Value> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["message"].as_str().is_some_and(|m| m.starts_with("expression kept as written")))
        .collect();
    assert!(kept.is_empty(), "{name}: every expression of the corpus is translated: {kept:?}");
    let placeholders: Vec<&Value> =
        report["unmapped"].as_array().unwrap().iter().filter(|u| !u["placeholder"].is_null()).collect();
    assert!(placeholders.is_empty(), "{name}: every node maps: {placeholders:?}");
    for secret in report["secrets"].as_array().unwrap() {
        let secret = secret["name"].as_str().unwrap();
        let value = match secret {
            s if s.contains("SLACK") => slack::TOKEN,
            s if s.contains("SHEETS") || s.contains("GOOGLE") => sheets::TOKEN,
            s if s.contains("OPENAI") => openai::API_KEY,
            _ => MAIL_PASSWORD,
        };
        let made = api
            .post(&format!("/api/orgs/{org}/secrets"), &owner.token, json!({ "name": secret, "value": value }))
            .await;
        assert!(matches!(made.status, 201 | 409), "{name}: {made:?}");
    }
    let id = reply.body["id"].as_str().unwrap().to_owned();
    let mut graph = api.get(&format!("/api/workflows/{id}"), &owner.token).await.body["graph"].clone();
    let mut nodes = BTreeMap::new();
    for node in graph["nodes"].as_array_mut().unwrap() {
        let kind = node["kind"].as_str().unwrap().to_owned();
        nodes.insert(
            node["id"].as_str().unwrap().to_owned(),
            (node["label"].as_str().unwrap().to_owned(), kind.clone()),
        );
        let config = node["config"].as_object_mut().unwrap();
        match kind.as_str() {
            "slack.post_message" => drop(config.insert("base_url".into(), json!(slack::base_url(&services.slack)))),
            "sheets.append" | "sheets.read" => {
                config.insert("base_url".into(), json!(sheets::base_url(&services.sheets)));
            }
            "openai.chat" => drop(config.insert("base_url".into(), json!(openai::base_url(&services.openai)))),
            "email.send" => {
                config.insert("base_url".into(), json!(services.smtp.url()));
                config.insert("username".into(), json!(SENDER));
                if config.get("from").and_then(Value::as_str).is_none_or(str::is_empty) {
                    config.insert("from".into(), json!(SENDER));
                }
            }
            "http.request" => {
                let url = config["url"].as_str().unwrap().replace(DIRECTORY_IN_CORPUS, &services.directory);
                assert_ne!(url, config["url"].as_str().unwrap(), "{name}: requests go to the directory");
                config.insert("url".into(), json!(url));
            }
            _ => {}
        }
    }
    let put = api.call("PUT", &format!("/api/workflows/{id}/graph"), Some(&owner.token), Some(graph)).await;
    assert_eq!(put.status, 200, "{name}: {put:?}");
    let published = api.post(&format!("/api/workflows/{id}/publish"), &owner.token, json!({})).await;
    assert_eq!(published.status, 201, "{name}: {published:?}");
    let hooks = api.get(&format!("/api/workflows/{id}/webhooks"), &owner.token).await;
    let url = hooks.body[0]["url"].as_str().unwrap_or_else(|| panic!("{name}: a webhook URL: {hooks:?}")).to_owned();
    (id, url, nodes)
}

async fn run_detail(api: &Api, token: &str, run: &str) -> Value {
    let finished = wait_until(Duration::from_secs(30), || async {
        let detail = api.get(&format!("/api/runs/{run}"), token).await;
        matches!(detail.body["status"].as_str(), Some("succeeded" | "failed" | "dead_lettered" | "cancelled"))
    })
    .await;
    assert!(finished, "run {run} did not finish");
    api.get(&format!("/api/runs/{run}"), token).await.body
}

async fn the_corpus_runs_as_it_did_in_n8n(backend: Backend) {
    let api = Api::start_reaching_loopback(backend).await;
    let owner = api.signup("migrant").await;
    let services = Services::start().await;
    let mut compared = 0;
    for name in CORPUS {
        let recorded = read_json(&format!("{name}.recorded.json"));
        let (workflow, url, nodes) = import_and_publish(&api, &owner, &services, name).await;
        let responds = nodes.values().any(|(_, kind)| kind == "webhook.respond");
        for (at, case) in recorded["cases"].as_array().unwrap().iter().enumerate() {
            let input = &case["input"];
            let before = services.counts();
            let reply = api.client.post(&url).json(input).send().await.unwrap();
            let run = if responds {
                // a workflow with a respond step answers the request with it, as n8n did
                let status = reply.status().as_u16();
                let answer: Value = reply.json().await.unwrap();
                let n8n = &case["answer"];
                assert_eq!(Some(u64::from(status)), n8n["status"].as_u64(), "{name} #{at}: {answer}");
                assert!(same(&answer, &n8n["body"]), "{name} #{at}: answered {answer}\n n8n {}", n8n["body"]);
                let runs = api
                    .get(&format!("/api/orgs/{}/runs?workflow={workflow}&limit=1", owner.org_id), &owner.token)
                    .await;
                runs.body[0]["id"].as_str().unwrap_or_else(|| panic!("{name} #{at}: a run: {runs:?}")).to_owned()
            } else {
                assert_eq!(reply.status().as_u16(), 202, "{name} #{at}");
                reply.json::<aos_api::Accepted>().await.unwrap().run_id.to_string()
            };
            let detail = run_detail(&api, &owner.token, &run).await;
            assert_eq!(detail["status"], "succeeded", "{name} #{at}: {detail}");
            let steps: BTreeMap<String, &Value> = detail["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|step| (step["node_id"].as_str().unwrap().to_owned(), step))
                .collect();
            let outputs = case["outputs"].as_object().unwrap();
            for (id, (label, kind)) in &nodes {
                // a step inside a for-each ran once per item: `line[0]`, `line[1]`, …
                let iterations: Vec<&Value> = (0..)
                    .map_while(|i| steps.get(&format!("{id}[{i}]")).copied())
                    .filter(|s| s["status"] == "succeeded")
                    .collect();
                let ran_here = steps.get(id).is_some_and(|s| s["status"] == "succeeded") || !iterations.is_empty();
                let Some(n8n) = outputs.get(label) else {
                    assert!(!ran_here, "{name} #{at}: {label} did not run in n8n but ran here: {detail}");
                    continue;
                };
                assert!(ran_here, "{name} #{at}: {label} ran in n8n but not here: {detail}");
                if kind.starts_with("trigger.") {
                    continue;
                }
                let items = n8n["items"].as_array().cloned().unwrap_or_else(|| vec![n8n["json"].clone()]);
                let ours: Vec<Value> = if iterations.is_empty() {
                    vec![steps[id]["output"].clone()]
                } else {
                    iterations.iter().map(|s| s["output"].clone()).collect()
                };
                if SERVICE_KINDS.contains(&kind.as_str()) {
                    let sent = services.sent(kind)[before[kind.as_str()]..].to_vec();
                    assert_eq!(sent.len(), items.len(), "{name} #{at}: {label} sent {sent:?}, n8n {items:?}");
                    for (sent, want) in sorted(sent).iter().zip(sorted(items.clone()).iter()) {
                        match kind.as_str() {
                            // a sheet shows text
                            "sheets.append" => {
                                for (column, value) in want.as_object().unwrap() {
                                    assert_eq!(cell(&sent[column]), cell(value), "{name} #{at}: {label}, {column}");
                                }
                            }
                            "openai.chat" => {
                                assert_eq!(sent["system"], want["system"], "{name} #{at}: {label}");
                                assert_eq!(sent["prompt"], want["prompt"], "{name} #{at}: {label}");
                            }
                            _ => assert!(same(sent, want), "{name} #{at}: {label} sent {sent}, n8n {want}"),
                        }
                    }
                    if kind == "openai.chat" {
                        assert_eq!(ours[0]["content"], items[0]["output"], "{name} #{at}: {label} answered {ours:?}");
                    }
                } else if kind == "logic.for_each" {
                    // the items it fans out are n8n's items
                    let fanned = steps[id]["output"].clone();
                    let fanned = fanned.get("items").cloned().unwrap_or(fanned);
                    assert!(
                        same(&fanned, &Value::Array(items.clone())),
                        "{name} #{at}: {label}: {fanned} vs n8n {items:?}"
                    );
                } else {
                    assert_eq!(ours.len(), items.len(), "{name} #{at}: {label}: {ours:?} vs n8n {items:?}");
                    for (ours, want) in sorted(ours).iter().zip(sorted(items).iter()) {
                        match kind.as_str() {
                            // a step passing the webhook's item on: n8n's item also has the request's
                            // headers and URL, which differ between the two servers by nature
                            _ if want.get("webhookUrl").is_some() => {
                                assert!(
                                    same(&ours["body"], &want["body"]),
                                    "{name} #{at}: {label}: {ours} vs n8n {want}"
                                );
                                assert!(
                                    same(&ours["query"], &want["query"]),
                                    "{name} #{at}: {label}: {ours} vs n8n {want}"
                                );
                            }
                            "http.request" => {
                                assert!(same(&ours["body"], want), "{name} #{at}: {label}: {ours} vs n8n {want}");
                            }
                            _ => assert!(same(ours, want), "{name} #{at}: {label}: ours {ours}\n n8n {want}"),
                        }
                    }
                }
                compared += 1;
            }
        }
    }
    assert!(compared >= 25, "compared {compared} steps");
}
