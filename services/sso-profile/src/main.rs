use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use identity_server::cli::{fail, ServeArgs, ServerArgs, Serving, TokenCommand};
use identity_server::metrics::Metrics;
use identity_server::outage::Outage;
use identity_server::runner;
use identity_store::CredentialKind;
use sso_profile::config::Config;
use sso_profile::{FeedMetrics, Follower, SignIns};

// Many threads, many small allocations: mimalloc keeps per-thread heaps (as in sso-scim).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// identity's sign-in profile: Staff SSO reads GET /api/sso/{id} on every sign-in, answered from
/// memory (every active SSO user is loaded at start and kept fresh from the change feed).
#[derive(Parser)]
#[command(name = "sso-profile", version)]
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
    /// Serve sign-in profiles (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the bearer tokens of callers that do not sign with Hawk (load tests, tools).
    Tokens {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

const BINARY: &str = "sso-profile";

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
                let mut metrics = Metrics::new(BINARY);
                let feed = FeedMetrics::register(&mut metrics);
                runner::serve_binary(BINARY, &config, metrics, |running| {
                    let (signins, outage) = (Arc::new(SignIns::default()), Outage::default());
                    let loaded = running.plumbing.ready.answer_from_memory();
                    let store = running.store().clone();
                    let follower = Follower::new(store, signins.clone(), feed, config.profiles.clone(), outage.clone());
                    let routes = sso_profile::routes(running, &config, signins, &outage);
                    (routes, follower.run(loaded, running.shutdown.clone()))
                })
                .await
            }
            Command::Migrate => runner::migrate(BINARY, &config.database).await,
            Command::Tokens { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                identity_server::cli::run_credentials(&store, CredentialKind::SsoProfileToken, command.into(), &[])
                    .await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(BINARY, e),
    }
}
