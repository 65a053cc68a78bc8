//! The `automateos` binary: parse the configuration once, start telemetry, run the command.

use aos_gateway::config::KeysCommand;
use aos_gateway::config::UserCommand;
use aos_gateway::{BoundServer, Cli, Command};
use clap::Parser;

/// mimalloc instead of the system allocator (see `gateway/Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    aos_engine_link::egress::install_crypto_provider();
    let telemetry = aos_ops::init_telemetry(&cli.telemetry())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(run(cli.command));
    // The runtime first, then the guard: its last export runs on a blocking client, off the runtime.
    drop(runtime);
    drop(telemetry);
    outcome
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let server = BoundServer::bind(&args).await?;
            tracing::info!(addr = %server.local_addr()?, role = ?args.role, "automateos serving");
            server.serve(shutdown_signal()).await?;
        }
        Command::Engine(args) => {
            aos_gateway::server::serve_engine(&args, shutdown_signal()).await?;
        }
        Command::Migrate(args) => {
            aos_gateway::server::open_store(&args).await?;
        }
        Command::User { command: UserCommand::Create(args) } => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let (user_id, org_id) = aos_gateway::cli::create_user(&args, password).await?;
            print_line(&serde_json::json!({ "user_id": user_id, "org_id": org_id }).to_string());
        }
        Command::Export(args) => {
            let text = aos_gateway::cli::export(&args).await?;
            if args.out.is_none() {
                // The canonical text ends with its own newline; the bytes go out unchanged.
                #[allow(clippy::print_stdout)]
                {
                    print!("{text}");
                }
            }
        }
        Command::Import(args) => {
            let id = aos_gateway::cli::import(&args).await?;
            print_line(&serde_json::json!({ "id": id }).to_string());
        }
        Command::Keys { command: KeysCommand::RotateJwt { store } } => {
            std::fs::create_dir_all(&store.data_dir)?;
            aos_gateway::auth::save_jwt_secret(&store.jwt_key_file(), &aos_gateway::auth::JwtSecret::generate())?;
            tracing::info!(path = %store.jwt_key_file().display(), "token signing key replaced; restart the servers");
        }
        Command::Keys { command: KeysCommand::Rotate { store, prune } } => {
            let (count, new_spec) = aos_gateway::server::rotate_keys(&store, prune).await?;
            tracing::info!(resealed = count, "secrets re-encrypted with the new master key");
            if let Some(spec) = new_spec {
                // The operator must store this in their secret manager; it is printed once, here.
                #[allow(clippy::print_stdout)]
                {
                    println!("{}", spec.expose());
                }
            }
        }
    }
    Ok(())
}

/// A command's result, on standard output.
#[allow(clippy::print_stdout)]
fn print_line(text: &str) {
    println!("{text}");
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
