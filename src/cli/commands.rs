//! One function per command.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{CliError, Command, RequeueArgs, RetryArgs, outcome_code, print, signals};
use crate::config::Config;
use crate::db::queue::{EntryFilter, RequeueSelection};
use crate::db::{self, Role, load, schema};
use crate::domain::Outcome;
use crate::metrics::Metrics;
use crate::services::sync::checks::{self, CheckError, Claim};
use crate::services::sync::tables::{self, SchemaProblem, Tables, not_synced};
use crate::services::sync::{Preparation, RunError, SyncEngine, requeue, status};
use crate::services::watchdog::Watchdog;
use crate::services::{ServiceError, setup, site, verify};
use crate::startup::{self, Service};

pub(super) async fn execute(command: Command, config: Config) -> Result<u8, CliError> {
    let shutdown = CancellationToken::new();
    let grace = signals::grace(&command);
    signals::until_stopped(
        shutdown.clone(),
        grace,
        command_result(command, config, shutdown),
    )
    .await
}

async fn command_result(
    command: Command,
    config: Config,
    shutdown: CancellationToken,
) -> Result<u8, CliError> {
    match command {
        Command::Serve => {
            Service::build(&config, shutdown).await?.run().await?;
            Ok(0)
        }
        Command::Init { seed, load } => init(&config, seed, load, shutdown).await,
        Command::Sync => sync_with_progress(&engine(&config, shutdown).await?).await,
        Command::Status { json } => status(&config, json).await,
        Command::Verify { json } => {
            let watchdog = Watchdog::new(config.sync.stall_timeout);
            on_db_b(
                &watchdog,
                "verify",
                verify_command(&config, json, &watchdog),
            )
            .await
        }
        Command::Requeue(args) => requeue_command(&config, requeue_selection(args)).await,
        Command::Retry(args) => requeue_command(&config, retry_selection(&config, args)?).await,
        Command::Resync { tables } => {
            let only = resync_tables(&config, tables)?;
            prepare_and_run(
                &engine(&config, shutdown).await?,
                Preparation::Resync { only },
            )
            .await
        }
        Command::Rebase => {
            prepare_and_run(&engine(&config, shutdown).await?, Preparation::Rebase).await
        }
        Command::Sites { json } => {
            let watchdog = Watchdog::new(config.sync.stall_timeout);
            on_db_b(&watchdog, "sites", sites(&config, json)).await
        }
        Command::MigrateSite => migrate_site(&config).await,
    }
}

/// A command reading db_b gives up once db_b has not answered for `SYNC_STALL_TIMEOUT`:
/// behind a network gone silent its connection stays open for hours. (`migrate-site` is
/// left unbounded: its ALTER TABLEs may rightly take longer.)
async fn on_db_b(
    watchdog: &Watchdog,
    command: &'static str,
    work: impl Future<Output = Result<u8, CliError>>,
) -> Result<u8, CliError> {
    // Signals are `until_stopped`'s: this token is never cancelled.
    let no_stop = CancellationToken::new();
    tokio::select! {
        result = work => result,
        cut = watchdog.cut(&no_stop) => Err(CliError::Stalled { command, cut }),
    }
}

/// The tables `resync --table` names, each once; every one must be in `SYNC_TABLES`.
fn resync_tables(config: &Config, mut tables: Vec<String>) -> Result<Vec<String>, CliError> {
    if let Some(unknown) = not_synced(&config.sync.tables, tables.iter().map(String::as_str)) {
        return Err(CliError::Usage(format!("resync --table: {unknown}")));
    }
    tables.sort();
    tables.dedup();
    Ok(tables)
}

/// The engine for one-shot commands (its metrics registry is never scraped).
async fn engine(config: &Config, shutdown: CancellationToken) -> Result<Arc<SyncEngine>, CliError> {
    let metrics = Arc::new(Metrics::new().map_err(|e| CliError::Usage(e.to_string()))?);
    Ok(startup::engine(config, shutdown, metrics).await?)
}

async fn init(
    config: &Config,
    seed: bool,
    load: bool,
    shutdown: CancellationToken,
) -> Result<u8, CliError> {
    let report = setup::init(config, seed).await?;
    print::init_report(config, &report, seed);
    // A key left for later is the operator's to finish: `init` again, after a sync.
    let finished = if report.deferred.is_empty() { 0 } else { 1 };
    if load {
        let every_table = Preparation::Resync { only: Vec::new() };
        let loaded = prepare_and_run(&engine(config, shutdown).await?, every_table).await?;
        return Ok(loaded.max(finished));
    }
    Ok(finished)
}

