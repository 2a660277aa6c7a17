//! The operator's picture of the queue: counts, the last run, the oldest pending change.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::mysql::MySqlPool;

use super::engine::NOT_ONLINE;
use super::report::CENTRAL_FAILED;
use crate::db::load::{self, LoadState};
use crate::db::queue::EntryFilter;
use crate::db::{queue, runs};
use crate::domain::{Listing, Outcome, QueueEntry, SyncRun};
use crate::services::watchdog::CENTRAL_SILENT;

#[derive(Debug, Serialize)]
pub struct QueueCounts {
    pub pending: i64,
    pub synced: i64,
    pub failed: i64,
}

/// Changes not yet in db_b, per table.
#[derive(Debug, Serialize)]
pub struct TableCounts {
    pub table: String,
    pub pending: i64,
    pub failed: i64,
}

/// What the last run tells of db_b.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CentralReach {
    /// `IS_ONLINE` is false: runs do not try db_b.
    NotTried,
    /// No run has tried db_b yet (or since `IS_ONLINE` was switched on).
    Unknown,
    Reachable,
    /// db_b did not answer, went silent or failed the last run.
    Unreachable,
}

impl CentralReach {
    fn of(online: bool, last_run: Option<&SyncRun>) -> Self {
        match last_run {
            _ if !online => CentralReach::NotTried,
            // A run from before IS_ONLINE was switched on tells nothing of db_b.
            Some(run) if run.message.as_deref() == Some(NOT_ONLINE) => CentralReach::Unknown,
            Some(run) if run.outcome == Outcome::Offline => CentralReach::Unreachable,
            // Cut off by db_b (lost, silent, refusing work), not by a stop or db_a.
            Some(run)
                if run.outcome == Outcome::Interrupted
                    && run.message.as_deref().is_some_and(|m| {
                        m.contains(CENTRAL_FAILED) || m.contains(CENTRAL_SILENT)
                    }) =>
            {
                CentralReach::Unreachable
            }
            Some(_) => CentralReach::Reachable,
            None => CentralReach::Unknown,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SyncStatusReport {
    /// The `IS_ONLINE` setting: whether runs try to reach db_b at all.
    pub online: bool,
    /// Whether db_b answered, as far as the last run tells.
    pub central: CentralReach,
    /// Whether a run is in progress in this process.
    pub running: bool,
    pub counts: QueueCounts,
    /// PENDING and FAILED changes per table (tables with none are left out).
    pub by_table: Vec<TableCounts>,
    /// Age of the oldest PENDING change since it was captured (0 when none is pending).
    pub oldest_pending_age_seconds: i64,
    /// PENDING changes backing off after a rejection, and when the first is due again.
    pub waiting: i64,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub last_run: Option<SyncRun>,
    /// The newest run that rejected changes (it may be older than `last_run`).
    pub last_run_with_rejections: Option<SyncRun>,
}

/// Queue counts and the age in seconds of the oldest PENDING change (for status and metrics).
pub async fn queue_depth(local_pool: &MySqlPool) -> Result<(QueueCounts, i64), sqlx::Error> {
    let [pending, synced, failed] = queue::queue_counts(local_pool).await?;
    let oldest = queue::oldest_pending_at(local_pool).await?;
    let age = oldest.map_or(0, |at| (Utc::now() - at).num_seconds().max(0));
    Ok((
        QueueCounts {
            pending,
            synced,
            failed,
        },
        age,
    ))
}

pub async fn status(
    local_pool: &MySqlPool,
    online: bool,
    running: bool,
) -> Result<SyncStatusReport, sqlx::Error> {
    let (counts, oldest_pending_age_seconds) = queue_depth(local_pool).await?;
    // Given back before the next query: a status request holds one connection at a time.
    let (waiting, next_retry_at) = {
        let mut conn = local_pool.acquire().await?;
        queue::backing_off(&mut conn).await?
    };
    let last_run = runs::last_run(local_pool).await?;
    // A run of another process (`dbsync sync` beside `serve`) is one too.
    let elsewhere = !running && runs::lock_taken(local_pool).await?;
    Ok(SyncStatusReport {
        online,
        central: CentralReach::of(online, last_run.as_ref()),
        running: running || elsewhere,
        counts,
        by_table: queue::open_counts_by_table(local_pool)
            .await?
            .into_iter()
            .map(|(table, pending, failed)| TableCounts {
                table,
                pending,
                failed,
            })
            .collect(),
        oldest_pending_age_seconds,
        waiting,
        next_retry_at,
        last_run,
        last_run_with_rejections: runs::last_run_with_rejections(local_pool).await?,
    })
}

/// What `GET /sync/status` and `dbsync status --json` show: the report and a page of entries.
#[derive(Debug, Serialize)]
pub struct StatusPage {
    #[serde(flatten)]
    pub report: SyncStatusReport,
    /// The initial load's progress per table (empty when no load was ever started).
    pub load: Vec<LoadState>,
    pub entries: Listing<QueueEntry>,
}

pub async fn status_page(
    local_pool: &MySqlPool,
    online: bool,
    running: bool,
    filter: EntryFilter,
    after_id: i64,
    limit: u32,
) -> Result<StatusPage, sqlx::Error> {
    let report = status(local_pool, online, running).await?;
    let items = queue::queue_entries(local_pool, filter, after_id, limit).await?;
    Ok(StatusPage {
        report,
        load: load::states_in(local_pool).await?,
        entries: Listing::new(items, limit, |e| e.id),
    })
}
