//! The logic and data nodes: condition, switch, for-each, delay, transform and respond-to-webhook.
//! They compute on the step's data only; routing and waiting are left to the run, which reads the
//! ports, items and wait the output names.

use serde_json::Value;

use super::{NodeCall, as_text, type_name};
use crate::expr::is_truthy;
use crate::protocol::{StepError, StepOutput, WebhookResponse};

/// Passes the input on `true` or `false`.
pub(super) fn condition(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let value = call.config.get("condition").ok_or_else(|| StepError::bad_config("condition", "is required"))?;
    let port = if is_truthy(value) { "true" } else { "false" };
    Ok(StepOutput { ports: Some(vec![port.to_owned()]), ..StepOutput::value(call.context.input.clone()) })
}

/// Passes the input on the first case (by port name) whose value equals `value`, else `default`.
pub(super) fn switch(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let value = as_text(call.config.get("value").unwrap_or(&Value::Null));
    let cases = call.string_map("cases")?;
    let port = cases
        .iter()
        .find(|(_, case)| **case == value)
        .map(|(port, _)| port.clone())
        .unwrap_or_else(|| "default".into());
    Ok(StepOutput { ports: Some(vec![port]), ..StepOutput::value(call.context.input.clone()) })
}

/// Names the items to fan out over.
pub(super) fn for_each(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let items = match call.config.get("items") {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(StepError::permanent(
                "not_a_list",
                format!("`items` must be a list, got {}", type_name(other)),
            ));
        }
    };
    Ok(StepOutput { items: Some(items.clone()), ..StepOutput::value(Value::Array(items)) })
}

/// Asks the run to wait before the next steps.
pub(super) fn delay(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let seconds = call.opt_number("seconds")?.ok_or_else(|| StepError::bad_config("seconds", "is required"))?;
    if !(0.0..=604_800.0).contains(&seconds) {
        return Err(StepError::bad_config("seconds", "must be between 0 and 604800"));
    }
    let wait_ms = (seconds * 1000.0).round() as u64;
    Ok(StepOutput { wait_ms: Some(wait_ms), ..StepOutput::value(call.context.input.clone()) })
}

/// The object of the rendered fields.
pub(super) fn transform(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    match call.config.get("fields") {
        Some(Value::Object(fields)) => Ok(StepOutput::value(Value::Object(fields.clone()))),
        None | Some(Value::Null) => Err(StepError::bad_config("fields", "is required")),
        Some(other) => {
            Err(StepError::bad_config("fields", format!("must be key-value pairs, got {}", type_name(other))))
        }
    }
}

/// The HTTP answer for the webhook caller; the input passes on unchanged.
pub(super) fn respond(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let status = call.opt_number("status")?.unwrap_or(200.0);
    if !(100.0..=599.0).contains(&status) || status.fract() != 0.0 {
        return Err(StepError::bad_config("status", "must be an HTTP status between 100 and 599"));
    }
    let headers = call.string_map("headers")?;
    let body = call.config.get("body").cloned().unwrap_or(Value::Null);
    Ok(StepOutput {
        response: Some(WebhookResponse { status: status as u16, headers, body }),
        ..StepOutput::value(call.context.input.clone())
    })
}
