//! The peers compared against, installed once into `/var/cache/automateos/peers` (only what is
//! missing) and started on loopback: n8n 1.123.0, Hocuspocus and y-websocket's reference server.
//! How they install here is written down in the project notes: n8n's `xlsx` comes from a CDN and
//! is overridden with the registry's version, and its sqlite3 is built against the system headers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::process::{Server, free_port, output};

pub const PEERS_DIR: &str = "/var/cache/automateos/peers";
pub const N8N_VERSION: &str = "1.123.0";

const N8N_PACKAGE: &str = r#"{ "private": true, "dependencies": { "n8n": "1.123.0" }, "overrides": { "xlsx": "0.18.5" } }
"#;
const YJS_SERVERS_PACKAGE: &str = r#"{ "private": true, "type": "module", "dependencies": { "@hocuspocus/server": "4.7.0", "yjs": "13.6.33", "y-websocket": "1.5.4" } }
"#;
const HOCUSPOCUS_SERVER: &str = "import { Server } from '@hocuspocus/server';
const port = Number(process.env.PORT ?? 1235);
await new Server({ port, address: '127.0.0.1', quiet: true }).listen();
";

fn n8n_dir() -> PathBuf {
    Path::new(PEERS_DIR).join("n8n")
}

fn yjs_dir() -> PathBuf {
    Path::new(PEERS_DIR).join("yjs-servers")
}

/// Installs n8n unless its binary is already there (about 4 minutes, 1.6 GB).
pub fn ensure_n8n() -> Result<()> {
    let dir = n8n_dir();
    if dir.join("node_modules/.bin/n8n").exists() && dir.join("node_modules/sqlite3/build").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("package.json"), N8N_PACKAGE)?;
    eprintln!("bench: installing n8n {N8N_VERSION} into {} (a few minutes)", dir.display());
    output(Command::new("npm").args(["install", "--no-audit", "--no-fund"]).current_dir(&dir), "npm install n8n")?;
    output(
        Command::new("npm").args(["rebuild", "sqlite3", "--build-from-source", "--nodedir=/usr"]).current_dir(&dir),
        "building n8n's sqlite3",
    )?;
    Ok(())
}

/// Installs Hocuspocus and y-websocket's reference server unless present.
pub fn ensure_yjs_servers() -> Result<()> {
    let dir = yjs_dir();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("hocuspocus.mjs"), HOCUSPOCUS_SERVER)?;
    if dir.join("node_modules/@hocuspocus/server").exists()
        && dir.join("node_modules/y-websocket/bin/server.js").exists()
    {
        return Ok(());
    }
    std::fs::write(dir.join("package.json"), YJS_SERVERS_PACKAGE)?;
    eprintln!("bench: installing Hocuspocus and y-websocket into {}", dir.display());
    output(
        Command::new("npm").args(["install", "--no-audit", "--no-fund"]).current_dir(&dir),
        "npm install yjs servers",
    )?;
    Ok(())
}

/// The version npm installed of `package` under `dir`.
pub fn installed_version(dir: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("version")?.as_str().map(str::to_owned)
}

/// Versions of every installed peer, for the report.
pub fn versions() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (dir, package) in
        [(n8n_dir(), "n8n"), (yjs_dir(), "@hocuspocus/server"), (yjs_dir(), "y-websocket"), (yjs_dir(), "yjs")]
    {
        let version = installed_version(&dir, package).unwrap_or_else(|| "not installed".to_owned());
        let label = if package == "y-websocket" { "y-websocket (server)".to_owned() } else { package.to_owned() };
        found.push((label, version));
    }
    found
}

/// A Yjs server started from the peers directory.
pub async fn start_yjs_server(kind: YjsServer, scratch: &Path) -> Result<(Server, u16)> {
    let dir = yjs_dir();
    let port = free_port()?;
    let mut command = Command::new("node");
    command.current_dir(&dir).env("PORT", port.to_string()).env("HOST", "127.0.0.1");
    match kind {
        YjsServer::Hocuspocus => command.arg("hocuspocus.mjs"),
        YjsServer::YWebsocket => command.arg("node_modules/y-websocket/bin/server.js"),
    };
    let mut server = Server::start(kind.name(), &mut command, &scratch.join(format!("{}.log", kind.name())))?;
    server.wait_port(port, Duration::from_secs(30)).await?;
    Ok((server, port))
}

#[derive(Debug, Clone, Copy)]
pub enum YjsServer {
    Hocuspocus,
    YWebsocket,
}

impl YjsServer {
    pub fn name(self) -> &'static str {
        match self {
            Self::Hocuspocus => "hocuspocus",
            Self::YWebsocket => "y-websocket",
        }
    }
}

