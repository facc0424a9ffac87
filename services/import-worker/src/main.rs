use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use identity_core::ServiceName;
use identity_server::cli::{fail, KeyCommand, ServeArgs, ServerArgs, Serving};
use identity_server::metrics::Metrics;
use identity_server::runner;
use identity_store::CredentialKind;
use import_worker::config::Config;
use import_worker::engine::Engine;
use import_worker::file_import::FileImport;
use import_worker::grant::Grant;
use import_worker::registry::AnyRegistry;
use import_worker::retention::{Sweep, SweepMetrics};
use import_worker::worker::Worker;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::Notify;

// glibc's allocator showed up as a sixth of a request's CPU under load (many threads, many
// small allocations); mimalloc keeps per-thread heaps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// identity's CSV user import: upload a service's users as a CSV, have each row validated,
/// matched against existing people and applied, and get a result CSV back.
#[derive(Parser)]
#[command(name = "import-worker", version)]
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
    /// Serve the upload routes and run the worker loop (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Import a CSV file now and write its result file.
    Import {
        /// The CSV: ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH.
        file: PathBuf,
        /// The service the users come from (becomes the source import:<service>).
        #[arg(long)]
        service: String,
        /// Where to write the result CSV.
        #[arg(long)]
        output: PathBuf,
        /// Decide every row and write the result file, but change nothing (a row that would add a
        /// person has no USER_ID: nobody will hold it).
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage the embedded teacher registry (DQT).
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Run the retention sweep ([retention] in the config).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Manage the bearer tokens for the upload routes.
    Tokens {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// `tokens create|list|revoke`: bearer tokens for the upload routes, each for some services.
#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it once. Only a hash is stored.
    Create {
        /// A name for the caller (shown in logs and as the submitter of its jobs).
        #[arg(long)]
        name: String,
        /// A service the token may import for and whose jobs it may read (repeat, or separate
        /// with commas).
        #[arg(
            long = "service",
            value_name = "SERVICE",
            value_delimiter = ',',
            required_unless_present = "all_services",
            conflicts_with = "all_services"
        )]
        services: Vec<ServiceName>,
        /// Let the token import for every service (an administrator's token).
        #[arg(long)]
        all_services: bool,
    },
    /// List tokens (never their secrets) with the services each may import for.
    List,
    /// Revoke the live token with this name.
    Revoke { name: String },
}

impl TokenCommand {
    /// The shared credential command, and the scopes it may grant (those this command made).
    fn into_key_command(self) -> (KeyCommand, Vec<String>) {
        match self {
            Self::Create { name, services, all_services } => {
                let grant = if all_services { Grant::Every } else { Grant::Only(services) };
                let scopes = grant.scopes();
                (KeyCommand::Create { name, scopes: scopes.clone() }, scopes)
            }
            Self::List => (KeyCommand::List, Vec::new()),
            Self::Revoke { name } => (KeyCommand::Revoke { name }, Vec::new()),
        }
    }
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Sweep once now, to the end, showing progress: remove the raw data of import rows of jobs
    /// finished more than import_rows_days ago, and the values the history of people archived
    /// more than archived_history_days ago holds. Fails while a worker is sweeping.
    Sweep,
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Load records from a CSV: TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DATE_OF_BIRTH (ddMMyyyy).
    Load { file: PathBuf },
}

const BINARY: &str = "import-worker";

