//! The sync engine: replays PENDING changes from db_a's `sync_queue` into db_b.
//!
//! A run takes the run lock, checks that the system is online, then repeatedly reads a
//! batch of due changes in id order, applies it to db_b in one transaction
//! ([`apply::apply_changes`]) and marks it SYNCED — until no due change is left.
//! When a batch is rejected, it is split until the change(s) at fault are found; each of
//! those gets a retry with backoff (or FAILED), while the rest of the batch is applied.
//! Later changes of a record whose change is backing off wait behind it.

pub mod apply;
pub mod change;
pub mod history;
pub mod requeue;
pub mod status;

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::mysql::{MySqlConnection, MySqlPool};
use sqlx::{ConnectOptions, Connection};
use tokio_util::sync::CancellationToken;

use crate::config::SyncSettings;
use crate::db::central::{self, Table};
use crate::db::{self, local};
use crate::metrics::Metrics;
use change::Change;

/// How long db_b gets to answer before a run counts as offline.
const CENTRAL_PING_TIMEOUT: Duration = Duration::from_secs(5);
/// A batch that takes longer than this is abandoned (rolled back) as an interruption:
/// a connection that hangs must not hold the run lock forever.
const BATCH_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest wait between retries of a failing change.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// SYNCED rows deleted per statement when purging old history.
const PURGE_CHUNK: u32 = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every due change was applied or parked.
    Synced,
    /// `IS_ONLINE=false` or db_b did not answer: nothing was touched.
    Offline,
    /// db_b went away mid-run, or shutdown was requested: the open batch rolled back.
    Interrupted,
    /// db_a failed under the run (the queue could not be read or marked).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Synced => "synced",
            Outcome::Offline => "offline",
            Outcome::Interrupted => "interrupted",
            Outcome::Failed => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub outcome: Outcome,
    /// Changes now SYNCED (written to db_b, or superseded by a newer one already there).
    pub applied: u64,
    /// Failed attempts in this run (each now backing off, or FAILED).
    pub failed: u64,
    /// PENDING changes left after the run (backing off, waiting, or newer than the run).
    pub remaining: i64,
    pub elapsed_ms: u128,
    pub message: Option<String>,
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sync run {}: {} — applied {}, failed {}, remaining {}, elapsed {:.2}s",
            self.run_id,
            self.outcome,
            self.applied,
            self.failed,
            self.remaining,
            self.elapsed_ms as f64 / 1000.0
        )?;
        if let Some(message) = &self.message {
            write!(f, " ({message})")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("a sync run is already in progress")]
    AlreadyRunning,
    #[error("the local database (db_a) failed: {0}")]
    Local(#[from] sqlx::Error),
}

/// Shared by the scheduler, the HTTP API and the CLI; one run at a time.
pub struct SyncEngine {
    local: MySqlPool,
    central: MySqlPool,
    settings: SyncSettings,
    is_online: bool,
    /// `GET_LOCK` name, per db_a, so processes syncing the same db_a exclude each other.
    lock_name: String,
    running: Arc<tokio::sync::Mutex<()>>,
    shutdown: CancellationToken,
    metrics: Arc<Metrics>,
    /// Woken at the end of every run (the status page's sampler listens).
    run_finished: tokio::sync::Notify,
}

impl SyncEngine {
    pub fn new(
        local: MySqlPool,
        central: MySqlPool,
        settings: SyncSettings,
        is_online: bool,
        local_database: &str,
        shutdown: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let lock_name: String = format!("dbsync.sync.{local_database}")
            .chars()
            .take(64)
            .collect();
        Arc::new(SyncEngine {
            local,
            central,
            settings,
            is_online,
            lock_name,
            running: Arc::new(tokio::sync::Mutex::new(())),
            shutdown,
            metrics,
            run_finished: tokio::sync::Notify::new(),
        })
    }

    pub fn is_online(&self) -> bool {
        self.is_online
    }

