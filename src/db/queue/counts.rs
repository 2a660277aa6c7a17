//! Counting and listing `sync_queue` rows for `status`, the status page and the metrics.

use chrono::{DateTime, Utc};
use sqlx::mysql::{MySql, MySqlConnection, MySqlPool};
use sqlx::{QueryBuilder, Row};

use crate::domain::{QueueEntry, SyncStatus};

/// Counts of queue rows by status, in [`SyncStatus::ALL`] order.
pub async fn queue_counts(pool: &MySqlPool) -> Result<[i64; 3], sqlx::Error> {
    let rows =
        sqlx::query("SELECT CAST(sync_status AS CHAR) AS sync_status, COUNT(*) AS n FROM sync_queue GROUP BY sync_status")
            .fetch_all(pool)
            .await?;
    let mut counts = [0; 3];
    for row in rows {
        let status: String = row.try_get("sync_status")?;
        let n: i64 = row.try_get("n")?;
        if let Some(i) = SyncStatus::ALL.iter().position(|s| s.as_str() == status) {
            counts[i] = n;
        }
    }
    Ok(counts)
}

/// PENDING and FAILED changes per table (two ranges of the status index: SYNCED history,
/// however large, is not read).
pub async fn open_counts_by_table(
    pool: &MySqlPool,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT table_name, CAST(SUM(sync_status = 'PENDING') AS SIGNED), \
           CAST(SUM(sync_status = 'FAILED') AS SIGNED) \
         FROM sync_queue WHERE sync_status IN ('PENDING', 'FAILED') \
         GROUP BY table_name ORDER BY table_name",
    )
    .fetch_all(pool)
    .await
}

/// PENDING changes: a range of the status index, cheap however much SYNCED history there is.
pub async fn pending_count(conn: &mut MySqlConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING'")
        .fetch_one(conn)
        .await
}

/// What still waits after a run: PENDING changes backing off after a rejection, and the
/// earliest time one of them is due again.
pub async fn backing_off(
    conn: &mut MySqlConnection,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    sqlx::query_as(
        "SELECT COUNT(*), MIN(next_attempt_at) FROM sync_queue \
         WHERE sync_status = 'PENDING' AND next_attempt_at > CURRENT_TIMESTAMP(6)",
    )
    .fetch_one(conn)
    .await
}

/// When the oldest PENDING change was captured (retries do not make it younger).
pub async fn oldest_pending_at(pool: &MySqlPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT created_at FROM sync_queue WHERE sync_status = 'PENDING' ORDER BY id LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

pub(super) const ENTRY_COLUMNS: &str = "id, table_name, record_id, CAST(record_key AS CHAR) AS record_key, \
     CAST(operation AS CHAR) AS operation, CAST(sync_status AS CHAR) AS sync_status, retry_count, \
     last_error, created_at, last_updated_at, next_attempt_at";

/// Which queue entries a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryFilter {
    All,
    Status(SyncStatus),
    /// PENDING changes backing off after a rejection.
    Waiting,
}

pub async fn queue_entries(
    pool: &MySqlPool,
    filter: EntryFilter,
    after_id: i64,
    limit: u32,
) -> Result<Vec<QueueEntry>, sqlx::Error> {
    let mut query = QueryBuilder::<MySql>::new(format!(
        "SELECT {ENTRY_COLUMNS} FROM sync_queue WHERE id > "
    ));
    query.push_bind(after_id);
    match filter {
        EntryFilter::All => {}
        EntryFilter::Status(status) => {
            query.push(" AND sync_status = ").push_bind(status.as_str());
        }
        EntryFilter::Waiting => {
            query.push(" AND sync_status = 'PENDING' AND next_attempt_at > CURRENT_TIMESTAMP(6)");
        }
    }
    query.push(" ORDER BY id LIMIT ").push_bind(limit);
    query.build_query_as().fetch_all(pool).await
}
