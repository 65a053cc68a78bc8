//! The repositories, one module per topic. Each borrows the store's pool; mutations a person makes
//! write their audit row in the same transaction.

mod billing;
mod docs;
mod drafts;
mod invitations;
mod nodes;
mod orgs;
mod runs;
mod secrets;
mod sessions;
mod templates;
mod webhooks;
mod workflows;

pub use billing::*;
pub use docs::*;
pub use drafts::*;
pub use invitations::*;
pub use nodes::*;
pub use orgs::*;
pub use runs::*;
pub use secrets::*;
pub use sessions::*;
pub use templates::*;
pub use webhooks::*;
pub use workflows::*;

/// Caps a caller's page size to something the database can serve quickly.
pub(crate) fn page_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, 500)
}