async fn serve(config: &Config) -> Result<(), String> {
    let mut metrics = Metrics::new(BINARY);
    let rows_processed = Counter::default();
    metrics.register("import_rows_processed", "Import rows decided and applied", rows_processed.clone());
    let sweep_metrics = SweepMetrics::default();
    sweep_metrics.register(&mut metrics);
    let retention = config.retention.clone();
    let wake = Arc::new(Notify::new());
    let import = config.import.clone();
    let registry_config = config.registry.clone();
    // Twice the longest an upload request may last.
    let stale_upload_after = config.http.request_timeout() * 2;
    runner::serve_binary(BINARY, config, metrics, |running| {
        let routes = import_worker::routes(running, &import, wake.clone());
        let store = running.store().clone();
        let shutdown = running.shutdown.clone();
        let drained = running.drained.clone();
        let sequencer = runner::sequence_changes(store.clone(), shutdown.clone());
        let last = store.clone();
        let sweep = Sweep {
            store: store.clone(),
            config: retention,
            holder: runner::replica_id("worker"),
            metrics: sweep_metrics,
        };
        let sweeping = sweep.config.enabled && import.worker;
        let sweep_shutdown = shutdown.clone();
        let sweep = async move {
            if sweeping {
                sweep.run(sweep_shutdown).await;
            }
        };
        let worker = async move {
            if !import.worker {
                return;
            }
            let registry = match AnyRegistry::from_config(&registry_config, &store) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "the worker cannot start");
                    return;
                }
            };
            let worker = Worker {
                store,
                stale_upload_after,
                engine: Engine::new(registry),
                config: import,
                id: runner::replica_id("worker"),
                wake,
                rows_processed,
            };
            worker.run(shutdown).await;
        };
        // The last numbering waits for the worker's last chunk as well as the last upload.
        let background = async move {
            tokio::join!(worker, sweep, sequencer);
            runner::sequence_last_changes(&last, drained).await;
        };
        (routes, background)
    })
    .await
}

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
            Command::Serve(_) => serve(&config).await,
            Command::Migrate => runner::migrate(BINARY, &config.database).await,
            Command::Import { file, service, output, dry_run } => {
                let service = ServiceName::new(&service).map_err(|e| format!("--service: {e}"))?;
                let store = runner::store_for_command(BINARY, &config.database).await?;
                let registry = AnyRegistry::from_config(&config.registry, &store).map_err(|e| e.to_string())?;
                let import = FileImport {
                    input: &file,
                    service,
                    output: &output,
                    dry_run,
                    chunk_rows: config.import.chunk_rows as usize,
                };
                let summary = import.run(&store, &Engine::new(registry)).await?;
                // Number the import's changes for the feed now, whether or not a server runs.
                store.sequence_changes().await.map_err(|e| e.to_string())?;
                let note = if dry_run { " (dry run: nothing was changed)" } else { "" };
                println!("Imported {summary}{note}. Results: {}", output.display());
                Ok(())
            }
            Command::Registry { command: RegistryCommand::Load { file } } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                let loaded = import_worker::registry_load::load(&store, &file).await?;
                println!("Loaded {} registry records from {}.", loaded.loaded, file.display());
                if loaded.refused_count > 0 {
                    for e in &loaded.refused {
                        eprintln!("  {e}");
                    }
                    return Err(format!("{} records were refused", loaded.refused_count));
                }
                Ok(())
            }
            Command::Retention { command: RetentionCommand::Sweep } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                let sweep = Sweep {
                    store,
                    config: config.retention.clone(),
                    holder: runner::replica_id("cli"),
                    metrics: SweepMetrics::default(),
                };
                let (_stop, never) = tokio::sync::watch::channel(false);
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template("[{elapsed_precise}] swept {msg}") {
                    bar.set_style(style);
                }
                let swept = sweep.run_once(&never, |s| bar.set_message(s.to_string())).await;
                bar.finish_and_clear();
                let swept = swept.map_err(|e| e.to_string())?;
                println!("Removed the raw data of {swept}.");
                Ok(())
            }
            Command::Tokens { command } => {
                let store = runner::store_for_command(BINARY, &config.database).await?;
                let (command, scopes) = command.into_key_command();
                let allowed: Vec<&str> = scopes.iter().map(String::as_str).collect();
                identity_server::cli::run_credentials(&store, CredentialKind::ImportToken, command, &allowed).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(BINARY, e),
    }
}
