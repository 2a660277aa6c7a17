//! The operator's picture of the queue: counts, the last run, the oldest pending change.

use serde::Serialize;
use sqlx::mysql::MySqlPool;

use crate::db::local;
use crate::models::{Listing, QueueEntry, SyncRun, SyncStatus};

#[derive(Debug, Serialize)]
pub struct QueueCounts {
    pub pending: i64,
    pub synced: i64,
    pub failed: i64,
}

#[derive(Debug, Serialize)]
pub struct SyncStatusReport {
    /// The `IS_ONLINE` setting: whether runs try to reach db_b at all.
    pub online: bool,
    /// Whether a run is in progress in this process.
    pub running: bool,
    pub counts: QueueCounts,
    pub oldest_pending_age_seconds: Option<i64>,
    pub last_run: Option<SyncRun>,
}

/// Queue counts and the age in seconds of the oldest PENDING change (for status and metrics).
pub async fn queue_depth(
    local_pool: &MySqlPool,
) -> Result<(QueueCounts, Option<i64>), sqlx::Error> {
    let [pending, synced, failed] = local::queue_counts(local_pool).await?;
    let oldest = local::oldest_pending_at(local_pool).await?;
    let age = oldest.map(|at| (chrono::Utc::now() - at).num_seconds().max(0));
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
    Ok(SyncStatusReport {
        online,
        running,
        counts,
        oldest_pending_age_seconds,
        last_run: local::last_run(local_pool).await?,
    })
}

/// What `GET /sync/status` and `dbsync status --json` show: the report and a page of entries.
#[derive(Debug, Serialize)]
pub struct StatusPage {
    #[serde(flatten)]
    pub report: SyncStatusReport,
    pub entries: Listing<QueueEntry>,
}

pub async fn status_page(
    local_pool: &MySqlPool,
    online: bool,
    running: bool,
    filter: Option<SyncStatus>,
    after_id: i64,
    limit: u32,
) -> Result<StatusPage, sqlx::Error> {
    let report = status(local_pool, online, running).await?;
    let items = local::queue_entries(local_pool, filter, after_id, limit).await?;
    Ok(StatusPage {
        report,
        entries: Listing::new(items, limit, |e| e.id),
    })
}
