//! The `dbsync` command line: load configuration, then run one subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use dbsync::config::Config;
use dbsync::cron::sync_cron;
use dbsync::services::ServiceError;
use dbsync::services::sync::{requeue, status};
use dbsync::services::{resync, setup, verify};
use dbsync::startup::{self, Service};
use dbsync::telemetry;
use sqlx::mysql::MySqlPool;

#[derive(Parser)]
#[command(
    name = "dbsync",
    version,
    about = "Sync an offline MySQL database (db_a) into a central one (db_b)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and the scheduled sync until SIGINT/SIGTERM.
    Serve,
    /// Create both databases, their tables and the capture triggers (idempotent).
    Init {
        /// Also load the sample data into an empty db_a.
        #[arg(long)]
        seed: bool,
    },
    /// Run one sync now and print a one-line summary.
    Sync,
    /// Show the queue counts and the last run.
    Status {
        /// Print JSON (the same as GET /sync/status).
        #[arg(long)]
        json: bool,
    },
    /// Compare db_a and db_b users and orders; exit 1 when they differ.
    Verify,
    /// Put FAILED changes back to PENDING with a fresh retry budget.
    Requeue {
        /// The queue id of one FAILED change.
        #[arg(
            long,
            conflicts_with = "all_failed",
            required_unless_present = "all_failed"
        )]
        id: Option<i64>,
        /// Every FAILED change.
        #[arg(long)]
        all_failed: bool,
    },
    /// Queue every current user and order, to rebuild a new or drifted db_b.
    Resync,
}

/// Exit code for configuration problems (also clap's code for bad arguments).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(err) = dotenvy::dotenv()
        && !err.not_found()
    {
        eprintln!("dbsync: cannot read .env: {err}");
        return ExitCode::from(EXIT_CONFIG);
    }
    telemetry::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("dbsync: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("dbsync: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli.command, config)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("dbsync: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command, config: Config) -> Result<ExitCode, String> {
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    match command {
        Command::Serve => {
            if let Err(reason) = sync_cron::validate(&config.sync.cron) {
                eprintln!(
                    "dbsync: configuration: SYNC_CRON={:?} is invalid: {reason}",
                    config.sync.cron
                );
                return Ok(ExitCode::from(EXIT_CONFIG));
            }
            let service = Service::build(&config, shutdown)
                .await
                .map_err(|e| e.to_string())?;
            service.run().await.map_err(|e| e.to_string())?;
        }
        Command::Init { seed } => {
            let report = setup::init(&config, seed)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "initialised {} (local) and {} (central): {} trigger(s) created{}",
                config.local.database,
                config.central.database,
                report.triggers_created,
                match (seed, report.seeded) {
                    (false, _) => "",
                    (true, true) => ", sample data loaded",
                    (true, false) => ", sample data skipped (db_a already has users)",
                }
            );
        }
        Command::Sync => {
            let engine = connect_engine(&config, shutdown).await?;
            match engine.run().await {
                Ok(report) => println!("{report}"),
                Err(dbsync::services::sync::RunError::AlreadyRunning) => {
                    println!("sync not started: another sync run is in progress");
                }
                Err(err) => return Err(err.to_string()),
            }
        }
        Command::Status { json } => {
            let engine = connect_engine(&config, shutdown).await?;
            let page =
                status::status_page(engine.local_pool(), config.is_online, false, None, 0, 50)
                    .await
                    .map_err(|e| format!("reading the queue failed: {e}"))?;
            let report = &page.report;
            if json {
                let text = serde_json::to_string_pretty(&page).map_err(|e| e.to_string())?;
                println!("{text}");
            } else {
                let c = &report.counts;
                println!("online: {}", report.online);
                println!(
                    "pending: {}  synced: {}  failed: {}",
                    c.pending, c.synced, c.failed
                );
                if let Some(age) = report.oldest_pending_age_seconds {
                    println!("oldest pending change: {age}s old");
                }
                match &report.last_run {
                    Some(run) => println!(
                        "last run #{}: {} at {} (applied {}, failed {}){}",
                        run.id,
                        run.outcome,
                        run.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        run.applied,
                        run.failed,
                        run.message
                            .as_deref()
                            .map(|m| format!(" — {m}"))
                            .unwrap_or_default()
                    ),
                    None => println!("last run: none yet"),
                }
            }
        }
        Command::Verify => {
            let (local, central) = connect_both(&config).await?;
            let report = verify::verify(&local, &central)
                .await
                .map_err(|e| format!("verify failed: {e}"))?;
            for (table, diff) in [("users", &report.users), ("orders", &report.orders)] {
                if diff.differing == 0 {
                    println!("{table}: equal ({} rows)", diff.compared);
                } else {
                    let ids: Vec<String> = diff.ids.iter().map(i64::to_string).collect();
                    println!(
                        "{table}: {} differing id(s): {}",
                        diff.differing,
                        ids.join(", ")
                    );
                }
            }
            return Ok(if report.is_equal() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::Requeue { id, all_failed: _ } => {
            let engine = connect_engine(&config, shutdown).await?;
            let entries = match requeue::requeue(engine.local_pool(), id).await {
                Ok(entries) => entries,
                Err(ServiceError::NotFound { .. }) => {
                    eprintln!(
                        "dbsync: no FAILED change with id {}",
                        id.unwrap_or_default()
                    );
                    return Ok(ExitCode::FAILURE);
                }
                Err(err) => return Err(format!("requeue failed: {err}")),
            };
            println!("requeued {} change(s)", entries.len());
        }
        Command::Resync => {
            let (local, central) = connect_both(&config).await?;
            let report = resync::resync(&local, &central)
                .await
                .map_err(|e| format!("resync failed: {e}"))?;
            println!(
                "queued a full resync: {} delete(s) of rows only db_b had, {} insert(s) of db_a's rows",
                report.deletes, report.inserts
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Pools on db_a and db_b for the commands that read both; both must answer.
async fn connect_both(config: &Config) -> Result<(MySqlPool, MySqlPool), String> {
    let local = dbsync::db::connect_pool("local (db_a)", &config.local, startup::LOCAL_POOL)
        .await
        .map_err(|e| e.to_string())?;
    let central =
        dbsync::db::connect_pool("central (db_b)", &config.central, startup::CENTRAL_POOL)
            .await
            .map_err(|e| e.to_string())?;
    Ok((local, central))
}

/// The engine for one-shot commands; its metrics registry is never scraped.
async fn connect_engine(
    config: &Config,
    shutdown: CancellationToken,
) -> Result<std::sync::Arc<dbsync::services::sync::SyncEngine>, String> {
    let metrics = dbsync::metrics::Metrics::new().map_err(|e| e.to_string())?;
    startup::connect(config, shutdown, std::sync::Arc::new(metrics))
        .await
        .map_err(|e| e.to_string())
}

/// SIGINT or SIGTERM cancels `shutdown`: the server drains, the run in hand finishes its batch.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutdown requested");
    shutdown.cancel();
}
