use std::process::ExitCode;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use identity_server::cli::{fail, ServeArgs, ServerArgs, Serving, TokenCommand};
use identity_server::metrics::Metrics;
use identity_server::runner;
use identity_store::{CredentialKind, ReferenceList};
use peoplefinder::config::Config;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// identity's People Finder API: People Finder reads and writes people's own profiles here
/// (GET, POST and PUT /api/peoplefinder/people…, the reference lists), signed with Hawk.
#[derive(Parser)]
#[command(name = "peoplefinder", version)]
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
    /// Serve People Finder's API (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the bearer tokens of callers that do not sign with Hawk (load tests, tools).
    Tokens {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load a reference list that is the department's data from its dataset export (JSON Lines
    /// with each entry under "object", or a JSON array), replacing the list whole; nothing is
    /// stored if any entry is wrong.
    Reference {
        #[command(subcommand)]
        command: ReferenceCommand,
    },
}

#[derive(Subcommand)]
enum ReferenceCommand {
    /// Replace LIST with the entries of FILE.
    Load { list: ListName, file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum ListName {
    Countries,
    #[value(name = "uk_staff_locations")]
    UkStaffLocations,
}

impl From<ListName> for ReferenceList {
    fn from(name: ListName) -> Self {
        match name {
            ListName::Countries => Self::Countries,
            ListName::UkStaffLocations => Self::UkStaffLocations,
        }
    }
}

const BINARY: &str = "peoplefinder";

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
                    (peoplefinder::routes(running, &config), async {})
                })
                .await
            }
            Command::Migrate => runner::migrate(BINARY, &config.database).await,
            Command::Tokens { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                identity_server::cli::run_credentials(&store, CredentialKind::PeopleFinderToken, command.into(), &[])
                    .await
            }
            Command::Reference { command: ReferenceCommand::Load { list, file } } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                println!("{}", peoplefinder::datasets::load(&store, list.into(), &file).await?);
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(BINARY, e),
    }
}
