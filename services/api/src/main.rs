use std::process::ExitCode;

use api::config::Config;
use clap::{Parser, Subcommand};
use identity_server::cli::{fail, KeyCommand, ServeArgs, ServerArgs, Serving};
use identity_server::metrics::Metrics;
use identity_server::runner;
use identity_store::CredentialKind;

// glibc's allocator showed up as a sixth of a request's CPU under load (many threads, many
// small allocations); mimalloc keeps per-thread heaps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// identity's consumer API: read people, their combined profiles and where each value came
/// from, look them up by email, TRN or a source's id, and follow the change feed.
#[derive(Parser)]
#[command(name = "api", version)]
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
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage consumer API keys (scopes: people:read, profiles:read, changes:read).
    Keys {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

const BINARY: &str = "api";

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
                    (api::routes(running, &config), async {})
                })
                .await
            }
            Command::Migrate => runner::migrate(BINARY, &config.database).await,
            Command::Keys { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                identity_server::cli::run_credentials(&store, CredentialKind::ApiKey, command, api::SCOPES).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(BINARY, e),
    }
}
