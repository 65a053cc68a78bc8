//! The secrets vault on both backends: values sealed at rest, never in the database in plaintext,
//! write-only, audited on every use, and re-sealed by key rotation.

use std::path::{Path, PathBuf};

use aos_persistence::testing::TestContext;
use aos_persistence::{Backend, By, DatabaseTarget, Db, SecretUse, Store, StoreError};
use aos_schema::SecretString;

use crate::fixtures::{by, owner_with_org};

const PLAINTEXT: &str = "xoxb-plaintext-canary-4f1d9c";

async fn values_are_write_only_and_each_use_is_audited(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (_other, other_org) = owner_with_org(&cx.store).await;
    let secrets = cx.store.secrets();
    let (meta, created) = secrets.put(org.id, "SLACK_TOKEN", &SecretString::new(PLAINTEXT), by(&owner)).await.unwrap();
    assert!(created);
    let (again, created) =
        secrets.put(org.id, "SLACK_TOKEN", &SecretString::new("xoxb-second"), by(&owner)).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, meta.id);
    let listed = secrets.list(org.id).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["SLACK_TOKEN"]);
    assert!(listed[0].last_used_at.is_none());
    let usage = SecretUse { by: By::System, purpose: "run:test/step:notify".into() };
    assert_eq!(secrets.reveal(org.id, "SLACK_TOKEN", &usage).await.unwrap().expose(), "xoxb-second");
    assert!(secrets.list(org.id).await.unwrap()[0].last_used_at.is_some());
    assert!(matches!(secrets.reveal(other_org.id, "SLACK_TOKEN", &usage).await, Err(StoreError::NotFound { .. })));
    let actions: Vec<String> =
        cx.store.audit().list(org.id, &Default::default()).await.unwrap().into_iter().map(|r| r.action).collect();
    assert_eq!(actions, ["org.create", "secret.create", "secret.update", "secret.use"]);
    secrets.delete(org.id, "SLACK_TOKEN", by(&owner)).await.unwrap();
    assert!(matches!(secrets.delete(org.id, "SLACK_TOKEN", by(&owner)).await, Err(StoreError::NotFound { .. })));
}

async fn a_ciphertext_moved_to_another_row_does_not_open(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let secrets = cx.store.secrets();
    secrets.put(org.id, "A", &SecretString::new("value-a"), by(&owner)).await.unwrap();
    secrets.put(org.id, "B", &SecretString::new("value-b"), by(&owner)).await.unwrap();
    let copy = "UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'A'), \
                nonce = (SELECT nonce FROM secrets WHERE name = 'A') WHERE name = 'B'";
    match cx.store.db() {
        Db::Sqlite(pool) => sqlx::query(copy).execute(pool).await.map(drop).unwrap(),
        Db::Postgres(pool) => sqlx::query(copy).execute(pool).await.map(drop).unwrap(),
    }
    let usage = SecretUse { by: By::System, purpose: "test".into() };
    let err = secrets.reveal(org.id, "B", &usage).await.unwrap_err();
    assert!(matches!(err, StoreError::Vault(aos_persistence::VaultError::Decrypt)), "{err:?}");
    assert!(!err.to_string().contains("value-a"));
}

async fn the_plaintext_is_nowhere_in_the_stored_bytes(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    cx.store.secrets().put(org.id, "CANARY", &SecretString::new(PLAINTEXT), by(&owner)).await.unwrap();
    let usage = SecretUse { by: By::System, purpose: "test".into() };
    cx.store.secrets().reveal(org.id, "CANARY", &usage).await.unwrap();
    // every row of every table, as text
    let tables = ["secrets", "audit_logs", "audit_chain_heads", "orgs", "users", "memberships"];
    for table in tables {
        let dump = table_dump(cx.store.db(), table).await;
        assert!(!dump.contains(PLAINTEXT), "plaintext found in {table}");
        assert!(!dump.is_empty());
    }
    // and the raw files
    let files = match (&cx.target, cx.backend) {
        (DatabaseTarget::SqliteFile(path), Backend::Sqlite) => sqlite_files(path),
        (_, _) => postgres_files(cx.store.db()).await,
    };
    assert!(!files.is_empty(), "found the database files to scan");
    let mut scanned = 0;
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        scanned += bytes.len();
        assert!(
            !bytes.windows(PLAINTEXT.len()).any(|w| w == PLAINTEXT.as_bytes()),
            "plaintext found in {}",
            file.display()
        );
    }
    assert!(scanned > 0, "scanned some bytes");
}