    pub fn is_running(&self) -> bool {
        self.running.try_lock().is_err()
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

    /// One run. `Err(AlreadyRunning)` when another run holds the lock (here or in another
    /// process); nothing is recorded then.
    pub async fn run(&self) -> Result<RunReport, RunError> {
        let slot = self
            .running
            .clone()
            .try_lock_owned()
            .map_err(|_| RunError::AlreadyRunning)?;
        self.run_in_slot(slot).await
    }

    /// Starts a run on its own task. The in-process slot is taken before returning, so a
    /// second request right after this one is refused rather than racing it.
    pub fn start_in_background(self: &Arc<Self>) -> Result<(), RunError> {
        let slot = self
            .running
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

    async fn run_in_slot(
        &self,
        _slot: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<RunReport, RunError> {
        let mut lock_conn = self.local.acquire().await?;
        if !local::try_run_lock(&mut lock_conn, &self.lock_name).await? {
            return Err(RunError::AlreadyRunning);
        }
        let result = self.locked_run(&mut lock_conn).await;
        self.run_finished.notify_waiters();
        // Releasing can only fail with the connection; the session end releases it then.
        if let Err(err) = local::release_run_lock(&mut lock_conn, &self.lock_name).await {
            tracing::warn!(error = %err, "could not release the sync run lock");
        }
        result
    }

    async fn locked_run(&self, conn: &mut MySqlConnection) -> Result<RunReport, RunError> {
        let started = Instant::now();
        let run_id = local::start_run(&self.local).await?;
        let mut tally = Tally::default();
        let (outcome, message) = match self.reason_offline().await {
            Some(reason) => (Outcome::Offline, Some(reason)),
            None => match self.drain(conn, &mut tally).await {
                Ok(outcome) => (outcome, tally.note.take()),
                Err(err) => (Outcome::Failed, Some(format!("db_a error: {err}"))),
            },
        };
        if outcome == Outcome::Synced {
            self.purge_history().await;
        }
        let remaining = local::pending_count(conn).await.unwrap_or(-1);
        local::finish_run(
            &self.local,
            run_id,
            outcome.as_str(),
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
            remaining,
            elapsed_ms: started.elapsed().as_millis(),
            message,
        };
        tracing::info!(
            run_id,
            outcome = %report.outcome,
            applied = report.applied,
            failed = report.failed,
            remaining = report.remaining,
            elapsed_ms = report.elapsed_ms as u64,
            note = report.message.as_deref().unwrap_or(""),
            "sync run finished"
        );
        Ok(report)
    }

    /// `Some(reason)` when this run must not touch anything.
    async fn reason_offline(&self) -> Option<String> {
        if !self.is_online {
            return Some("IS_ONLINE is false".to_string());
        }
        // A fresh connection, not the pool: the pool retries a refused connection until its
        // timeout, and its error no longer says why.
        let check = async {
            let mut conn = self.central.connect_options().connect().await?;
            central::ping(&mut conn).await?;
            conn.close().await
        };
        match tokio::time::timeout(CENTRAL_PING_TIMEOUT, check).await {
            Ok(Ok(())) => None,
            Ok(Err(err)) => Some(format!("db_b unreachable: {}", describe(&err))),
            Err(_) => Some(format!(
                "db_b did not answer within {}s",
                CENTRAL_PING_TIMEOUT.as_secs()
            )),
        }
    }

    /// Reads and applies batches until no due change is left. `Err` only for db_a errors.
    ///
    /// Two stages overlap: while db_b applies batch k, db_a marks batch k-1 SYNCED and reads
    /// batch k+1. A batch is marked only after its db_b transaction committed.
    async fn drain(
        &self,
        conn: &mut MySqlConnection,
        tally: &mut Tally,
    ) -> Result<Outcome, sqlx::Error> {
        // Records whose earliest PENDING change is backing off; their later changes wait.
        let mut waiting: HashSet<(Table, i64)> = HashSet::new();
        let batch_size = self.settings.batch_size;
        let mut rows = local::pending_changes(conn, 0, batch_size).await?;
        if rows.is_empty() {
            return Ok(Outcome::Synced);
        }
        // One db_b connection for the whole run: no pool round trip per batch.
        let mut central = match self.central.acquire().await {
            Ok(conn) => conn,
            Err(err) => {
                tally.note = Some(format!("db_b: {}", describe(&err)));
                return Ok(Outcome::Interrupted);
            }
        };
        let mut unmarked: Vec<i64> = Vec::new();
        let outcome = loop {
            if self.shutdown.is_cancelled() {
                tally.note = Some("shutdown requested".to_string());
                break Outcome::Interrupted;
            }
            let Some(last) = rows.last() else {
                break Outcome::Synced;
            };
            let cursor = last.id;
            let changes = self.decode_batch(conn, &rows, &mut waiting, tally).await?;
            let previous = std::mem::take(&mut unmarked);
            let (batch, db_a_stage) = tokio::join!(
                self.apply_batch(&mut central, changes, &mut waiting),
                async {
                    let marked = local::mark_synced(conn, &previous).await?;
                    let next = local::pending_changes(conn, cursor, batch_size).await?;
                    Ok::<_, sqlx::Error>((marked, next))
                }
            );
            let batch = batch?;
            let (marked, next) = db_a_stage?;
            tally.applied += marked;
            tally.failed += batch.failed;
            unmarked = batch.done;
            rows = next;
            if let Some(interruption) = batch.interruption {
                tally.note = Some(interruption);
                break Outcome::Interrupted;
            }
        };
        tally.applied += local::mark_synced(conn, &unmarked).await?;
        Ok(outcome)
    }

    /// Typed changes of `rows` that may be applied now. A backing-off row makes its record
    /// wait; a row that cannot be decoded is parked as FAILED at once.
    async fn decode_batch(
        &self,
        conn: &mut MySqlConnection,
        rows: &[local::QueuedChange],
        waiting: &mut HashSet<(Table, i64)>,
        tally: &mut Tally,
    ) -> Result<Vec<Change>, sqlx::Error> {
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            let key = Table::parse(&row.table_name).map(|table| (table, row.record_id));
            if !row.is_due() {
                waiting.extend(key);
                continue;
            }
            if key.is_some_and(|key| waiting.contains(&key)) {
                continue;
            }
            match change::decode(row) {
                Ok(change) => changes.push(change),
                Err(reason) => {
                    tracing::warn!(queue_id = row.id, table = %row.table_name, record_id = row.record_id, error = %reason, "change parked as FAILED");
                    local::record_failed_attempt(conn, row.id, row.retry_count + 1, &reason, None)
                        .await?;
                    // Hand-written rows can name anything: keep the label set bounded.
                    let table = Table::parse(&row.table_name).map_or("invalid", Table::as_str);
                    let operation = match row.operation.as_str() {
                        op @ ("INSERT" | "UPDATE" | "DELETE") => op,
                        _ => "invalid",
                    };
                    self.metrics
                        .changes_failed
                        .with_label_values(&[table, operation])
                        .inc();
                    tally.failed += 1;
                }
            }
        }
        Ok(changes)
    }

    /// Applies `changes` to db_b, splitting rejected pieces until each fault is one change.
    /// `Err` is a db_a error (recording a rejection failed).
    async fn apply_batch(
        &self,
        central: &mut MySqlConnection,
        changes: Vec<Change>,
        waiting: &mut HashSet<(Table, i64)>,
    ) -> Result<BatchResult, sqlx::Error> {
        let mut result = BatchResult::default();
        let mut pieces: VecDeque<Vec<Change>> = VecDeque::from([changes]);
        while let Some(piece) = pieces.pop_front() {
            let ready: Vec<&Change> = piece
                .iter()
                .filter(|c| !waiting.contains(&c.key()))
                .collect();
            if ready.is_empty() {
                continue;
            }
            let attempt =
                tokio::time::timeout(BATCH_TIMEOUT, apply::apply_changes(central, &ready)).await;
            let err = match attempt {
                Err(_) => {
                    result.interruption = Some(format!(
                        "db_b batch timed out after {}s",
                        BATCH_TIMEOUT.as_secs()
                    ));
                    return Ok(result);
                }
                Ok(Ok(applied)) => {
                    for change in &ready {
                        self.metrics
                            .changes_applied
                            .with_label_values(&[change.table.as_str(), change.operation.as_str()])
                            .inc();
                    }
                    result.done.extend(applied.done);
                    continue;
                }
                Ok(Err(err)) => err,
            };
            if db::is_connection_error(&err) || db::is_transient_error(&err) {
                result.interruption = Some(format!("db_b: {}", describe(&err)));
                return Ok(result);
            }
            if let [only] = ready.as_slice() {
                self.record_rejection(only, &err, waiting).await?;
                result.failed += 1;
            } else {
                let mut first: Vec<Change> = ready.into_iter().cloned().collect();
                let second = first.split_off(first.len() / 2);
                pieces.push_front(second);
                pieces.push_front(first);
            }
        }
        Ok(result)
    }

    async fn record_rejection(
        &self,
        change: &Change,
        err: &sqlx::Error,
        waiting: &mut HashSet<(Table, i64)>,
    ) -> Result<(), sqlx::Error> {
        let attempts = change.retry_count + 1;
        let reason = describe(err);
        self.metrics
            .changes_failed
            .with_label_values(&[change.table.as_str(), change.operation.as_str()])
            .inc();
        let retry_in =
            (attempts < self.settings.max_retries as i32).then(|| self.backoff(change.retry_count));
        match retry_in {
            Some(delay) => {
                waiting.insert(change.key());
                tracing::warn!(queue_id = change.queue_id, table = change.table.as_str(), record_id = change.record_id, attempts, retry_in_ms = delay.as_millis() as u64, error = %reason, "change rejected by db_b; will retry");
            }
            None => {
                tracing::error!(queue_id = change.queue_id, table = change.table.as_str(), record_id = change.record_id, attempts, error = %reason, "change rejected by db_b; parked as FAILED");
            }
        }
        // The run's own db_a connection is busy reading ahead; a rejection is rare.
        let mut conn = self.local.acquire().await?;
        local::record_failed_attempt(&mut conn, change.queue_id, attempts, &reason, retry_in).await
    }

    /// `SYNC_RETRY_BACKOFF` doubled per earlier failure, capped at an hour.
    fn backoff(&self, earlier_failures: i32) -> Duration {
        let factor = 2u32.saturating_pow(earlier_failures.clamp(0, 20) as u32);
        self.settings
            .retry_backoff
            .saturating_mul(factor)
            .min(MAX_BACKOFF)
    }

    async fn purge_history(&self) {
        if self.settings.retention.is_zero() {
            return;
        }
        let Ok(retention) = chrono::Duration::from_std(self.settings.retention) else {
            return;
        };
        let cutoff = chrono::Utc::now() - retention;
        match local::purge_synced(&self.local, cutoff, PURGE_CHUNK).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged old SYNCED queue rows"),
            Err(err) => tracing::warn!(error = %err, "could not purge old SYNCED queue rows"),
        }
    }
}

/// What applying one batch did.
#[derive(Default)]
struct BatchResult {
    /// Queue ids committed to db_b, to be marked SYNCED.
    done: Vec<i64>,
    /// Changes rejected (now backing off, or FAILED).
    failed: u64,
    /// Why db_b stopped the run, if it did.
    interruption: Option<String>,
}

#[derive(Default)]
struct Tally {
    applied: u64,
    failed: u64,
    note: Option<String>,
}

/// A database error as a short sentence for `last_error` and logs: the server's message,
/// or the kind of connection failure. Never includes credentials.
fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => {
            if db::mysql_error_number(db.as_ref()) == Some(1048) && db.message().contains("'id'") {
                // The upsert guard in db::central fired.
                "clashes with a different row in db_b on a unique key (such as email)".to_string()
            } else {
                db.message().to_string()
            }
        }
        sqlx::Error::Io(io) => format!("connection error: {io}"),
        sqlx::Error::PoolTimedOut => "no connection to db_b in time".to_string(),
        other => other.to_string(),
    }
}
