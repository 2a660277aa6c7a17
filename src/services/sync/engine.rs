//! The engine: one run at a time (in this process and across processes), the checks before
//! a run may touch anything (online, db_b answers, tables as captured, queue not rewound),
//! then the drain, the purge and the run log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::mysql::{MySqlConnection, MySqlPool};
use tokio_util::sync::CancellationToken;

use super::drain::Drain;
use super::report::{RunError, RunReport, Tally, central_failed};
use super::tables;
use crate::config::{Config, DbTarget, SyncSettings};
use crate::db::{self, Role, error, nodes, packet, queue, runs};
use crate::domain::Outcome;
use crate::metrics::Metrics;
use crate::services::load::LoadProgress;
use crate::services::watchdog::Watchdog;

/// How long closing db_b's connection may take (a silent db_b answers no goodbye either).
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How much longer than `SYNC_STALL_TIMEOUT` db_b keeps a run's idle session.
const ABANDONED_SESSION_MARGIN: Duration = Duration::from_secs(15);
/// The message of a run that did not try db_b because `IS_ONLINE` is false.
pub const NOT_ONLINE: &str = "IS_ONLINE is false";

/// Shared by the scheduler, the HTTP API and the CLI.
pub struct SyncEngine {
    pub(super) local: MySqlPool,
    pub(super) local_target: DbTarget,
    pub(super) central_target: DbTarget,
    pub(super) central_nodes: Vec<(String, u16)>,
    pub(super) settings: SyncSettings,
    is_online: bool,
    /// `SITE_ID`, or '' for a single site.
    pub(super) site: String,
    pub(super) slot: Arc<tokio::sync::Mutex<()>>,
    pub(super) shutdown: CancellationToken,
    pub(super) metrics: Arc<Metrics>,
    /// Woken at the end of every run (the status page's sampler listens).
    run_finished: tokio::sync::Notify,
    pub(super) load_progress: tokio::sync::watch::Sender<Option<LoadProgress>>,
    pub(super) load_logged: std::sync::Mutex<Option<Instant>>,
}

impl SyncEngine {
    /// Closes db_a's connections (a one-shot command's last step): a connection dropped
    /// unannounced at exit is an "Aborted connection" warning in the server's log.
    pub async fn close(&self) {
        self.local.close().await;
    }

    pub fn new(
        local: MySqlPool,
        config: &Config,
        shutdown: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(SyncEngine {
            local,
            local_target: config.local.clone(),
            central_target: config.central.clone(),
            central_nodes: config.central_nodes.clone(),
            settings: config.sync.clone(),
            is_online: config.is_online,
            site: config.sync.site_id.clone().unwrap_or_default(),
            slot: Arc::new(tokio::sync::Mutex::new(())),
            shutdown,
            metrics,
            run_finished: tokio::sync::Notify::new(),
            load_progress: tokio::sync::watch::Sender::new(None),
            load_logged: std::sync::Mutex::new(None),
        })
    }

    pub fn is_online(&self) -> bool {
        self.is_online
    }

    pub fn is_running(&self) -> bool {
        self.slot.try_lock().is_err()
    }

    pub fn local_pool(&self) -> &MySqlPool {
        &self.local
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Resolves when the next run ends.
    pub async fn run_finished(&self) {
        self.run_finished.notified().await
    }

    /// Resolves once no run is in progress in this process (for a clean shutdown).
    pub async fn wait_idle(&self) {
        let _slot = self.slot.lock().await;
    }

    /// One run. `Err(AlreadyRunning)` when another run holds the lock (here or in another
    /// process); nothing is recorded then.
    pub async fn run(self: &Arc<Self>) -> Result<RunReport, RunError> {
        let slot = self
            .slot
            .clone()
            .try_lock_owned()
            .map_err(|_| RunError::AlreadyRunning)?;
        self.clone().run_in_slot(slot).await
    }

    /// Starts a run on its own task. The in-process slot is taken before returning, so a
    /// second request right after this one is refused rather than racing it.
    pub fn start_in_background(self: &Arc<Self>) -> Result<(), RunError> {
        let slot = self
            .slot
            .clone()
            .try_lock_owned()
            .map_err(|_| RunError::AlreadyRunning)?;
        let engine = self.clone();
        tokio::spawn(async move {
            match engine.run_in_slot(slot).await {
                Ok(_) => {}
                Err(RunError::AlreadyRunning) => {
                    tracing::info!("requested sync run skipped: another process holds the lock")
                }
                Err(err) => tracing::error!(error = %err, "requested sync run failed"),
            }
        });
        Ok(())
    }

    /// The run on a task of its own, so even a panic ends as an error (never a crash of
    /// the server) and never leaves the run lock held: the lock lives on a connection of
    /// its own, closed when the task ends however it ends.
    async fn run_in_slot(
        self: Arc<Self>,
        slot: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<RunReport, RunError> {
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let _slot = slot;
            engine.locked_run().await
        });
        let result = match task.await {
            Ok(result) => result,
            Err(join) => {
                tracing::error!(error = %join, "the sync run stopped unexpectedly");
                Err(RunError::Crashed(join.to_string()))
            }
        };
        self.run_finished.notify_waiters();
        result
    }

