//! The store-only commands of the real binary, on SQLite and Postgres: `automateos user create`
//! (password on stdin), `automateos import` and `automateos export`, whose output re-imports to
//! the same bytes.

use std::io::Write;
use std::process::{Command, Stdio};

use aos_persistence::testing::TestStore;
use aos_persistence::{Backend, DatabaseTarget};
use serde_json::{Value, json};

fn automateos(store_args: &[String], args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_automateos"))
        .args(args)
        .args(store_args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run automateos");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn user_import_export(backend: Backend) {
    let fixture = TestStore::new(backend).await;
    let dir = std::env::temp_dir().join(format!("aos-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut store_args = vec!["--data-dir".to_owned(), dir.join("data").display().to_string()];
    match &fixture.target {
        DatabaseTarget::Postgres(url) => store_args.extend(["--database-url".to_owned(), url.clone()]),
        DatabaseTarget::SqliteFile(path) => {
            store_args.extend(["--database-url".to_owned(), format!("sqlite:{}", path.display())])
        }
    }
    let args = ["user", "create", "--email", "Cli@Example.test", "--name", "Cli", "--org-name", "Cli org"];
    let (ok, _, stderr) = automateos(&store_args, &args, Some("short\n"));
    assert!(!ok && stderr.contains("at least 8"), "{stderr}");
    // the API's account rules, word for word
    let bad_email = ["user", "create", "--email", "not-an-email", "--name", "Cli", "--org-name", "Cli org"];
    let (ok, _, stderr) = automateos(&store_args, &bad_email, Some("a long enough password\n"));
    assert!(!ok && stderr.contains("email is not a valid address"), "{stderr}");
    let blank_name = ["user", "create", "--email", "blank@example.test", "--name", " ", "--org-name", "Cli org"];
    let (ok, _, stderr) = automateos(&store_args, &blank_name, Some("a long enough password\n"));
    assert!(!ok && stderr.contains("name must not be empty"), "{stderr}");
    let long = "x".repeat(1025);
    let (ok, _, stderr) = automateos(&store_args, &args, Some(&format!("{long}\n")));
    assert!(!ok && stderr.contains("at most 1024 bytes"), "{stderr}");
    let (ok, stdout, stderr) = automateos(&store_args, &args, Some("a long enough password\n"));
    assert!(ok, "{stderr}");
    let created: Value = serde_json::from_str(stdout.trim()).unwrap();
    let org = created["org_id"].as_str().unwrap().to_owned();
    let user = fixture.store.orgs().user_by_email("cli@example.test").await.unwrap().expect("the account");
    assert!(user.password_hash.starts_with("$argon2id$"));

    let file = dir.join("in.json");
    let graph = json!({ "nodes": [{ "id": "start", "kind": "trigger.manual", "label": "Start", "position": { "x": 0.0, "y": 0.0 }, "config": {} }], "edges": [] });
    std::fs::write(
        &file,
        json!({ "format": "automateos.workflow/v1", "name": "From CLI", "graph": graph }).to_string(),
    )
    .unwrap();
    let (ok, stdout, stderr) =
        automateos(&store_args, &["import", "--org", &org, "--file", &file.display().to_string()], None);
    assert!(ok, "{stderr}");
    let id = serde_json::from_str::<Value>(stdout.trim()).unwrap()["id"].as_str().unwrap().to_owned();
    let (ok, first, stderr) = automateos(&store_args, &["export", "--workflow", &id], None);
    assert!(ok, "{stderr}");
    assert!(first.contains("\"From CLI\""));
    std::fs::write(&file, &first).unwrap();
    let (ok, stdout, _) =
        automateos(&store_args, &["import", "--org", &org, "--file", &file.display().to_string()], None);
    assert!(ok);
    let again = serde_json::from_str::<Value>(stdout.trim()).unwrap()["id"].as_str().unwrap().to_owned();
    let out = dir.join("out.json");
    let (ok, _, stderr) =
        automateos(&store_args, &["export", "--workflow", &again, "--out", &out.display().to_string()], None);
    assert!(ok, "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), first, "export → import → export keeps the bytes");

    std::fs::write(&file, "{ not json").unwrap();
    let (ok, _, stderr) =
        automateos(&store_args, &["import", "--org", &org, "--file", &file.display().to_string()], None);
    assert!(!ok && stderr.contains("malformed json"), "{stderr}");
    let key_file = dir.join("data/jwt.key");
    let (ok, _, stderr) = automateos(&store_args, &["keys", "rotate-jwt"], None);
    assert!(ok, "{stderr}");
    let first_key = std::fs::read_to_string(&key_file).unwrap();
    let (ok, _, _) = automateos(&store_args, &["keys", "rotate-jwt"], None);
    assert!(ok);
    assert_ne!(std::fs::read_to_string(&key_file).unwrap(), first_key, "a fresh key each time");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    std::fs::remove_dir_all(dir).unwrap();
    fixture.cleanup().await;
}

#[tokio::test]
async fn sqlite_user_import_export() {
    user_import_export(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_user_import_export() {
    user_import_export(Backend::Postgres).await;
}
