//! Making Postgres and Redis answer on 127.0.0.1 for the tests: use them when already running,
//! start them where installed but stopped, install them with apt where missing. Also the tools
//! tests call (`docker-compose`, which validates the deployment's compose file, and Chromium for
//! the browser scenarios).

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::status;

const POSTGRES_ADDR: &str = "127.0.0.1:5432";
const REDIS_ADDR: &str = "127.0.0.1:6379";
/// The role and password the tests connect with; trust auth ignores the password, scram uses it.
const POSTGRES_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";
const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Postgres up and reachable over TCP with a password; returns the admin URL for tests.
pub fn ensure_postgres() -> Result<String> {
    if let Ok(url) = std::env::var("AOS_TEST_DATABASE_URL") {
        return Ok(url);
    }
    if !answers(POSTGRES_ADDR) {
        if !Path::new("/usr/bin/pg_ctlcluster").exists() {
            apt_install(&["postgresql"])?;
        }
        start_postgres()?;
        wait_for(POSTGRES_ADDR, Duration::from_secs(60)).context("postgres did not start")?;
    }
    if !psql_ok(POSTGRES_URL) {
        // A fresh install accepts TCP logins only with a password: give the postgres role one.
        eprintln!("xtask: setting a password for the local postgres role (test setup)");
        status(
            Command::new("runuser").args([
                "-u",
                "postgres",
                "--",
                "psql",
                "-q",
                "-c",
                "ALTER ROLE postgres PASSWORD 'postgres'",
            ]),
            "setting the postgres password",
        )?;
        if !psql_ok(POSTGRES_URL) {
            bail!("postgres answers on {POSTGRES_ADDR} but refuses {POSTGRES_URL}; set AOS_TEST_DATABASE_URL");
        }
    }
    Ok(POSTGRES_URL.to_owned())
}

/// Redis up on 127.0.0.1:6379; returns its URL.
pub fn ensure_redis() -> Result<String> {
    if let Ok(url) = std::env::var("AOS_TEST_REDIS_URL") {
        return Ok(url);
    }
    if !answers(REDIS_ADDR) {
        if which("redis-server").is_none() {
            apt_install(&["redis-server"])?;
        }
        status(
            Command::new("redis-server").args([
                "--bind",
                "127.0.0.1",
                "--port",
                "6379",
                "--daemonize",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
            ]),
            "starting redis",
        )?;
        wait_for(REDIS_ADDR, Duration::from_secs(20)).context("redis did not start")?;
    }
    Ok(REDIS_URL.to_owned())
}

/// `docker-compose` on the PATH (Debian's package; `xtask/tests/deploy.rs` runs its `config`).
pub fn ensure_docker_compose() -> Result<()> {
    if which("docker-compose").is_none() {
        apt_install(&["docker-compose"])?;
    }
    Ok(())
}

/// Debian's Chromium (the browser scenarios drive `/usr/bin/chromium` headless; no test tool
/// downloads a browser of its own).
pub fn ensure_chromium() -> Result<()> {
    if !std::path::Path::new("/usr/bin/chromium").exists() {
        apt_install(&["chromium", "chromium-driver"])?;
    }
    Ok(())
}

fn start_postgres() -> Result<()> {
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .context("postgres is installed but /etc/postgresql has no cluster")?
        .filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    let version = versions.iter().max().context("no postgres cluster configured")?;
    eprintln!("xtask: starting postgres {version}");
    status(
        Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", version, "main", "start"]),
        "starting postgres",
    )
}

pub(crate) fn apt_install(packages: &[&str]) -> Result<()> {
    eprintln!("xtask: installing {} with apt", packages.join(" "));
    status(Command::new("apt-get").arg("update").arg("-q"), "apt-get update")?;
    status(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get install",
    )
}

fn psql_ok(url: &str) -> bool {
    Command::new("psql")
        .args([url, "-q", "-t", "-c", "SELECT 1"])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn answers(addr: &str) -> bool {
    addr.parse::<SocketAddr>().is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

fn wait_for(addr: &str, limit: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if answers(addr) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("nothing answers on {addr} after {limit:?}")
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(program)).find(|p| p.exists())
}
