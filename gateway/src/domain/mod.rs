//! The rules between the API (and the CLI) and storage: what an account may look like, how a
//! workflow file is read, checked and written. Routes and the `automateos` CLI both call these, so
//! both refuse the same things with the same words; a refusal is a [`DomainError`] carrying its
//! [`ErrorCode`], which `crate::error` turns into the HTTP answer.

pub mod accounts;
pub mod workflows;

use aos_api::ErrorCode;
use serde_json::Value;

/// A refused input: the code that names why, a message for people and, where several things are
/// wrong, each of them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DomainError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<Value>,
}

impl DomainError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: Vec::new() }
    }

    /// A value refused (`invalid_input`).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
}
