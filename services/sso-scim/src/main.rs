use std::process::ExitCode;

use clap::{Parser, Subcommand};
use identity_server::cli::{fail, ServeArgs, ServerArgs, Serving, TokenCommand};
use identity_server::metrics::Metrics;
use identity_server::runner;
use identity_store::CredentialKind;
use sso_scim::config::Config;

// glibc's allocator showed up as a sixth of a request's CPU under load (many threads, many
// small allocations); mimalloc keeps per-thread heaps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// identity's SCIM 2.0 server: Staff SSO (or Entra ID, Okta) creates, updates, deactivates and
/// archives users at /scim/v2.
#[derive(Parser)]
#[command(name = "sso-scim", version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve SCIM (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the bearer tokens SCIM clients present.
    Tokens {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

const BINARY: &str = "sso-scim";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = match &cli.command {
        None => Serving::Default,
        Some(Command::Serve(args)) => Serving::Serve(args),
        Some(_) => Serving::Other,
    };
    let (config, rt): (Config, _) = match runner::boot(BINARY, &cli.server, &cli.serve, serving) {
        Ok(booted) => booted,
        Err(code) => return code,
    };
    let result = rt.block_on(async {
        match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
            Command::Serve(_) => {
                runner::serve_binary(BINARY, &config, Metrics::new(BINARY), |running| {
                    let (store, shutdown, drained) =
                        (running.store().clone(), running.shutdown.clone(), running.drained.clone());
                    let sequencer = async move {
                        runner::sequence_changes(store.clone(), shutdown).await;
                        runner::sequence_last_changes(&store, drained).await;
                    };
                    (sso_scim::routes(running, &config), sequencer)
                })
                .await
            }
            Command::Migrate => runner::migrate(BINARY, &config.database).await,
            Command::Tokens { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                identity_server::cli::run_credentials(&store, CredentialKind::ScimToken, command.into(), &[]).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(BINARY, e),
    }
}
