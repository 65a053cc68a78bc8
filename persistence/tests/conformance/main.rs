//! The storage conformance suite: every test here runs once on SQLite and once on Postgres (each in
//! its own fresh database), proving the two backends behave the same.

mod audit;
mod billing;
mod docs;
mod fixtures;
mod invitations;
mod nodes;
mod orgs;
mod runs;
mod secrets;
mod sessions;
mod templates;
mod webhooks;
mod workflows;
mod writer;
