//! The HTTP API's wire types: what the gateway sends and what the studio and the dashboard decode,
//! written once. Serde only, no IO, so it builds for the browser (wasm32) as well as natively.
//!
//! Rule: this crate depends on `aos-schema` (ids and vocabularies), `serde` and `serde_json` and
//! nothing else (`xtask/tests/tidy.rs` checks it). Times on the wire are RFC 3339 text and stay
//! `String` here; the storage layer has its own timestamp type.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod error;
pub mod health;
pub mod invitations;
pub mod orgs;
pub mod runs;
pub mod secrets;
pub mod templates;
pub mod webhooks;
pub mod workflows;

pub use admin::{ActorControlled, ActorView};
/// `GET /api/catalog` answers every node kind as the shared vocabulary describes it.
pub use aos_schema::NodeDescriptor;
pub use audit::{AuditRecord, ChainBreak, ChainVerification};
pub use auth::{Login, Me, MyOrg, OrgView, PasswordChange, Refresh, SignedUp, Signup, Tokens};
pub use billing::{Balance, DailyUsage, LedgerEntry, PricePlan, UsageSummary, UsageTotals, WorkflowUsage};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use health::{Health, Readiness};
pub use invitations::{CreatedInvitation, Invitation, InvitationPreview, InvitationSignup, NewInvitation};
pub use orgs::{AddMember, ApiKey, CreatedKey, Member, NewApiKey, NewOrg, RoleChange};
pub use runs::{
    Accepted, BulkReplay, Cancelled, DlqEntry, ReplayFailed, Replayed, Run, RunCreated, RunDetail, RunLog, StepView,
};
pub use secrets::{NewSecret, SecretMeta, SecretValue};
pub use templates::{
    CreatorProfile, Install, Installation, Installed, NewTemplate, NewTemplateVersion, ProfileUpdate, ProfileView,
    Template, TemplateDetail, TemplateVersion,
};
pub use webhooks::{
    NewSource, SourceView, SourceWithToken, TestDelivered, TestEvent, TestEventWait, WebhookEvent, WebhookSettings,
};
pub use workflows::{
    GraphChanges, GraphWritten, ImportPreview, Imported, N8nReport, NewWorkflow, Published, VersionDetail, VersionDiff,
    VersionSummary, Workflow, WorkflowDetail, WorkflowUpdate,
};
