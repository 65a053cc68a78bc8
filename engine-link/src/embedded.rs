//! The embedded engine: runs steps in this process. It checks the protocol version and the kind,
//! fills config defaults from the catalog, resolves expressions (secrets only here, inside the
//! call), runs the node, and redacts every secret value from what it returns.

use std::time::Instant;

use aos_schema::Catalog;

use crate::egress::{EgressPolicy, GuardedClient};
use crate::engine::{Engine, StepFuture};
use aos_schema::referenced_secrets;

use crate::expr::{Expressions, Redactor, Scope};
use crate::nodes::{self, NodeCall};
use crate::protocol::{PROTOCOL_VERSION, StepError, StepOutput, StepRequest};

/// How an engine is set up.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Which non-public destinations nodes may reach (`AOS_EGRESS_ALLOW`).
    pub egress: EgressPolicy,
}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
#[error("engine http client: {0}")]
pub struct EngineBuildError(#[from] reqwest::Error);

/// Executes steps in-process with the built-in nodes.
#[derive(Debug)]
pub struct EmbeddedEngine {
    catalog: Catalog,
    expressions: Expressions,
    http: GuardedClient,
}

impl EmbeddedEngine {
    pub fn new(config: EngineConfig) -> Result<Self, EngineBuildError> {
        Ok(Self {
            catalog: Catalog::builtin(),
            expressions: Expressions::new(),
            http: GuardedClient::new(config.egress)?,
        })
    }

    async fn run(&self, request: StepRequest) -> Result<StepOutput, StepError> {
        if request.protocol != PROTOCOL_VERSION {
            return Err(StepError::permanent(
                "unsupported_protocol",
                format!("protocol {:?} is not supported (this engine speaks {PROTOCOL_VERSION})", request.protocol),
            ));
        }
        let node = request.meta.node_id.as_str();
        let descriptor = self.catalog.get(&request.kind).ok_or_else(|| {
            StepError::permanent("unknown_kind", format!("node `{node}`: no node kind {:?}", request.kind))
        })?;
        let config = descriptor.config_with_defaults(&request.config);
        if let Some(missing) = referenced_secrets(&config).into_iter().find(|name| !request.secrets.contains_key(name))
        {
            return Err(StepError::permanent("missing_secret", format!("node `{node}`: secret {missing} is not set")));
        }
        let scope = Scope::new(&request.context, &request.secrets);
        let resolved = self.expressions.resolve_config(&config, &scope).map_err(|err| err.into_step_error(node))?;
        let call = NodeCall { config: resolved, context: &request.context, http: &self.http };
        nodes::run(&request.kind, call).await
    }
}

impl Engine for EmbeddedEngine {
    fn execute(&self, request: StepRequest) -> StepFuture<'_> {
        Box::pin(async move {
            let started = Instant::now();
            let redactor = Redactor::new(&request.secrets);
            // debug level: one of these per step is more than a trace needs (the caller's `step`
            // span covers the call), but `RUST_LOG=aos_engine_link=debug` shows them
            let span = tracing::debug_span!(
                "engine.execute",
                run_id = %request.meta.run_id,
                node_id = %request.meta.node_id,
                kind = %request.kind,
                attempt = request.meta.attempt,
            );
            let result = tracing::Instrument::instrument(self.run(request), span.clone()).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match result {
                Ok(mut output) => {
                    redactor.json(&mut output.output);
                    if let Some(response) = output.response.as_mut() {
                        redactor.json(&mut response.body);
                        response.headers.values_mut().for_each(|v| *v = redactor.text(v));
                    }
                    if let Some(items) = output.items.as_mut() {
                        items.iter_mut().for_each(|item| redactor.json(item));
                    }
                    span.in_scope(|| tracing::debug!(elapsed_ms, "step succeeded"));
                    Ok(output)
                }
                Err(mut error) => {
                    redactor.error(&mut error);
                    span.in_scope(|| tracing::debug!(elapsed_ms, code = %error.code, "step failed"));
                    Err(error)
                }
            }
        })
    }

    fn in_process(&self) -> bool {
        true
    }
}