    async fn locked_run(&self) -> Result<RunReport, RunError> {
        let mut conn = db::connect_one(Role::Local, &self.local_target).await?;
        if !runs::try_lock(&mut conn).await? {
            return Err(RunError::AlreadyRunning);
        }
        let mut cut_off = false;
        let result = self.logged_run(&mut conn, &mut cut_off).await;
        if cut_off {
            // Dropped mid-statement: closing the socket ends the session, which makes db_a
            // abandon what it was doing (a read waiting on a lock) and let the run lock go.
            drop(conn);
            return result;
        }
        // Should releasing fail, closing ends the session, and the lock with it.
        let _ = runs::unlock(&mut conn).await;
        let _ = conn.close().await;
        result
    }

    async fn logged_run(
        &self,
        conn: &mut MySqlConnection,
        cut_off: &mut bool,
    ) -> Result<RunReport, RunError> {
        let started = Instant::now();
        let run_id = runs::start_run(&self.local).await?;
        let abandoned = runs::close_abandoned_runs(&self.local, run_id).await?;
        if abandoned > 0 {
            tracing::warn!(
                abandoned,
                "closed runs left `running` by a process that stopped mid-run"
            );
        }
        let mut tally = Tally::default();
        let (mut outcome, mut message) = match self.execute(conn, &mut tally).await {
            Ok((outcome, message)) => (outcome, message),
            Err(err) => (
                Outcome::Failed,
                Some(format!("db_a error: {}", error::describe(&err))),
            ),
        };
        if matches!(outcome, Outcome::Synced) {
            self.purge_history().await;
        }
        *cut_off = tally.cut_off;
        let left = self.left_pending(conn, tally.cut_off).await;
        let (remaining, waiting, next_retry_at) = left.unwrap_or_else(|err| {
            outcome = Outcome::Failed; // db_a failed under the run's last step
            message = Some(format!("db_a error: {}", error::describe(&err)));
            (-1, 0, None)
        });
        let refused = tally.loaded.map_or(0, |l| l.refused);
        let troubled = tally.failed > 0 || tally.held_back > 0 || waiting > 0 || refused > 0;
        if outcome == Outcome::Synced && troubled {
            outcome = Outcome::Partial;
            message = message.or_else(|| Some(tally.partial_note(waiting)));
        }
        runs::finish_run(
            &self.local,
            run_id,
            outcome,
            tally.applied,
            tally.failed,
            message.as_deref(),
        )
        .await?;
        self.metrics
            .runs
            .with_label_values(&[outcome.as_str()])
            .inc();
        self.metrics
            .run_duration
            .with_label_values(&[outcome.as_str()])
            .observe(started.elapsed().as_secs_f64());
        let report = RunReport {
            run_id,
            outcome,
            applied: tally.applied,
            failed: tally.failed,
            held_back: tally.held_back,
            loaded: tally.loaded,
            waiting,
            next_retry_at,
            remaining,
            elapsed_ms: started.elapsed().as_millis(),
            message,
        };
        if !self.site.is_empty() && outcome != Outcome::Offline {
            self.report_to_central(&report).await;
        }
        tracing::info!(
            run_id,
            outcome = %report.outcome,
            applied = report.applied,
            failed = report.failed,
            held_back = report.held_back,
            waiting = report.waiting,
            remaining = report.remaining,
            elapsed_ms = report.elapsed_ms as u64,
            note = report.message.as_deref().unwrap_or(""),
            "sync run finished"
        );
        Ok(report)
    }

    /// The checks, then the drain. `Err` only for db_a errors.
    async fn execute(
        &self,
        conn: &mut MySqlConnection,
        tally: &mut Tally,
    ) -> Result<(Outcome, Option<String>), sqlx::Error> {
        if !self.is_online {
            return Ok((Outcome::Offline, Some(NOT_ONLINE.to_string())));
        }
        // A db_b that does not answer holds a connect until it times out: a stop goes first.
        let connected = tokio::select! {
            connected = self.connect_central() => connected,
            () = self.shutdown.cancelled() => {
                let stopped = "shutdown requested before db_b answered; the next run carries on";
                return Ok((Outcome::Interrupted, Some(stopped.to_string())));
            }
        };
        let mut central = match connected {
            Ok(central) => central,
            Err(reason) => return Ok((Outcome::Offline, Some(reason))),
        };
        let watchdog = Watchdog::new(self.settings.stall_timeout);
        let ended = tokio::select! {
            ended = self.execute_with(conn, &mut central, tally, &watchdog) => ended,
            cut = watchdog.cut(&self.shutdown) => {
                tally.cut_off = true;
                tracing::warn!(reason = %cut, "sync run cut off");
                Ok((Outcome::Interrupted, Some(cut.to_string())))
            }
        };
        // Closed, not dropped, however the run ended (a dropped connection is an aborted
        // client in db_b's log); but a db_b that stopped answering would hold the close too.
        let _ = tokio::time::timeout(CLOSE_WAIT, central.close()).await;
        ended
    }

