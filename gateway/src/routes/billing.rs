//! Usage, cost and credits: the price table, an org's balance and ledger, usage per org, workflow
//! and day over a range, a run's cost, and top-ups through the [`crate::payments`] provider.
//! Runs are refused with `402 credits_exhausted` when the balance is not positive
//! ([`require_credits`]).

use aos_api::{Balance, LedgerEntry, PricePlan, UsageSummary, UsageTotals};
use aos_persistence::{CreditSource, LedgerQuery, NewCredit, Timestamp, UsageRange};
use aos_schema::{OrgId, Role, RunId};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::payments::PaymentError;
use crate::state::AppState;
use crate::views;
use aos_api::ErrorCode;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/billing/plan", get(plan))
        .route("/api/orgs/{org_id}/billing", get(balance))
        .route("/api/orgs/{org_id}/billing/ledger", get(ledger))
        .route("/api/orgs/{org_id}/billing/top-up", post(top_up))
        .route("/api/orgs/{org_id}/usage", get(usage))
        .route("/api/runs/{id}/usage", get(run_usage))
}

/// Refuses to start a run for an org whose credits are used up.
pub(crate) async fn require_credits(state: &AppState, org: OrgId) -> Result<(), ApiError> {
    let balance = state.store.billing().balance(org).await?;
    if balance <= 0 {
        return Err(ApiError::PaymentRequired {
            message: format!("the org's credits are used up (balance {balance} micros); top up to run workflows"),
        });
    }
    Ok(())
}

/// Grants a new org its signup credits (once: the reference is unique per org).
pub(crate) async fn grant_signup_credits(
    state: &AppState,
    org: OrgId,
    by: aos_persistence::By,
) -> Result<(), ApiError> {
    if state.signup_credits_micros <= 0 {
        return Ok(());
    }
    let credit = NewCredit {
        org,
        amount_micros: state.signup_credits_micros,
        kind: CreditSource::Grant,
        reference: "signup".into(),
        memo: "signup grant".into(),
    };
    state.store.billing().add_credits(&credit, by).await?;
    Ok(())
}

async fn plan(State(state): State<AppState>, _principal: Principal) -> Result<ApiJson<PricePlan>, ApiError> {
    Ok(ApiJson(views::price_plan(state.store.billing().active_plan().await?)))
}

async fn balance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
) -> Result<ApiJson<Balance>, ApiError> {
    principal.access(&state, org_id, Role::Viewer, "org").await?;
    Ok(ApiJson(Balance { balance_micros: state.store.billing().balance(org_id).await? }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerParams {
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

async fn ledger(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiQuery(params): ApiQuery<LedgerParams>,
) -> Result<ApiJson<Vec<LedgerEntry>>, ApiError> {
    principal.access(&state, org_id, Role::Admin, "org").await?;
    let query = LedgerQuery { before_seq: params.before, limit: params.limit };
    let entries = state.store.billing().ledger(org_id, &query).await?;
    let runs: Vec<_> = entries.iter().filter_map(|entry| views::ledger_run(&entry.reference)).collect();
    let names = state.store.runs().workflow_names(org_id, &runs).await?;
    Ok(ApiJson(entries.into_iter().map(|entry| views::ledger_entry(entry, &names)).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpRequest {
    pub amount_micros: i64,
    /// The payment method, as the provider names it.
    pub payment_token: String,
}

/// The largest single top-up (10,000 currency units).
const MAX_TOP_UP_MICROS: i64 = 10_000 * 1_000_000;

async fn top_up(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<TopUpRequest>,
) -> Result<(StatusCode, ApiJson<LedgerEntry>), ApiError> {
    let access = principal.access(&state, org_id, Role::Admin, "org").await?;
    if body.amount_micros <= 0 || body.amount_micros > MAX_TOP_UP_MICROS {
        return Err(ApiError::bad_input(format!("amount_micros must be between 1 and {MAX_TOP_UP_MICROS}")));
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let charge =
        state.payments.charge(org_id, body.amount_micros, &body.payment_token, &key).await.map_err(
            |err| match err {
                PaymentError::Declined => ApiError::PaymentRequired { message: err.to_string() },
                PaymentError::Unavailable => ApiError::Unavailable { what: "the payment provider" },
            },
        )?;
    let credit = NewCredit {
        org: org_id,
        amount_micros: charge.amount_micros,
        kind: CreditSource::Topup,
        reference: charge.id,
        memo: "top-up".into(),
    };
    let added = state.store.billing().add_credits(&credit, access.actor).await?;
    let status = if added.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, ApiJson(views::ledger_entry(added.entry, &Default::default()))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    /// RFC 3339; 30 days before `to` when absent.
    pub from: Option<String>,
    /// RFC 3339; now when absent.
    pub to: Option<String>,
}

async fn usage(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(org_id): ApiPath<OrgId>,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> Result<ApiJson<UsageSummary>, ApiError> {
    principal.access(&state, org_id, Role::Viewer, "org").await?;
    let parse = |field: &str, text: &str| {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Timestamp::from_offset)
            .map_err(|_| ApiError::refused(ErrorCode::InvalidQuery, format!("{field} must be an RFC 3339 time")))
    };
    let to = params.to.as_deref().map(|t| parse("to", t)).transpose()?.unwrap_or_else(Timestamp::now);
    let from = params.from.as_deref().map(|t| parse("from", t)).transpose()?.unwrap_or(to - time::Duration::days(30));
    Ok(ApiJson(state.store.billing().usage_summary(org_id, UsageRange { from, to }).await?))
}

async fn run_usage(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<RunId>,
) -> Result<ApiJson<UsageTotals>, ApiError> {
    let run = state.store.runs().get(id).await?;
    principal.access(&state, run.org_id, Role::Viewer, "run").await?;
    Ok(ApiJson(state.store.billing().run_usage(run.org_id, id).await?))
}
