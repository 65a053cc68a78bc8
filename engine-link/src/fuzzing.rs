//! The fuzz entry point of the expression engine: any text evaluated as a config string against a
//! step scope that holds a secret. It must never panic, evaluation stays bounded (fuel), and after
//! redaction neither the value nor the error message holds the secret's plaintext. The cargo-fuzz
//! target `expression` and `tests/fuzz_regressions.rs` both call [`expression`].

use std::collections::BTreeMap;

use aos_schema::SecretString;
use serde_json::json;

use crate::expr::{Expressions, Redactor, Scope};
use crate::protocol::{ItemContext, StepContext, WireSecret};

/// The secret value the fuzzed expressions can read as `secrets.TOKEN`.
pub const FUZZ_SECRET: &str = "zq-fuzz-secret-7731";

/// Evaluates `data` (lossy UTF-8) as one config string.
pub fn expression(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let context = StepContext {
        trigger: json!({ "body": { "email": "ada@example.test", "n": 3, "tags": ["a", "b"] }, "headers": {} }),
        steps: serde_json::from_value(json!({ "fetch": { "output": { "items": [{ "id": 1 }, { "id": 2 }] } } }))
            .unwrap_or_default(),
        input: json!({ "tier": "gold", "amount": 12.5 }),
        item: Some(ItemContext { value: json!({ "id": 7 }), index: 0 }),
    };
    let mut secrets = BTreeMap::new();
    secrets.insert("TOKEN".to_owned(), WireSecret(SecretString::new(FUZZ_SECRET)));
    let scope = Scope::new(&context, &secrets);
    let redactor = Redactor::new(&secrets);
    let expressions = Expressions::new();
    match expressions.eval_str(&text, "field", &scope) {
        Ok(mut value) => {
            let _ = crate::expr::is_truthy(&value);
            redactor.json(&mut value);
            let shown = value.to_string();
            assert!(!shown.contains(FUZZ_SECRET), "a secret survived redaction in a value: {shown}");
        }
        Err(err) => {
            let mut step = err.into_step_error("node");
            redactor.error(&mut step);
            assert!(!step.message.contains(FUZZ_SECRET), "a secret survived redaction in an error: {}", step.message);
        }
    }
}