    /// [`Self::execute`] once db_b answered.
    async fn execute_with(
        &self,
        conn: &mut MySqlConnection,
        central: &mut MySqlConnection,
        tally: &mut Tally,
        watchdog: &Watchdog,
    ) -> Result<(Outcome, Option<String>), sqlx::Error> {
        // Should this run be cut off mid-transaction with db_b's network silent, db_b drops
        // the session, and the locks it holds (the watermark's), once idle this long: not
        // after the server's own `wait_timeout` (8 hours by default), every run until then
        // waiting on those locks. A healthy run is never idle that long (the watchdog).
        let idle = self.settings.stall_timeout.as_secs() + ABANDONED_SESSION_MARGIN.as_secs();
        let idle_limit = sqlx::query("SET SESSION wait_timeout = ?").bind(idle);
        if let Err(err) = idle_limit.execute(&mut *central).await {
            return Ok((Outcome::Interrupted, Some(central_failed(&err))));
        }
        let packet = match packet::packet_limit(central).await {
            Ok(packet) => packet,
            Err(err) => {
                let reason = central_failed(&err);
                return Ok((Outcome::Interrupted, Some(reason)));
            }
        };
        if let Some(reason) = packet::unusable(packet) {
            tracing::warn!(%reason, "sync run stopped before applying anything");
            return Ok((Outcome::Interrupted, Some(reason)));
        }
        // Read before the definitions are checked: every change up to it was written under
        // a definition the check sees (one after an ALTER would not fit the old one).
        let mut run_max = queue::max_id(conn).await?;
        let tables = match tables::load_checked(conn, &self.settings.tables).await {
            Ok(tables) => tables,
            Err(
                problem
                @ (tables::SchemaProblem::Changed(_) | tables::SchemaProblem::Uncaptured(_)),
            ) => {
                // The problem's own words end with what to run.
                let reason = problem.to_string();
                tracing::warn!(%reason, "sync run stopped: the schema changed");
                return Ok((
                    Outcome::SchemaChanged,
                    Some(format!("{reason}; nothing was applied")),
                ));
            }
            Err(tables::SchemaProblem::Database(err)) => return Err(err),
        };
        let loading = match self.refusal(conn, central, &tables, tally).await? {
            Ok(loading) => loading,
            Err(refused) => return Ok(refused),
        };
        if loading {
            if let Some(stopped) = self
                .load(conn, central, &tables, packet, tally, watchdog)
                .await?
            {
                return Ok(stopped);
            }
            run_max = queue::max_id(conn).await?;
            let configured = &self.settings.tables;
            if let Some(reason) = tables::changed_while_copied(conn, configured, &tables).await? {
                tracing::warn!(%reason, "sync run stopped after its copy: the schema changed");
                return Ok((Outcome::SchemaChanged, Some(reason)));
            }
        }
        let outcome = Drain::new(self, &tables, run_max, packet, watchdog)
            .run(conn, central, tally)
            .await?;
        Ok((outcome, tally.note.take()))
    }

    /// A connection of the run's own to the first ready db_b node, or why db_b counts as
    /// offline. A direct connection, not a pool: a refused port is reported at once, in
    /// its own words.
    async fn connect_central(&self) -> Result<MySqlConnection, String> {
        let (conn, node) = nodes::connect_ready(&self.central_target, &self.central_nodes)
            .await
            .map_err(|err| format!("db_b unreachable: {}", err.reason))?;
        if self.central_nodes.len() > 1 {
            tracing::debug!(node = %format!("{}:{}", node.host, node.port), "sync run uses this db_b node");
        }
        Ok(conn)
    }

    /// PENDING changes after the run, and those backing off with when the first is due.
    /// A run cut off may have left `conn` mid-statement: a pooled connection asks instead.
    async fn left_pending(
        &self,
        conn: &mut MySqlConnection,
        cut_off: bool,
    ) -> Result<(i64, i64, Option<chrono::DateTime<chrono::Utc>>), sqlx::Error> {
        let mut pooled = None;
        let conn = match cut_off {
            true => &mut **pooled.insert(self.local.acquire().await?),
            false => conn,
        };
        let remaining = queue::pending_count(conn).await?;
        let (waiting, next_retry_at) = queue::backing_off(conn).await?;
        Ok((remaining, waiting, next_retry_at))
    }
}
