//! The workflow schema shared by every other crate and by the web apps: ids, the workflow graph,
//! the node catalog, the canonical export format, validation and the DAG compiler. No IO here, so
//! this crate builds for wasm32 and its logic is tested without sockets or databases.

mod canonical_json;
pub mod catalog;
pub mod compile;
pub mod diff;
pub mod doc;
pub mod export;
pub mod expression;
pub mod fuzzing;
pub mod graph;
pub mod ids;
pub mod n8n;
pub mod secret;
pub mod status;
#[cfg(test)]
mod testing;
pub mod validate;

pub use catalog::{
    Catalog, DynamicOutputs, FieldDescriptor, FieldType, Flow, NodeCategory, NodeDescriptor, PortDescriptor, PortType,
    SelectOption, kinds,
};
pub use compile::{ExecutionPlan, Inbound, Outbound, Step, compile};
pub use diff::{Change, ConfigChange, GraphDiff, NodeChange, diff_graphs};
pub use export::{
    ExportError, ExportFile, FORMAT_V1, GALLERY_CATEGORIES, ImportError, MAX_EXPORT_BYTES, SUPPORTED_FORMATS, import,
    referenced_secrets,
};
pub use graph::{Edge, MAX_EDGES, MAX_NODES, Node, Position, WorkflowGraph};
pub use ids::*;
pub use n8n::{ImportWarning, N8nError, N8nImport, RequiredSecret, Unmapped, from_n8n, from_n8n_value, looks_like_n8n};
pub use secret::SecretString;
pub use status::{CreditKind, DlqStatus, ReplayFrom, Role, RunStatus, StepStatus, UnknownWord};
pub use validate::{ValidationError, ValidationErrors, validate};
