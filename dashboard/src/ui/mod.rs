//! The components, one module per page plus the shell and the shared pieces.

pub mod admin;
pub mod audit;
pub mod common;
pub mod dlq;
pub mod graph;
pub mod invitations;
pub mod invite;
pub mod members;
pub mod runs;
pub mod secrets;
pub mod shell;
pub mod usage;
pub mod workflows;
