use std::process::ExitCode;

use clap::{Parser, Subcommand};
use identity_server::cli::{fail, ServerArgs, TokenCommand};
use identity_server::metrics::Metrics;
use identity_server::runner;
use identity_store::CredentialKind;
use import_worker::config::Config;

/// identity's CSV user import: upload a CSV of a service's users, have each row matched against
/// existing people and applied, and get a result CSV back.
#[derive(Parser)]
#[command(name = "import-worker", version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the upload routes and run the worker loop (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the bearer tokens for the upload routes.
    Tokens {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

const BINARY: &str = "import-worker";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config: Config = match runner::boot(BINARY, &cli.server) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rt = match runner::runtime(BINARY) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                runner::serve_binary(BINARY, &config, Metrics::new(BINARY), |running| (import_worker::routes(running), async {})).await
            }
            Command::Migrate => runner::migrate(BINARY, &config.database).await,
            Command::Tokens { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                identity_server::cli::run_credentials(&store, CredentialKind::ImportToken, command.into(), &[]).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(BINARY, e),
    }
}
