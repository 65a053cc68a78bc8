//! The store-only commands of the binary: `automateos user create`, `automateos export` and
//! `automateos import` (their arguments are in `config`). They open the configured store
//! (migrating it) and apply the same rules as the API (`crate::domain`: account checks, import
//! checks, the canonical export), so the CLI and the API agree.

use aos_persistence::{By, NewUser, NewWorkflow};

use crate::config::{ExportArgs, ImportArgs, UserCreateArgs};
use crate::domain::DomainError;
use crate::domain::accounts::{check_account, slug_for};
use crate::domain::workflows::{checked_graph, export_file, parse_import};
use crate::error::ApiError;
use crate::server::{StartError, open_store};

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

impl From<DomainError> for CliError {
    fn from(err: DomainError) -> Self {
        CliError::Refused(err.to_string())
    }
}

/// `automateos user create`: returns `(user_id, org_id)`.
pub async fn create_user(args: &UserCreateArgs, password: String) -> Result<(String, String), CliError> {
    let store = open_store(&args.store).await?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let account = check_account(&args.email, &password, &args.name, &args.org_name)?;
    let password_hash = crate::auth::hash_password(password).await?;
    let user = NewUser { email: account.email, name: account.name, password_hash };
    let (user, org) = store.orgs().create_user_with_org(&user, &account.org_name, &slug_for(&account.org_name)).await?;
    Ok((user.id.to_string(), org.id.to_string()))
}

/// `automateos export`: the canonical export text of a workflow's draft.
pub async fn export(args: &ExportArgs) -> Result<String, CliError> {
    let store = open_store(&args.store).await?;
    let workflow = store.workflows().get(args.workflow).await?;
    let graph = store.drafts().get(workflow.org_id, workflow.id).await?.map(|d| d.graph).unwrap_or_default();
    let text = export_file(&workflow, graph).to_canonical_string().map_err(|err| CliError::Refused(err.to_string()))?;
    if let Some(path) = &args.out {
        std::fs::write(path, &text).map_err(|source| CliError::File { path: path.display().to_string(), source })?;
    }
    Ok(text)
}

/// `automateos import`: creates a workflow from an export file; returns its id.
pub async fn import(args: &ImportArgs) -> Result<String, CliError> {
    let bytes =
        std::fs::read(&args.file).map_err(|source| CliError::File { path: args.file.display().to_string(), source })?;
    let file = parse_import(&bytes)?.file;
    let graph = checked_graph(file.graph.clone())?;
    let store = open_store(&args.store).await?;
    store.orgs().org(args.org).await?;
    let new = NewWorkflow {
        org_id: args.org,
        name: file.name.clone(),
        description: file.description.clone().unwrap_or_default(),
    };
    let workflow = store.workflows().create(&new, By::System).await?;
    store.drafts().put(args.org, workflow.id, &graph, By::System).await?;
    Ok(workflow.id.to_string())
}
