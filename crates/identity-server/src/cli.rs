//! What every binary's command line shares: `--config`, `--bind` for serving, `migrate`, credential
//! commands, and one-line failures with a non-zero exit status.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::SecondsFormat;
use identity_store::{CredentialKind, Store};

use crate::auth;

/// What every command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// A TOML configuration file (see deploy/<binary>/config.toml). Environment variables
    /// IDENTITY_<SECTION>__<KEY> and DATABASE_URL override it. Without either, the database is
    /// sqlite://identity.db in the working directory.
    #[arg(long, global = true, env = "IDENTITY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What serving takes: `BIN --bind ADDR` (serving is the default) or `BIN serve --bind ADDR`.
/// Not a global flag, so that the commands that do not serve do not offer it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, overriding http.bind.
    #[arg(long, value_name = "ADDR:PORT")]
    pub bind: Option<SocketAddr>,
}

/// The command a binary runs, as far as serving goes.
#[derive(Debug, Clone, Copy)]
pub enum Serving<'a> {
    /// No command: serving is the default.
    Default,
    /// `serve`, with its arguments.
    Serve(&'a ServeArgs),
    /// A command that does not serve.
    Other,
}

impl ServeArgs {
    /// The address to serve on, from `BIN --bind` (`self`) or `BIN serve --bind`. `--bind`
    /// before a command, `serve` included, is refused rather than ignored.
    pub fn bind(&self, command: Serving<'_>) -> Result<Option<SocketAddr>, String> {
        match (self.bind, command) {
            (Some(_), Serving::Serve(_) | Serving::Other) => {
                Err("--bind goes after `serve` (or alone, to serve): other commands do not listen".to_owned())
            }
            (_, Serving::Serve(serve)) => Ok(serve.bind),
            (top, _) => Ok(top),
        }
    }
}

/// `tokens create|list|revoke` for bearer tokens without scopes.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once. Only a hash is stored.
    Create {
        /// A name for the caller (shown in logs and the change log as the actor).
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke the live token with this name.
    Revoke { name: String },
}

/// `keys create|list|revoke` for API keys with scopes.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum KeyCommand {
    /// Create an API key and print it once. Only a hash is stored.
    Create {
        /// A name for the consumer service.
        #[arg(long)]
        name: String,
        /// Scopes to grant (repeat, or separate with commas).
        #[arg(long = "scope", required = true, value_delimiter = ',', num_args = 1..)]
        scopes: Vec<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke the live key with this name.
    Revoke { name: String },
}

impl From<TokenCommand> for KeyCommand {
    fn from(t: TokenCommand) -> Self {
        match t {
            TokenCommand::Create { name } => Self::Create { name, scopes: Vec::new() },
            TokenCommand::List => Self::List,
            TokenCommand::Revoke { name } => Self::Revoke { name },
        }
    }
}

/// Runs a credential command, printing to standard output.
pub async fn run_credentials(
    store: &Store,
    kind: CredentialKind,
    command: KeyCommand,
    allowed_scopes: &[&str],
) -> Result<(), String> {
    match command {
        KeyCommand::Create { name, scopes } => {
            let created = auth::create(store, kind, &name, &scopes, allowed_scopes).await.map_err(|e| e.to_string())?;
            println!("{}", created.token);
            eprintln!(
                "Created {:?}. This is the only time the secret is shown: store it now.",
                created.credential.name
            );
        }
        KeyCommand::List => {
            let all = store.credentials(kind).await.map_err(|e| e.to_string())?;
            println!("{:<32} {:<22} {:<22} SCOPES", "NAME", "CREATED", "REVOKED");
            for c in all {
                let revoked =
                    c.revoked_at.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
                let created = c.created_at.to_rfc3339_opts(SecondsFormat::Secs, true);
                println!("{:<32} {:<22} {:<22} {}", c.name, created, revoked, c.scopes.join(","));
            }
        }
        KeyCommand::Revoke { name } => {
            auth::revoke(store, kind, &name).await.map_err(|e| e.to_string())?;
            eprintln!("Revoked {name:?}; it stops working within {} seconds.", auth::CACHE_TTL.as_secs());
        }
    }
    Ok(())
}

/// Prints a one-line reason and returns a failing exit status.
pub fn fail(binary: &str, reason: impl std::fmt::Display) -> ExitCode {
    eprintln!("{binary}: {reason}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::ServeArgs;

    #[test]
    fn bind_belongs_to_serving() {
        use super::Serving;
        let at = |a: &str| ServeArgs { bind: Some(a.parse().unwrap()) };
        let none = ServeArgs::default();
        assert_eq!(at("127.0.0.1:1").bind(Serving::Default), Ok(Some("127.0.0.1:1".parse().unwrap())));
        assert_eq!(none.bind(Serving::Serve(&at("127.0.0.1:2"))), Ok(Some("127.0.0.1:2".parse().unwrap())));
        assert_eq!(none.bind(Serving::Other), Ok(None));
        assert!(at("127.0.0.1:1").bind(Serving::Other).is_err(), "before migrate, say");
        assert!(at("127.0.0.1:1").bind(Serving::Serve(&none)).is_err(), "before serve: after it, please");
    }
}
