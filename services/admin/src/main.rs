use std::process::ExitCode;

use admin::config::Config;
use admin::role::Role;
use clap::{Parser, Subcommand};
use identity_core::UserId;
use identity_server::cli::{fail, KeyCommand, ServeArgs, ServerArgs, Serving};
use identity_server::metrics::Metrics;
use identity_server::runner;
use identity_store::CredentialKind;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// identity's administration API: merge two records of one person, undo a merge, read a
/// person's history. Callers present a token with a role (viewer, reviewer, admin).
#[derive(Parser)]
#[command(name = "admin", version)]
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
    /// Serve the admin API (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the tokens callers present, each with a role.
    Tokens {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The review queue: run the matcher over everyone, or list items.
    Reviews {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Which source supplies each field of the combined profile.
    Precedence {
        #[command(subcommand)]
        command: PrecedenceCommand,
    },
    /// A person's data: everything held about them, or all of it erased.
    People {
        #[command(subcommand)]
        command: PeopleCommand,
    },
}

#[derive(Subcommand)]
enum PrecedenceCommand {
    /// Print the precedence in force as TOML: for each field, its sources best first.
    Show,
    /// Store a new version from a TOML file (the document `show` prints). It is checked whole:
    /// an unknown field or source pattern is refused and nothing is stored.
    Set { file: std::path::PathBuf },
    /// Derive every combined profile again with the version in force, now, with progress (admin
    /// serve does it in the background after each new version; refused while a process is at it).
    Rederive,
}

#[derive(Subcommand)]
enum PeopleCommand {
    /// Print everything identity holds about a person, as one JSON document.
    Export { id: UserId },
    /// Erase a person, and every record merged into them, for good: their profiles, links and
    /// every value in every table; the ids and the shape of their history stay.
    Erase {
        id: UserId,
        /// Why (a request's reference): recorded with who and when, never anything personal.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// Compare everyone who shares a blocking key and queue the pairs that score at least the
    /// matcher's threshold. Safe to run again: queued and "different" pairs are not queued twice.
    Scan,
    /// List review items, oldest first.
    List {
        #[arg(long, default_value = "open", value_parser = ["open", "decided"])]
        status: String,
        /// Only items of this kind.
        #[arg(long, value_parser = ["import_row", "people"])]
        kind: Option<String>,
        /// One JSON object a line, the shape the API answers.
        #[arg(long)]
        json: bool,
        /// At most this many items.
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it once. Only a hash is stored.
    Create {
        /// A name for the caller (recorded as who made each merge and decision).
        #[arg(long)]
        name: String,
        /// viewer (reads), reviewer (also merges and decides), admin (also undoes merges).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Role::NAMES))]
        role: String,
    },
    /// List tokens (never their secrets); the role is the scope.
    List,
    /// Revoke the live token with this name.
    Revoke { name: String },
}

const BINARY: &str = "admin";

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
                let follower_metrics = admin::follower::FollowerMetrics::default();
                follower_metrics.register(&mut metrics);
                let rederive_metrics = admin::rederive::RederiveMetrics::default();
                rederive_metrics.register(&mut metrics);
                runner::serve_binary(BINARY, &config, metrics, |running| {
                    // Merges append changes: number them here too, as every writer does.
                    let (store, shutdown, drained) =
                        (running.store().clone(), running.shutdown.clone(), running.drained.clone());
                    let follower = config.matcher.follow.then(|| {
                        let holder = runner::replica_id(BINARY);
                        let matcher = config.matcher.clone();
                        admin::follower::follow(store.clone(), matcher, holder, follower_metrics, shutdown.clone())
                    });
                    let rederivation = config.precedence.rederive.then(|| admin::rederive::Rederivation {
                        store: store.clone(),
                        config: config.precedence.clone(),
                        holder: runner::replica_id(BINARY),
                        metrics: rederive_metrics,
                    });
                    let rederive_shutdown = shutdown.clone();
                    let background = async move {
                        let sequencer = async {
                            runner::sequence_changes(store.clone(), shutdown).await;
                            runner::sequence_last_changes(&store, drained).await;
                        };
                        let follower = async {
                            if let Some(follower) = follower {
                                follower.await;
                            }
                        };
                        let rederivation = async {
                            if let Some(rederivation) = rederivation {
                                rederivation.run(rederive_shutdown).await;
                            }
                        };
                        tokio::join!(sequencer, follower, rederivation);
                    };
                    (admin::routes(running), background)
                })
                .await
            }
            Command::Migrate => runner::migrate(BINARY, &config.database).await,
            Command::Tokens { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                let command = match command {
                    TokenCommand::Create { name, role } => KeyCommand::Create { name, scopes: vec![role] },
                    TokenCommand::List => KeyCommand::List,
                    TokenCommand::Revoke { name } => KeyCommand::Revoke { name },
                };
                identity_server::cli::run_credentials(&store, CredentialKind::AdminToken, command, &Role::NAMES).await
            }
            Command::Precedence { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                match command {
                    PrecedenceCommand::Show => admin::cli::precedence_show(&store).await,
                    PrecedenceCommand::Set { file } => admin::cli::precedence_set(&store, &file).await,
                    PrecedenceCommand::Rederive => admin::cli::rederive(&store, config.precedence.clone()).await,
                }
            }
            Command::People { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                match command {
                    PeopleCommand::Export { id } => admin::cli::export(&store, id).await,
                    PeopleCommand::Erase { id, reason } => admin::cli::erase(&store, id, &reason).await,
                }
            }
            Command::Reviews { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                match command {
                    ReviewCommand::Scan => admin::cli::scan(&store).await,
                    ReviewCommand::List { status, kind, json, limit } => {
                        admin::cli::list(&store, status == "open", kind.as_deref(), json, limit).await
                    }
                }
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(BINARY, e),
    }
}