/// n8n running with a webhook → `steps` Set nodes workflow, answering after the last node.
#[derive(Debug)]
pub struct N8n {
    pub server: Server,
    pub webhook_url: String,
}

const N8N_WORKFLOW_ID: &str = "aosBenchWebhook1";

/// The benchmark workflow: a POST webhook answering with the last node's output, then `steps`
/// Set nodes that keep the incoming fields and add none (no-ops).
fn n8n_workflow(steps: usize) -> serde_json::Value {
    let mut nodes = vec![serde_json::json!({
        "id": "00000000-0000-4000-8000-000000000000",
        "name": "Webhook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "webhookId": "00000000-0000-4000-8000-0000000000ff",
        "parameters": { "httpMethod": "POST", "path": "aos-bench", "responseMode": "lastNode", "options": {} }
    })];
    let mut connections = serde_json::Map::new();
    let mut previous = "Webhook".to_owned();
    for i in 1..=steps {
        let name = format!("Set {i}");
        nodes.push(serde_json::json!({
            "id": format!("00000000-0000-4000-8000-{i:012}"),
            "name": name,
            "type": "n8n-nodes-base.set",
            "typeVersion": 3.4,
            "position": [i * 200, 0],
            "parameters": { "mode": "manual", "includeOtherFields": true, "options": {} }
        }));
        connections
            .insert(previous.clone(), serde_json::json!({ "main": [[{ "node": name, "type": "main", "index": 0 }]] }));
        previous = name;
    }
    serde_json::json!({
        "id": N8N_WORKFLOW_ID,
        "name": "aos bench: webhook and no-op Set nodes",
        "versionId": "6d1c0c8e-5a3f-4a57-9c43-2f1f8f9e0b11",
        "active": false,
        "nodes": nodes,
        "connections": connections,
        "settings": { "executionOrder": "v1" }
    })
}

fn n8n_command(user_folder: &Path) -> Command {
    let mut command = Command::new(n8n_dir().join("node_modules/.bin/n8n"));
    command
        .current_dir(n8n_dir())
        .env("N8N_USER_FOLDER", user_folder)
        .env("N8N_LISTEN_ADDRESS", "127.0.0.1")
        .env("N8N_DIAGNOSTICS_ENABLED", "false")
        .env("N8N_VERSION_NOTIFICATIONS_ENABLED", "false")
        .env("N8N_TEMPLATES_ENABLED", "false")
        .env("N8N_PERSONALIZATION_ENABLED", "false");
    command
}

/// Starts n8n on a fresh user folder under `scratch` with the benchmark workflow imported and
/// active (import, a `workflow_history` row for the imported version, activate, then start).
pub async fn start_n8n(client: &reqwest::Client, scratch: &Path, steps: usize) -> Result<N8n> {
    let folder = scratch.join("n8n");
    std::fs::create_dir_all(&folder)?;
    let file = scratch.join("n8n-workflow.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&n8n_workflow(steps))?)?;
    eprintln!("bench: importing the n8n workflow (first use of a folder runs n8n's migrations)");
    output(
        n8n_command(&folder).arg("import:workflow").arg(format!("--input={}", file.display())),
        "n8n import:workflow",
    )?;
    let database = folder.join(".n8n/database.sqlite");
    output(
        Command::new("sqlite3").arg(&database).arg(
            "insert or ignore into workflow_history (versionId, workflowId, authors, nodes, connections, name) \
             select versionId, id, 'import', nodes, connections, name from workflow_entity;",
        ),
        "adding n8n's workflow_history row",
    )?;
    output(
        n8n_command(&folder).args(["update:workflow", &format!("--id={N8N_WORKFLOW_ID}"), "--active=true"]),
        "n8n update:workflow --active=true",
    )?;
    let port = free_port()?;
    let mut command = n8n_command(&folder);
    command.arg("start").env("N8N_PORT", port.to_string());
    let mut server = Server::start("n8n", &mut command, &scratch.join("n8n.log"))?;
    server
        .wait_ready(client, &format!("http://127.0.0.1:{port}/healthz"), Duration::from_secs(240))
        .await
        .context("n8n did not become healthy")?;
    // active workflows' webhooks are registered a few seconds after /healthz answers
    let webhook_url = format!("http://127.0.0.1:{port}/webhook/aos-bench");
    let started = std::time::Instant::now();
    loop {
        let answer = client.post(&webhook_url).json(&serde_json::json!({"warm": true})).send().await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            anyhow::bail!("n8n did not register the benchmark webhook:\n{}", super::process::tail(&server.log));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(N8n { server, webhook_url })
}
