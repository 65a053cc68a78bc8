//! An `automateos` child process for the tests that need the real binary (its own global
//! subscriber, recorder and exporter): started on a free port with a clean environment plus the
//! test's, its stderr (the log lines) in a file, killed if dropped, stopped with SIGTERM so it
//! exits cleanly and flushes what it exports.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::support_http::{http, wait_until};

/// Variables of the test's own environment the child must not inherit.
const INHERITED: [&str; 11] = [
    "DATABASE_URL",
    "REDIS_URL",
    "AOS_MASTER_KEY",
    "AOS_LOG_FORMAT",
    "AOS_SERVICE_NAME",
    "RUST_LOG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_SAMPLER",
    "OTEL_SERVICE_NAME",
];

pub struct Process {
    child: tokio::process::Child,
    pub url: String,
    /// Its scratch dir: `data/` (the data dir) and `stderr.log`.
    pub dir: PathBuf,
}

impl Process {
    /// Starts `automateos <args> --addr 127.0.0.1:<free port>` with `env`, waiting for `/healthz`.
    pub async fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("aos-process-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_automateos"));
        command.args(args).args(["--addr", &format!("127.0.0.1:{port}")]);
        for inherited in INHERITED {
            command.env_remove(inherited);
        }
        command.env("AOS_DATA_DIR", dir.join("data")).envs(env.iter().copied());
        let child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let health = format!("{url}/healthz");
        let client = http();
        let up = wait_until(Duration::from_secs(60), || {
            let request = client.get(&health);
            async move { matches!(request.send().await, Ok(r) if r.status() == 200) }
        })
        .await;
        assert!(up, "automateos {args:?} became healthy");
        Self { child, url, dir }
    }

    /// SIGTERM, a clean exit, and the process's log lines; the scratch dir stays for the caller.
    pub async fn stop(mut self) -> (String, PathBuf) {
        let pid = self.child.id().unwrap();
        let killed = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.unwrap().unwrap();
        let logs = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap();
        assert!(status.success(), "{status:?}\n{logs}");
        (logs, self.dir.clone())
    }

    /// [`stop`](Self::stop), removing the scratch dir.
    pub async fn stop_and_clean(self) -> String {
        let (logs, dir) = self.stop().await;
        std::fs::remove_dir_all(&dir).unwrap();
        logs
    }
}
