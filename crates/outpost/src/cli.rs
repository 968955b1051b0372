//! Command line: `serve` (default), `config` (print the effective configuration, secrets
//! masked), `version`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Outpost-compatible event destinations service.
#[derive(Debug, Parser)]
#[command(name = "outpost", version, about)]
pub struct Cli {
    /// Config file (YAML or .env); also `CONFIG`.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the services selected by SERVICE (default: all in one process).
    Serve {
        /// api, delivery, log or all (overrides SERVICE).
        #[arg(long)]
        service: Option<String>,
    },
    /// Print the effective configuration with secrets masked, and validate it.
    Config,
    /// Manage the PostgreSQL log schema (POSTGRES_URL).
    Migrate {
        /// What to do.
        #[command(subcommand)]
        action: MigrateCommand,
    },
    /// Print the version.
    Version,
}

/// `outpost migrate` subcommands.
#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// List every migration and whether it is applied.
    List,
    /// Show the migrations `apply` would run.
    Plan,
    /// Apply pending migrations.
    Apply {
        /// Apply without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Check that applied migrations match this version's files.
    Verify,
}

/// Parses arguments and runs; errors are printed with their cause chain.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve { service: None }) {
        Command::Version => {
            println!("outpost {}", outpost_config::VERSION);
            Ok(())
        }
        Command::Config => {
            let cfg = outpost_config::Config::load(cli.config.as_deref())?;
            print!("{}", cfg.describe());
            Ok(())
        }
        Command::Migrate { action } => {
            let cfg = outpost_config::Config::load(cli.config.as_deref())?;
            let action = match action {
                MigrateCommand::List => crate::migrate::Action::List,
                MigrateCommand::Plan => crate::migrate::Action::Plan,
                MigrateCommand::Apply { yes } => crate::migrate::Action::Apply { yes },
                MigrateCommand::Verify => crate::migrate::Action::Verify,
            };
            tokio::runtime::Runtime::new()?.block_on(crate::migrate::run(&cfg, action))
        }
        Command::Serve { service } => {
            if let Some(s) = service {
                set_service_env(&s);
            }
            let cfg = outpost_runtime::load_config(cli.config.as_deref(), None)?;
            let rt = tokio::runtime::Runtime::new()?;
            if cfg.internal_queues_in_memory() && !cfg.opens_servicebus_queues() {
                // The services hand every message to each other through in-process queues: the
                // whole process runs on the runtime's workers (see `on_workers`, and why a
                // process opening Service Bus queues does not).
                rt.block_on(outpost_runtime::on_workers(crate::serve::serve(cfg)))
            } else {
                rt.block_on(crate::serve::serve(cfg))
            }
        }
    }
}

fn set_service_env(s: &str) {
    // Edition 2024 makes set_var unsafe; the crate forbids unsafe, so pass the flag through
    // a process-wide override instead.
    crate::serve::SERVICE_OVERRIDE.get_or_init(|| s.to_string());
}
