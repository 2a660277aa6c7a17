//! The `dbsync` command line: arguments (clap), configuration, one command, an exit code.
//!
//! Exit codes, for scripts and cron:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done; for `sync`: every change due was applied (`synced`), or another run holds the lock |
//! | 1 | an error (a database failed or could not be reached); `verify`: the databases differ; `resync`, `rebase`: another run held the lock |
//! | 2 | a configuration or usage problem (the message names the setting) |
//! | 3 | `sync`, `resync`: the run went through but changes were rejected, held back or are waiting to be retried, or db_b refused rows of the load (`partial`) |
//! | 4 | `sync`: interrupted (db_b lost or silent mid-run, shutdown); the next run carries on; `serve`, `sync`, `resync`, `rebase`, `init` still busy 15 s after SIGINT/SIGTERM; any other command at the signal |
//! | 5 | `sync`: offline (`IS_ONLINE=false`, or db_b did not answer); nothing was touched; `resync`: the copy is set up for the next run |
//! | 6 | `sync`: refused until an operator acts (`rewound`, `schema_changed`: the message says what to run) |

/// `println!` that ends the process quietly when stdout was closed (`dbsync status | head`)
/// instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(err) = writeln!(std::io::stdout(), $($arg)*)
            && err.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
    }};
}

mod commands;
mod print;
mod signals;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::env_file::{EnvFile, EnvFileError};
use crate::config::{Config, ConfigError};
use crate::domain::Outcome;

#[derive(Parser)]
#[command(
    name = "dbsync",
    version,
    about = "Sync an offline MySQL database (db_a) into a central one (db_b)",
    after_help = "Exit codes: 0 done, 1 error, 2 configuration, 3 partial, 4 interrupted, 5 offline, 6 needs an operator (see README)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and the scheduled sync until SIGINT/SIGTERM.
    Serve,
    /// Create both databases, db_a's tables, the capture triggers and db_b's tables;
    /// after a schema change, update them (idempotent).
    Init {
        /// Also load the sample data into an empty db_a.
        #[arg(long)]
        seed: bool,
        /// Then copy every row of db_a to db_b (the initial load), as `resync` does.
        #[arg(long)]
        load: bool,
    },
    /// Run one sync now and print a one-line summary (exit code: see --help).
    Sync,
    /// Show the queue counts, the last run and any load in progress.
    Status {
        /// Print JSON (the same as GET /sync/status).
        #[arg(long)]
        json: bool,
    },
    /// Compare db_a and db_b, every synced table and column; exit 1 when they differ.
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put FAILED changes back to PENDING with a fresh retry budget.
    Requeue(RequeueArgs),
    /// Make stuck changes due now: FAILED ones and ones backing off after a rejection.
    Retry(RetryArgs),
    /// Copy every row of db_a to db_b in key-ordered chunks while writers go on, and
    /// delete rows only db_b has (progress on the terminal). A copy cut short is carried
    /// on from its last chunk by the next `dbsync sync` (or the service's next run).
    Resync {
        /// Copy only this synced table (repeat for more); the other tables' finished
        /// copies are left as they are.
        #[arg(long = "table", value_name = "TABLE")]
        tables: Vec<String>,
    },
    /// After db_a's queue went backwards (TRUNCATE, a restored backup): forget what db_b
    /// knows of this site's queue and copy every row again.
    Rebase,
    /// Every site syncing into db_b (SITE_ID): its last run, what it has pending, its version.
    Sites {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Once, when a single-site deployment gets a SITE_ID: move its rows in db_b under the
    /// site (site_id first in every key), then run `dbsync init`.
    MigrateSite,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct RequeueArgs {
    /// The queue id of one FAILED change.
    #[arg(long)]
    id: Option<i64>,
    /// Every FAILED change.
    #[arg(long)]
    all_failed: bool,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct RetryArgs {
    /// The queue id of one FAILED or waiting change.
    #[arg(long)]
    id: Option<i64>,
    /// Every FAILED and waiting change.
    #[arg(long)]
    all: bool,
    /// Every FAILED and waiting change of this table.
    #[arg(long)]
    table: Option<String>,
}

/// Why a command stopped. Each variant has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Connect(#[from] crate::db::ConnectError),
    #[error(transparent)]
    Init(#[from] crate::services::setup::InitError),
    #[error(transparent)]
    Run(#[from] crate::services::sync::RunError),
    #[error(transparent)]
    Start(#[from] crate::startup::StartError),
    #[error("{context}: {}", crate::db::error::describe(.source))]
    Database {
        context: &'static str,
        source: sqlx::Error,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("migrate-site: {0}")]
    Migration(#[from] crate::services::site::MigrationError),
    /// db_b stopped answering a command for `SYNC_STALL_TIMEOUT`.
    #[error("{command}: {}", stalled_message(.cut))]
    Stalled {
        command: &'static str,
        cut: crate::services::watchdog::Cut,
    },
    /// SIGINT/SIGTERM, and the work in hand did not end by itself within this grace.
    #[error("{}", stopped_message(*.0))]
    Stopped(std::time::Duration),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::EnvFile(_) | CliError::Usage(_) => 2,
            CliError::Init(err) if err.is_configuration() => 2,
            CliError::Migration(crate::services::site::MigrationError::Refused(_)) => 2,
            CliError::Run(crate::services::sync::RunError::Refused(_)) => 6,
            CliError::Stopped(_) | CliError::Run(crate::services::sync::RunError::Stopped) => 4,
            _ => 1,
        }
    }
}

fn stopped_message(grace: std::time::Duration) -> String {
    if grace.is_zero() {
        "stopped by a signal".to_string()
    } else {
        format!(
            "stopped: the work in hand did not end within {} s of the signal (a database not answering); the next run carries on",
            grace.as_secs()
        )
    }
}

fn stalled_message(cut: &crate::services::watchdog::Cut) -> String {
    use crate::services::watchdog::{CENTRAL_SILENT, Cut};
    match cut {
        Cut::Stalled(after) => format!(
            "{CENTRAL_SILENT} for {} s (SYNC_STALL_TIMEOUT); gave up, nothing was changed",
            after.as_secs()
        ),
        Cut::Stopped => "stopped by a signal".to_string(),
    }
}

/// The exit code of `dbsync sync` for a run's outcome.
pub fn outcome_code(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Synced => 0,
        Outcome::Failed | Outcome::Running => 1,
        Outcome::Partial => 3,
        Outcome::Interrupted => 4,
        Outcome::Offline => 5,
        Outcome::Rewound | Outcome::SchemaChanged => 6,
    }
}

/// Parses the arguments, reads the configuration and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match start(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("dbsync: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn start(cli: Cli) -> Result<u8, CliError> {
    let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let env_file = EnvFile::load(&dir)?;
    // Before the configuration is read: a misspelled name often explains a missing one.
    for warning in env_file
        .warnings
        .iter()
        .chain(&crate::config::env_file::environment_warnings())
    {
        eprintln!("dbsync: warning: {warning}");
    }
    let config = Config::from_lookup(|name| env_file.lookup(name), &env_file.missing_hint())?;
    crate::telemetry::init(config.log_format, &config.log_filter);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| CliError::Usage(format!("cannot start the async runtime: {err}")))?;
    runtime.block_on(commands::execute(cli.command, config))
}
