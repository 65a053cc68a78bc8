//! The store-only commands of the binary: `automateos user create`, `automateos export` and
//! `automateos import`. They open the configured store (migrating it) and reuse the API's rules
//! (password policy, import checks, the canonical export), so the CLI and the API agree.

use std::path::PathBuf;

use aos_persistence::{Actor, NewUser, NewWorkflow};
use aos_schema::{OrgId, WorkflowId};
use clap::{Args, Subcommand};

use crate::config::StoreArgs;
use crate::error::ApiError;
use crate::server::{StartError, open_store};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates an account and an org it owns. The password is read from the first line of
    /// standard input (never from the command line, which other users can see).
    Create(UserCreateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct UserCreateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub org_name: String,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The workflow to export (its draft).
    #[arg(long)]
    pub workflow: WorkflowId,
    /// Where to write the file; standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The org the workflow is created in.
    #[arg(long)]
    pub org: OrgId,
    /// The export file.
    #[arg(long)]
    pub file: PathBuf,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] aos_persistence::StoreError),
    #[error("{0}")]
    Refused(String),
    #[error("cannot read or write {path}: {source}")]
    File { path: String, source: std::io::Error },
}

impl From<ApiError> for CliError {
    fn from(err: ApiError) -> Self {
        CliError::Refused(err.to_string())
    }
}

/// `automateos user create`: returns `(user_id, org_id)`.
pub async fn create_user(args: &UserCreateArgs, password: String) -> Result<(String, String), CliError> {
    let store = open_store(&args.store).await?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < 8 {
        return Err(CliError::Refused("password must be at least 8 characters".into()));
    }
    let password_hash = crate::auth::hash_password(password).await?;
    let user = NewUser { email: args.email.trim().to_lowercase(), name: args.name.clone(), password_hash };
    let (user, org) =
        store.orgs().create_user_with_org(&user, &args.org_name, &crate::routes::slug_for(&args.org_name)).await?;
    Ok((user.id.to_string(), org.id.to_string()))
}

/// `automateos export`: the canonical export text of a workflow's draft.
pub async fn export(args: &ExportArgs) -> Result<String, CliError> {
    let store = open_store(&args.store).await?;
    let workflow = store.workflows().get(args.workflow).await?;
    let graph = store.drafts().get(workflow.org_id, workflow.id).await?.map(|d| d.graph).unwrap_or_default();
    let text = crate::routes::workflows::export_file(&workflow, graph)
        .to_canonical_string()
        .map_err(|err| CliError::Refused(err.to_string()))?;
    if let Some(path) = &args.out {
        std::fs::write(path, &text).map_err(|source| CliError::File { path: path.display().to_string(), source })?;
    }
    Ok(text)
}

/// `automateos import`: creates a workflow from an export file; returns its id.
pub async fn import(args: &ImportArgs) -> Result<String, CliError> {
    let bytes =
        std::fs::read(&args.file).map_err(|source| CliError::File { path: args.file.display().to_string(), source })?;
    let file = crate::routes::workflows::parse_import(&bytes)?.file;
    let graph = crate::routes::workflows::checked_graph(file.graph.clone())?;
    let store = open_store(&args.store).await?;
    store.orgs().org(args.org).await?;
    let new = NewWorkflow {
        org_id: args.org,
        name: file.name.clone(),
        description: file.description.clone().unwrap_or_default(),
    };
    let workflow = store.workflows().create(&new, Actor::System).await?;
    store.drafts().put(args.org, workflow.id, &graph, Actor::System).await?;
    Ok(workflow.id.to_string())
}
