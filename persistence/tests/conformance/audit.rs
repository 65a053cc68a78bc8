//! The audit chain: append-only in the database, hash-chained per org, tamper found by verify.

use aos_persistence::testing::TestContext;
use aos_persistence::{AuditEntry, AuditQuery, Backend, By, Db, StoreError};

use crate::fixtures::owner_with_org;

async fn chain_links_every_row_and_verifies(cx: TestContext) {
    let (_owner, org) = owner_with_org(&cx.store).await;
    for n in 0..5 {
        let entry = AuditEntry::new(org.id, By::System, "test.event", ("thing", n.to_string()))
            .with_detail(serde_json::json!({ "n": n }));
        cx.store.audit().record(&entry).await.unwrap();
    }
    let rows = cx.store.audit().list(org.id, &Default::default()).await.unwrap();
    assert_eq!(rows.len(), 6);
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].chain_seq, pair[0].chain_seq + 1);
    }
    let verified = cx.store.audit().verify(org.id).await.unwrap();
    assert!(verified.is_intact(), "{verified:?}");
    assert_eq!(verified.rows_checked, 6);
    // newest first, paged back by position
    let newest = AuditQuery { newest_first: true, limit: Some(4), ..Default::default() };
    let page = cx.store.audit().list(org.id, &newest).await.unwrap();
    let seqs: Vec<i64> = page.iter().map(|r| r.chain_seq).collect();
    assert_eq!(seqs, [6, 5, 4, 3]);
    let older = AuditQuery { before_chain_seq: Some(3), ..newest };
    let rest: Vec<i64> = cx.store.audit().list(org.id, &older).await.unwrap().iter().map(|r| r.chain_seq).collect();
    assert_eq!(rest, [2, 1]);
    let tests_only = AuditQuery { action_prefix: Some("test.".into()), newest_first: true, ..Default::default() };
    assert_eq!(cx.store.audit().list(org.id, &tests_only).await.unwrap().len(), 5);
}

async fn concurrent_appends_never_fork_the_chain(cx: TestContext) {
    let (_owner, org) = owner_with_org(&cx.store).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let store = cx.store.clone();
        tasks.push(tokio::spawn(async move {
            let entry = AuditEntry::new(org.id, By::System, "test.concurrent", ("thing", n.to_string()));
            store.audit().record(&entry).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let verified = cx.store.audit().verify(org.id).await.unwrap();
    assert!(verified.is_intact(), "{verified:?}");
    assert_eq!(verified.rows_checked, 17);
}

async fn database_refuses_update_and_delete_of_append_only_tables(cx: TestContext) {
    let (_owner, org) = owner_with_org(&cx.store).await;
    let db = cx.store.db();
    for statement in [
        "UPDATE audit_logs SET action = 'forged'",
        "DELETE FROM audit_logs",
        "UPDATE run_logs SET message = 'forged'",
        "DELETE FROM run_logs",
        "UPDATE doc_updates SET origin = 'forged'",
        "DELETE FROM doc_updates",
    ] {
        // run_logs and doc_updates need a row for a row trigger to fire
        seed_log_rows(db, org.id).await;
        let err = raw(db, statement).await.expect_err(statement);
        assert!(matches!(err, StoreError::AppendOnly { .. }), "{statement}: {err:?}");
    }
    if cx.backend == Backend::Postgres {
        for statement in ["TRUNCATE audit_logs", "TRUNCATE run_logs", "TRUNCATE doc_updates", "TRUNCATE credit_ledger"]
        {
            let err = raw(db, statement).await.expect_err(statement);
            assert!(matches!(err, StoreError::AppendOnly { .. }), "{statement}: {err:?}");
        }
    }
    assert!(cx.store.audit().verify(org.id).await.unwrap().is_intact());
}

async fn verify_finds_a_tampered_row(cx: TestContext) {
    let (_owner, org) = owner_with_org(&cx.store).await;
    for n in 0..4 {
        let entry = AuditEntry::new(org.id, By::System, "test.event", ("thing", n.to_string()));
        cx.store.audit().record(&entry).await.unwrap();
    }
    // someone with DDL rights gets past the trigger and rewrites row 3
    let db = cx.store.db();
    match cx.backend {
        Backend::Sqlite => {
            raw(db, "DROP TRIGGER audit_logs_append_only_update").await.unwrap();
        }
        Backend::Postgres => {
            raw(db, "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only").await.unwrap();
        }
    }
    raw(db, "UPDATE audit_logs SET target_id = 'forged' WHERE chain_seq = 3").await.unwrap();
    let verified = cx.store.audit().verify(org.id).await.unwrap();
    let broken = verified.broken_at.expect("tampering found");
    assert_eq!(broken.chain_seq, 3);
    assert_eq!(broken.reason, "content does not match its hash");
}

async fn verify_finds_a_removed_tail_row(cx: TestContext) {
    let (_owner, org) = owner_with_org(&cx.store).await;
    let entry = AuditEntry::new(org.id, By::System, "test.event", ("thing", "x".into()));
    cx.store.audit().record(&entry).await.unwrap();
    let db = cx.store.db();
    match cx.backend {
        Backend::Sqlite => raw(db, "DROP TRIGGER audit_logs_append_only_delete").await.unwrap(),
        Backend::Postgres => raw(db, "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only").await.unwrap(),
    }
    raw(db, "DELETE FROM audit_logs WHERE chain_seq = 2").await.unwrap();
    let verified = cx.store.audit().verify(org.id).await.unwrap();
    assert_eq!(verified.broken_at.expect("removal found").chain_seq, 2);
}

async fn seed_log_rows(db: &Db, org: aos_schema::OrgId) {
    let run = uuid::Uuid::new_v4();
    let now = aos_persistence::now();
    match db {
        Db::Sqlite(pool) => {
            sqlx::query("INSERT INTO run_logs (run_id, org_id, workflow_id, level, event, message, data, created_at) VALUES ($1, $2, $1, 'info', 'seed', 'seed', '{}', $3)")
                .bind(run).bind(org.as_uuid()).bind(now).execute(pool).await.unwrap();
            sqlx::query(
                "INSERT INTO doc_updates (workflow_id, update_bytes, origin, created_at) VALUES ($1, $2, 'seed', $3)",
            )
            .bind(run)
            .bind(vec![0u8])
            .bind(now)
            .execute(pool)
            .await
            .unwrap();
        }
        Db::Postgres(pool) => {
            sqlx::query("INSERT INTO run_logs (run_id, org_id, workflow_id, level, event, message, data, created_at) VALUES ($1, $2, $1, 'info', 'seed', 'seed', '{}', $3)")
                .bind(run).bind(org.as_uuid()).bind(now).execute(pool).await.unwrap();
            sqlx::query(
                "INSERT INTO doc_updates (workflow_id, update_bytes, origin, created_at) VALUES ($1, $2, 'seed', $3)",
            )
            .bind(run)
            .bind(vec![0u8])
            .bind(now)
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

/// Runs raw SQL the way an attacker with a database shell would.
async fn raw(db: &Db, statement: &'static str) -> Result<(), StoreError> {
    match db {
        Db::Sqlite(pool) => sqlx::query(statement).execute(pool).await.map(drop).map_err(StoreError::from),
        Db::Postgres(pool) => sqlx::query(statement).execute(pool).await.map(drop).map_err(StoreError::from),
    }
}

aos_persistence::conformance_suite!(
    chain_links_every_row_and_verifies,
    concurrent_appends_never_fork_the_chain,
    database_refuses_update_and_delete_of_append_only_tables,
    verify_finds_a_tampered_row,
    verify_finds_a_removed_tail_row,
);