async fn sync(engine: &Arc<SyncEngine>) -> Result<u8, CliError> {
    match engine.run().await {
        Ok(report) => {
            say!("{report}");
            Ok(outcome_code(report.outcome))
        }
        Err(RunError::AlreadyRunning) => {
            say!("sync not started: another sync run is in progress");
            Ok(0)
        }
        Err(err) => Err(err.into()),
    }
}

/// `resync` and `rebase`: set the copy up under the run lock, then run.
async fn prepare_and_run(
    engine: &Arc<SyncEngine>,
    preparation: Preparation,
) -> Result<u8, CliError> {
    let prepared = engine.prepare(preparation).await?;
    if let Some(replaced) = &prepared.replaced {
        print::replaced_load(replaced);
    }
    if !prepared.carried_on.is_empty() {
        print::carried_on_load(&prepared.carried_on);
    }
    print::linked_copies(&prepared.linked);
    for (child, parent) in &prepared.unchecked_references {
        say!(
            "`{child}` refers to `{parent}` and only one of them is copied: references between them are not checked (copy both, or run `dbsync verify` after)"
        );
    }
    let code = sync_with_progress(engine).await?;
    if code == outcome_code(Outcome::Offline) {
        say!(
            "the copy is set up: the next run makes it (`dbsync sync`, or the service's schedule, once db_b answers)"
        );
    }
    Ok(code)
}

/// A run, with the initial load's progress on the terminal while it copies rows (a run
/// carries on a load cut short).
async fn sync_with_progress(engine: &Arc<SyncEngine>) -> Result<u8, CliError> {
    let watcher = tokio::spawn(print::load_progress(engine.watch_load()));
    let code = sync(engine).await;
    watcher.abort();
    // A line being drawn as the run ends is finished before it is cleared.
    let _ = watcher.await;
    print::end_progress_line();
    // A load the run did not finish: how far it got (the run's line counts finished loads).
    if code.is_ok()
        && let Ok(loads) = load::states_in(engine.local_pool()).await
    {
        print::unfinished_loads(&loads);
    }
    engine.close().await;
    code
}

async fn status(config: &Config, json: bool) -> Result<u8, CliError> {
    let pool = db::connect_pool(Role::Local, &config.local, startup::LOCAL_POOL).await?;
    let page = status::status_page(&pool, config.is_online, false, EntryFilter::All, 0, 50).await;
    let page = after_closing(&[&pool], page)
        .await
        .map_err(|source| CliError::Database {
            context: "reading the queue failed",
            source,
        })?;
    if json {
        print::json(&page)?;
    } else {
        print::status(&page.report, &page.load);
    }
    Ok(0)
}

async fn verify_command(config: &Config, json: bool, watchdog: &Watchdog) -> Result<u8, CliError> {
    let local = db::connect_pool(Role::Local, &config.local, startup::LOCAL_POOL).await?;
    let central = central_pool(config).await?;
    // Waits on db_a (an ALTER queued behind a transaction holds its definitions) are not
    // db_b's silence: they do not count toward SYNC_STALL_TIMEOUT.
    let tables = watchdog
        .while_on_db_a(synced_tables(&local, config))
        .await?;
    let mut conn = central.acquire().await.map_err(on("db_b"))?;
    let mut local_conn = local.acquire().await.map_err(on("db_a"))?;
    let site_id = config.sync.site_id.as_deref().unwrap_or_default();
    // Against a db_b this site does not match, or another db_a's site, every row would
    // count as differing: say what is wrong instead.
    let refusal =
        checks::central_refusal(&mut local_conn, &mut conn, &tables, site_id, Claim::Look)
            .await
            .map_err(|err| match err {
                CheckError::Local(source) => CliError::Database {
                    context: "db_a",
                    source,
                },
                CheckError::Central(source) => CliError::Database {
                    context: "reading db_b's tables failed",
                    source,
                },
            })?;
    if let Some(refusal) = refusal {
        return Err(CliError::Usage(format!("verify: {}", refusal.reason())));
    }
    // A table db_a changed since `init` would pass for equal while db_b lacks a column;
    // missing capture triggers leave the comparison sound (and wanted): said, not refused.
    let checked = watchdog
        .while_on_db_a(tables::load_checked(&mut local_conn, &config.sync.tables))
        .await;
    match checked {
        Err(SchemaProblem::Database(source)) => Err(on("db_a")(source))?,
        Err(problem @ SchemaProblem::Changed(_)) => {
            Err(CliError::Usage(format!("verify: {problem}")))?
        }
        Err(problem @ SchemaProblem::Uncaptured(_)) => say!("note: {problem}"),
        Ok(_) => {}
    }
    drop((conn, local_conn));
    let site = config.sync.site_id.as_deref();
    let result = verify::verify(&local, &central, &tables, site, watchdog).await;
    let report = after_closing(&[&local, &central], result)
        .await
        .map_err(|source| CliError::Database {
            context: "verify failed",
            source,
        })?;
    if json {
        print::json(&report)?;
    } else {
        print::verify(&report);
    }
    Ok(if report.is_equal() { 0 } else { 1 })
}