async fn rotation_reseals_every_row(cx: TestContext) {
    let (owner, org) = owner_with_org(&cx.store).await;
    let (owner2, org2) = owner_with_org(&cx.store).await;
    let secrets = cx.store.secrets();
    secrets.put(org.id, "ONE", &SecretString::new("v1"), by(&owner)).await.unwrap();
    secrets.put(org.id, "TWO", &SecretString::new("v2"), by(&owner)).await.unwrap();
    secrets.put(org2.id, "THREE", &SecretString::new("v3"), by(&owner2)).await.unwrap();
    let old_key = secrets.list(org.id).await.unwrap()[0].key_id.clone();
    // the store's keyring is fixed; rotation hands the new ring (a new key, the old ones kept for
    // opening) to reseal_all, then drops the old keys once no row needs them
    let rotated = cx.store.keyring().clone().rotated();
    assert_eq!(cx.store.secrets().reseal_all(&rotated).await.unwrap(), 3);
    assert_eq!(cx.store.secrets().reseal_all(&rotated).await.unwrap(), 0, "nothing left to re-seal");
    let pruned = rotated.pruned();
    assert_ne!(pruned.active_key_id(), old_key);
    let fresh = Store::from_db(cx.store.db().clone(), pruned).await.unwrap();
    let usage = SecretUse { by: By::System, purpose: "test".into() };
    assert_eq!(fresh.secrets().reveal(org.id, "TWO", &usage).await.unwrap().expose(), "v2");
    assert_eq!(fresh.secrets().reveal(org2.id, "THREE", &usage).await.unwrap().expose(), "v3");
    assert!(fresh.secrets().list(org.id).await.unwrap().iter().all(|m| m.key_id != old_key));
    let actions: Vec<String> =
        cx.store.audit().list(org2.id, &Default::default()).await.unwrap().into_iter().map(|r| r.action).collect();
    assert!(actions.contains(&"secret.reseal".to_owned()));
}

pub(crate) async fn table_dump(db: &Db, table: &str) -> String {
    match db {
        Db::Sqlite(pool) => {
            // SQLite has no row-to-text: quote every column of every row (text as itself, blobs as hex)
            let columns: Vec<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')")))
                    .fetch_all(pool)
                    .await
                    .unwrap();
            let exprs: Vec<String> = columns.iter().map(|c| format!("quote({c})")).collect();
            let rows: Vec<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {} FROM {table}", exprs.join(" || '|' || "))))
                    .fetch_all(pool)
                    .await
                    .unwrap();
            rows.join("\n")
        }
        Db::Postgres(pool) => {
            let sql = format!("SELECT row_to_json(t)::text FROM {table} t");
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap();
            rows.join("\n")
        }
    }
}

fn sqlite_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_owned()];
    for suffix in ["-wal", "-shm"] {
        let mut other = path.as_os_str().to_owned();
        other.push(suffix);
        files.push(PathBuf::from(other));
    }
    files.into_iter().filter(|f| f.exists()).collect()
}

/// The files of the test database's directory, after a checkpoint has written everything out.
async fn postgres_files(db: &Db) -> Vec<PathBuf> {
    let Db::Postgres(pool) = db else { return Vec::new() };
    sqlx::query("CHECKPOINT").execute(pool).await.expect("checkpoint (the test role must be a superuser)");
    let data_dir: String =
        sqlx::query_scalar("SELECT current_setting('data_directory')").fetch_one(pool).await.unwrap();
    let relation: String = sqlx::query_scalar("SELECT pg_relation_filepath('secrets')").fetch_one(pool).await.unwrap();
    let db_dir = Path::new(&data_dir).join(&relation).parent().map(Path::to_owned).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&db_dir)
        .unwrap_or_else(|err| panic!("read {}: {err}", db_dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    // the secrets table's own file must be among them
    assert!(files.iter().any(|f| f.ends_with(Path::new(&relation).file_name().unwrap())));
    files.sort();
    files
}

aos_persistence::conformance_suite!(
    values_are_write_only_and_each_use_is_audited,
    a_ciphertext_moved_to_another_row_does_not_open,
    the_plaintext_is_nowhere_in_the_stored_bytes,
    rotation_reseals_every_row,
);
