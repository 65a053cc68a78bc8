//! Credits and usage over real HTTP on SQLite and Postgres: the signup grant, `402` when credits
//! are used up (and nothing is created), top-ups through the test payment provider (declined,
//! accepted, retried with the same key), usage and cost after a run, and the audit endpoints.

#[path = "support/api.rs"]
mod support_api;
#[path = "support/http.rs"]
mod support_http;

use std::time::Duration;

use aos_persistence::{Backend, By, CreditSource, NewCredit};
use serde_json::json;
use support_api::{Api, runnable_graph};
use support_http::wait_until;

both_backends!(credits_gate_runs_and_usage_is_priced);

async fn credits_gate_runs_and_usage_is_priced(backend: Backend) {
    let api = Api::start_with_actors(backend).await;
    let alice = api.signup("alice").await;
    let org = alice.org_id.clone();
    let balance = api.get(&format!("/api/orgs/{org}/billing"), &alice.token).await;
    assert_eq!(balance.body["balance_micros"], 5_000_000, "the signup grant");

    let created = api.post(&format!("/api/orgs/{org}/workflows"), &alice.token, json!({ "name": "w" })).await;
    let wf = created.body["id"].as_str().unwrap().to_owned();
    api.call("PUT", &format!("/api/workflows/{wf}/graph"), Some(&alice.token), Some(runnable_graph("trigger.manual")))
        .await;
    assert_eq!(api.post(&format!("/api/workflows/{wf}/publish"), &alice.token, json!({})).await.status, 201);

    // Spend everything: runs are refused with 402 and none is created.
    let org_id: aos_schema::OrgId = org.parse().unwrap();
    let drain = NewCredit {
        org: org_id,
        amount_micros: -5_000_000,
        kind: CreditSource::Refund,
        reference: "drain".into(),
        memo: String::new(),
    };
    api.store.billing().add_credits(&drain, By::System).await.unwrap();
    let refused = api.post(&format!("/api/workflows/{wf}/runs"), &alice.token, json!({ "input": { "n": 1 } })).await;
    assert_eq!((refused.status, refused.code()), (402, "credits_exhausted"), "{refused:?}");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("top up"));
    assert!(api.get(&format!("/api/orgs/{org}/runs"), &alice.token).await.body.as_array().unwrap().is_empty());
    let source = api.post(&format!("/api/workflows/{wf}/webhooks"), &alice.token, json!({})).await;
    assert_eq!(source.status, 201, "{source:?}");
    let token = source.body["token"].as_str().unwrap();
    let hook = api.client.post(api.url(&format!("/hooks/{token}"))).json(&json!({ "n": 1 })).send().await.unwrap();
    assert_eq!(hook.status().as_u16(), 402, "a webhook delivery is a run too");
    assert!(api.get(&format!("/api/orgs/{org}/runs"), &alice.token).await.body.as_array().unwrap().is_empty());

    let declined = api
        .post(
            &format!("/api/orgs/{org}/billing/top-up"),
            &alice.token,
            json!({ "amount_micros": 2_000_000, "payment_token": "tok_declined" }),
        )
        .await;
    assert_eq!(declined.status, 402);
    let top_up = |key: &'static str| {
        api.client
            .post(api.url(&format!("/api/orgs/{org}/billing/top-up")))
            .bearer_auth(&alice.token)
            .header("idempotency-key", key)
            .json(&json!({ "amount_micros": 2_000_000, "payment_token": "tok_test_visa" }))
            .send()
    };
    assert_eq!(top_up("pay-1").await.unwrap().status().as_u16(), 201);
    assert_eq!(top_up("pay-1").await.unwrap().status().as_u16(), 200, "a retried top-up adds once");
    let balance = api.get(&format!("/api/orgs/{org}/billing"), &alice.token).await;
    assert_eq!(balance.decoded::<aos_api::Balance>().balance_micros, 2_000_000);

    let started = api.post(&format!("/api/workflows/{wf}/runs"), &alice.token, json!({ "input": { "n": 1 } })).await;
    assert_eq!(started.status, 201, "{started:?}");
    let run = started.body["run_id"].as_str().unwrap().to_owned();
    let priced = wait_until(Duration::from_secs(20), || async {
        let usage = api.get(&format!("/api/runs/{run}/usage"), &alice.token).await.decoded::<aos_api::UsageTotals>();
        usage.steps >= 2 && usage.cost_micros > 0
    })
    .await;
    assert!(priced, "the run's usage is recorded and priced");
    let summary = api.get(&format!("/api/orgs/{org}/usage"), &alice.token).await;
    assert_eq!(summary.status, 200, "{summary:?}");
    let summary: aos_api::UsageSummary = summary.decoded();
    assert_eq!(summary.totals.runs, 1);
    assert_eq!(summary.by_workflow[0].workflow_id.to_string(), wf);
    assert_eq!(summary.by_day.len(), 1);
    let bad = api.get(&format!("/api/orgs/{org}/usage?from=yesterday"), &alice.token).await;
    assert_eq!((bad.status, bad.decoded::<aos_api::ErrorBody>().error.code.as_str()), (400, "invalid_query"));
    let plan = api.get("/api/billing/plan", &alice.token).await.decoded::<aos_api::PricePlan>();
    assert!(plan.active && plan.run_micros >= 0, "{plan:?}");
    let ledger = api.get(&format!("/api/orgs/{org}/billing/ledger"), &alice.token).await;
    let ledger: Vec<aos_api::LedgerEntry> = ledger.decoded();
    assert!(ledger.iter().any(|row| row.kind == aos_schema::CreditKind::Topup && row.amount_micros == 2_000_000));
    let debit = ledger.iter().find(|row| row.kind == aos_schema::CreditKind::Usage).expect("the run's debit");
    assert!(debit.amount_micros < 0, "{debit:?}");
    assert_eq!(debit.run_id.map(|id| id.to_string()), Some(run.clone()), "the debit names its run: {debit:?}");
    assert_eq!(debit.workflow_name.as_deref(), Some("w"), "and its workflow by name: {debit:?}");
    assert!(!debit.memo.contains(&run), "the memo reads without the run's id: {debit:?}");

    let audit = api.get(&format!("/api/orgs/{org}/audit?action=workflow."), &alice.token).await;
    assert_eq!(audit.status, 200);
    let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|r| r["action"].as_str()).collect();
    assert!(actions.contains(&"workflow.create") && actions.iter().all(|a| a.starts_with("workflow.")), "{actions:?}");
    let newest = api.get(&format!("/api/orgs/{org}/audit?order=newest&limit=2"), &alice.token).await;
    let seqs: Vec<i64> = newest.body.as_array().unwrap().iter().filter_map(|r| r["chain_seq"].as_i64()).collect();
    assert!(seqs.len() == 2 && seqs[0] > seqs[1], "newest first: {newest:?}");
    let older = api.get(&format!("/api/orgs/{org}/audit?order=newest&before={}", seqs[1]), &alice.token).await;
    assert!(older.body.as_array().unwrap().iter().all(|r| r["chain_seq"].as_i64() < Some(seqs[1])), "{older:?}");
    let unknown = api.get(&format!("/api/orgs/{org}/audit?order=sideways"), &alice.token).await;
    assert_eq!(unknown.status, 400, "{unknown:?}");
    let verified = api.get(&format!("/api/orgs/{org}/audit/verify"), &alice.token).await;
    assert_eq!(verified.status, 200);
    let verified: aos_api::ChainVerification = verified.decoded();
    assert!(verified.is_intact() && verified.rows_checked > 3, "{verified:?}");
    api.finish().await;
}
