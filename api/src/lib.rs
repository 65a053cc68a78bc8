//! The HTTP API's wire types: what the gateway sends and what the studio and the dashboard decode,
//! written once. Serde only, no IO, so it builds for the browser (wasm32) as well as natively.
//!
//! Rule: this crate depends on `aos-schema` (ids and vocabularies), `serde` and `serde_json` and
//! nothing else (`tests/dependencies.rs` checks it). Times on the wire are RFC 3339 text and stay
//! `String` here; the storage layer has its own timestamp type.

pub mod admin;
pub mod audit;
pub mod billing;
pub mod error;
pub mod runs;

pub use admin::{ActorControlled, ActorView};
pub use audit::{ChainBreak, ChainVerification};
pub use billing::{Balance, DailyUsage, LedgerEntry, PricePlan, UsageSummary, UsageTotals, WorkflowUsage};
pub use error::{ErrorBody, ErrorDetail};
pub use runs::{BulkReplay, Cancelled, ReplayFailed, Replayed, RunCreated};