/// `result`, once `pools` are closed: a one-shot command's connections dropped unannounced
/// at exit would be "Aborted connection" warnings in the server's log.
async fn after_closing<T>(pools: &[&sqlx::MySqlPool], result: T) -> T {
    for pool in pools {
        pool.close().await;
    }
    result
}

async fn central_pool(config: &Config) -> Result<sqlx::MySqlPool, CliError> {
    let nodes = &config.central_nodes;
    let (pool, _) = db::nodes::central_pool(&config.central, nodes, startup::CENTRAL_POOL).await?;
    Ok(pool)
}

async fn sites(config: &Config, json: bool) -> Result<u8, CliError> {
    let central = central_pool(config).await?;
    let rows = site::sites(&central).await;
    let rows = after_closing(&[&central], rows)
        .await
        .map_err(|source| CliError::Database {
            context: "reading db_b's sync_sites failed",
            source,
        })?;
    if json {
        print::json(&rows)?;
    } else {
        print::sites(&rows);
    }
    Ok(0)
}

async fn migrate_site(config: &Config) -> Result<u8, CliError> {
    let local = db::connect_pool(Role::Local, &config.local, startup::LOCAL_POOL).await?;
    let central = central_pool(config).await?;
    let report = site::migrate(&local, &central, config).await;
    let report = after_closing(&[&local, &central], report).await?;
    if report.tables.is_empty() {
        say!("nothing to move: db_b's tables already carry site_id");
    } else {
        say!(
            "moved {} under site {}: {}; now run `dbsync init`",
            if report.tables.len() == 1 {
                "1 table"
            } else {
                "the tables"
            },
            report.site_id,
            report.tables.join(", ")
        );
    }
    Ok(0)
}

/// The synced tables as `init` captured them.
async fn synced_tables(pool: &sqlx::MySqlPool, config: &Config) -> Result<Tables, CliError> {
    let mut conn = pool.acquire().await.map_err(on("db_a"))?;
    let specs = schema::captured_specs(&mut conn)
        .await
        .map_err(|source| CliError::Database {
            context: "reading sync_tables failed",
            source,
        })?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|unreadable| CliError::Usage(format!("{unreadable}; run `dbsync init`")))?;
    let missing: Vec<&String> = config
        .sync
        .tables
        .iter()
        .filter(|t| !specs.iter().any(|s| &s.name == *t))
        .collect();
    if !missing.is_empty() {
        return Err(CliError::Usage(format!(
            "SYNC_TABLES lists {} but `dbsync init` has not set {} up; run `dbsync init`",
            missing
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        )));
    }
    let mut specs: Vec<_> = specs
        .into_iter()
        .filter(|s| config.sync.tables.contains(&s.name))
        .collect();
    specs.sort_by_key(|s| config.sync.tables.iter().position(|t| *t == s.name));
    Ok(Tables::new(specs))
}

fn requeue_selection(args: RequeueArgs) -> RequeueSelection {
    RequeueSelection {
        id: args.id,
        table: None,
        include_waiting: false,
    }
}

/// A table not in `SYNC_TABLES` is refused before anything is connected.
fn retry_selection(config: &Config, args: RetryArgs) -> Result<RequeueSelection, CliError> {
    if let Some(unknown) = not_synced(&config.sync.tables, args.table.as_deref()) {
        return Err(CliError::Usage(format!("retry --table: {unknown}")));
    }
    Ok(RequeueSelection {
        id: args.id,
        table: args.table,
        include_waiting: true,
    })
}

async fn requeue_command(config: &Config, selection: RequeueSelection) -> Result<u8, CliError> {
    let pool = db::connect_pool(Role::Local, &config.local, startup::LOCAL_POOL).await?;
    let requeued = requeue::requeue(&pool, &selection, &config.sync.tables).await;
    match after_closing(&[&pool], requeued).await {
        Ok(entries) => {
            say!("requeued {} change(s)", entries.len());
            if entries.is_empty() {
                say!(
                    "nothing was FAILED{}",
                    if selection.include_waiting {
                        " or waiting"
                    } else {
                        ""
                    }
                );
            }
            Ok(0)
        }
        Err(ServiceError::NotFound { entity, id }) => Err(CliError::NotFound(format!(
            "no {entity} with id {id} (see `dbsync status`)"
        ))),
        Err(err) => Err(CliError::Usage(format!("requeue failed: {err}"))),
    }
}

/// A database error of `context`, for `map_err`.
fn on(context: &'static str) -> impl Fn(sqlx::Error) -> CliError {
    move |source| CliError::Database { context, source }
}
