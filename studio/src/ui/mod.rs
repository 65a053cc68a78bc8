//! The studio's components. They hold UI state in signals and call the pure modules (`editor`,
//! `live`, `forms`, `run_view`, `step_data`, `problems`, `changes`, `history`) for everything that can
//! be tested without a browser.

pub mod app;
mod diff_summary;
mod doc_connection;
pub mod editor_page;
mod editor_panels;
mod editor_toolbar;
pub mod gallery;
mod history;
pub mod import;
mod palette;
mod run_follow;
pub mod side_panel;
mod step_data;
pub mod webhook;
pub mod workflows;
