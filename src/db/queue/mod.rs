//! `sync_queue` on db_a: reading due changes, marking them, parking rejected ones,
//! requeueing and purging; [`counts`]: what status pages and metrics show of it;
//! [`closing`]: a table's changes closed at once; [`overtaken`]: FAILED changes a later
//! change of their record made needless. Nothing here writes a queue row for a
//! data change: the triggers do.

mod closing;
mod counts;
mod later;
mod overtaken;
pub use closing::{park_table, supersede_table};
use counts::ENTRY_COLUMNS;
pub use counts::{
    EntryFilter, backing_off, oldest_pending_at, open_counts_by_table, pending_count, queue_counts,
    queue_entries,
};
pub use later::{RecordRef, later_pending_change};
pub use overtaken::{close_overtaken, failed_records};

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::mysql::{MySql, MySqlConnection, MySqlPool};
use sqlx::{Connection, QueryBuilder};

use crate::domain::{QueueEntry, SyncStatus};

/// Longest `last_error` stored: a hand-written row can make an error text of any length,
/// and a text too long for the column would make parking the row fail.
pub const MAX_ERROR_CHARS: usize = 1000;

/// A queue row as the engine reads it; validated by the engine, never trusted.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueuedChange {
    pub id: i64,
    pub table_name: String,
    pub record_id: Option<i64>,
    pub record_key: Option<Vec<u8>>,
    pub operation: String,
    /// The row image as stored: bytes, as a text column can hold a value that is not UTF-8
    /// (CESU-8 from an old client), which must fail its own change, not the whole read.
    pub payload: Option<Vec<u8>>,
    pub retry_count: i32,
    /// 1 when the change may be tried now, 0 while it backs off after a rejection.
    pub due: i64,
    /// When it was captured, as text (part of the change's fingerprint).
    pub created_at: String,
}

impl QueuedChange {
    pub fn is_due(&self) -> bool {
        self.due != 0
    }

    /// Bytes of its row image (what reads are sized by).
    pub fn payload_bytes(&self) -> usize {
        self.payload.as_ref().map_or(0, Vec::len)
    }
}

const CHANGE_COLUMNS: &str = "id, table_name, record_id, record_key, CAST(operation AS CHAR) AS operation, \
     payload, retry_count, \
     CAST(next_attempt_at IS NULL OR next_attempt_at <= CURRENT_TIMESTAMP(6) AS SIGNED) AS due, \
     CAST(created_at AS CHAR) AS created_at";

/// The highest queue id (committed), or 0 for an empty queue.
pub async fn max_id(conn: &mut MySqlConnection) -> Result<i64, sqlx::Error> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM sync_queue")
        .fetch_one(conn)
        .await?;
    Ok(max.unwrap_or(0))
}

/// PENDING changes with `after_id < id <= up_to`, in id order, whether due or backing off:
/// reading the backing-off ones in order is how the engine knows which records must wait.
/// At most `limit`; fewer (but at least one while any is left) where PENDING changes are
/// sparse, or once the rows read hold [`READ_BYTES`] of payload.
///
/// Rows are read by primary key range, a window of [`READ_WINDOW`] × `limit` ids at a time:
/// during a drain, the status index's pages are the ones being marked, and reading through
/// them costs the server several times more (each entry is checked against its row). Where
/// a window holds nothing PENDING (history after a change that backs off), the status
/// index finds the next one.
pub async fn pending_changes(
    conn: &mut MySqlConnection,
    after_id: i64,
    up_to: i64,
    limit: u32,
) -> Result<Vec<QueuedChange>, sqlx::Error> {
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM sync_queue FORCE INDEX (PRIMARY) \
         WHERE id > ? AND id <= ? AND sync_status = 'PENDING' ORDER BY id LIMIT ?"
    );
    let window = i64::from(limit).saturating_mul(READ_WINDOW);
    let mut after = after_id;
    while after < up_to {
        let window_end = after.saturating_add(window).min(up_to);
        let mut stream = sqlx::query_as::<_, QueuedChange>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(after)
            .bind(window_end)
            .bind(limit)
            .fetch(&mut *conn);
        let (mut rows, mut bytes) = (Vec::new(), 0);
        while let Some(row) = stream.try_next().await? {
            bytes += row.payload_bytes();
            rows.push(row);
            if bytes >= READ_BYTES {
                // The driver skips the rest of the result; the next read starts after it.
                break;
            }
        }
        drop(stream);
        if !rows.is_empty() {
            return Ok(rows);
        }
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(id) FROM sync_queue WHERE sync_status = 'PENDING' AND id > ? AND id <= ?",
        )
        .bind(window_end)
        .bind(up_to)
        .fetch_one(&mut *conn)
        .await?;
        let Some(next) = next else { break };
        after = next - 1;
    }
    Ok(Vec::new())
}

/// How many ids (× the batch size) one read of [`pending_changes`] scans at most.
const READ_WINDOW: i64 = 4;

/// Payload bytes one read of [`pending_changes`] keeps at most (past the row that reaches
/// it): a batch of wide rows is cut short rather than held whole in memory.
pub const READ_BYTES: usize = 16 << 20;

/// One queue row by id, whatever its status.
pub async fn change(
    conn: &mut MySqlConnection,
    id: i64,
) -> Result<Option<QueuedChange>, sqlx::Error> {
    let sql = format!("SELECT {CHANGE_COLUMNS} FROM sync_queue WHERE id = ?");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Ids of PENDING changes below `below`, at most `limit`, in id order.
pub async fn pending_ids_below(
    conn: &mut MySqlConnection,
    below: i64,
    limit: u32,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM sync_queue WHERE sync_status = 'PENDING' AND id < ? ORDER BY id LIMIT ?",
    )
    .bind(below)
    .bind(limit)
    .fetch_all(conn)
    .await
}

fn push_id_list(query: &mut QueryBuilder<MySql>, ids: &[i64]) {
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
}

/// PENDING → SYNCED for `ids`, in one statement; the error of an earlier attempt goes with
/// it (a SYNCED change has none). Runs of consecutive ids go as ranges
/// (`id BETWEEN a AND b`): the server walks a range for less than it looks up each id of
/// a long `IN` list. A range never covers an id that is not in `ids` — a change that
/// committed late inside it must stay PENDING.
pub async fn mark_synced(conn: &mut MySqlConnection, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let ranges = id_ranges(ids);
    if ranges.is_empty() {
        return Ok(0);
    }
    let mut query = QueryBuilder::<MySql>::new(
        "UPDATE sync_queue SET sync_status = 'SYNCED', next_attempt_at = NULL, last_error = NULL \
         WHERE sync_status = 'PENDING' AND (",
    );
    for (i, (first, last)) in ranges.into_iter().enumerate() {
        query.push(if i == 0 { "" } else { " OR " });
        if first == last {
            query.push("id = ").push_bind(first);
        } else {
            query
                .push("id BETWEEN ")
                .push_bind(first)
                .push(" AND ")
                .push_bind(last);
        }
    }
    query.push(")");
    Ok(query.build().execute(conn).await?.rows_affected())
}

/// `ids` (in any order, repeats allowed) as ascending runs of consecutive ids `(first, last)`.
fn id_ranges(ids: &[i64]) -> Vec<(i64, i64)> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for id in sorted {
        match ranges.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(id) => *last = id,
            _ => ranges.push((id, id)),
        }
    }
    ranges
}

/// Cuts `text` to [`MAX_ERROR_CHARS`] characters.
pub fn bounded_error(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Records a failed attempt: the new retry count, the error (bounded), and either the next
/// attempt time (`retry_in = Some`) or FAILED (`retry_in = None`).
pub async fn record_failed_attempt(
    conn: &mut MySqlConnection,
    id: i64,
    retry_count: i32,
    error: &str,
    retry_in: Option<std::time::Duration>,
) -> Result<(), sqlx::Error> {
    let (status, delay_micros) = match retry_in {
        Some(delay) => (
            SyncStatus::Pending,
            Some(i64::try_from(delay.as_micros()).unwrap_or(i64::MAX)),
        ),
        None => (SyncStatus::Failed, None),
    };
    sqlx::query(
        "UPDATE sync_queue SET retry_count = ?, last_error = ?, sync_status = ?, \
         next_attempt_at = TIMESTAMPADD(MICROSECOND, ?, CURRENT_TIMESTAMP(6)) \
         WHERE id = ? AND sync_status = 'PENDING'",
    )
    .bind(retry_count)
    .bind(bounded_error(error))
    .bind(status.as_str())
    .bind(delay_micros)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Which changes a requeue takes.
#[derive(Debug, Clone, Default)]
pub struct RequeueSelection {
    /// One change by queue id.
    pub id: Option<i64>,
    /// Only changes of this table.
    pub table: Option<String>,
    /// Also changes backing off after a rejection (made due now), not only FAILED ones.
    pub include_waiting: bool,
}

/// FAILED → PENDING with a fresh retry budget, and (when asked) backing-off changes made
/// due now. Returns the entries as they were (with the error they failed with).
pub async fn requeue(
    pool: &MySqlPool,
    selection: &RequeueSelection,
) -> Result<Vec<QueueEntry>, sqlx::Error> {
    let filter = |query: &mut QueryBuilder<MySql>| {
        if selection.include_waiting {
            query.push(
                " WHERE (sync_status = 'FAILED' OR (sync_status = 'PENDING' \
                 AND next_attempt_at > CURRENT_TIMESTAMP(6)))",
            );
        } else {
            query.push(" WHERE sync_status = 'FAILED'");
        }
        if let Some(id) = selection.id {
            query.push(" AND id = ").push_bind(id);
        }
        if let Some(table) = &selection.table {
            query
                .push(" AND table_name = CAST(")
                .push_bind(table.clone())
                .push(" AS BINARY)");
        }
    };
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let mut select = QueryBuilder::<MySql>::new(format!("SELECT {ENTRY_COLUMNS} FROM sync_queue"));
    filter(&mut select);
    select.push(" ORDER BY id FOR UPDATE");
    let entries: Vec<QueueEntry> = select.build_query_as().fetch_all(&mut *tx).await?;
    let mut update = QueryBuilder::<MySql>::new(
        "UPDATE sync_queue SET retry_count = IF(sync_status = 'FAILED', 0, retry_count), \
         sync_status = 'PENDING', next_attempt_at = NULL",
    );
    filter(&mut update);
    update.build().execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(entries)
}

/// The highest SYNCED id: every change up to it was applied in db_b (the purge keeps it).
pub async fn newest_synced_id(conn: &mut MySqlConnection) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT MAX(id) FROM sync_queue WHERE sync_status = 'SYNCED'")
        .fetch_one(conn)
        .await
}

/// Deletes SYNCED rows last touched before `cutoff`, walking the SYNCED ids in windows of
/// `chunk` rows and stopping at the first window with nothing old enough (rows age in id
/// order, but a requeued change can be young among old ones: it is stepped over, not a
/// stop). The newest SYNCED row is always kept: it identifies the queue's position to db_b
/// (see `services::sync::rewind`). Returns how many rows it deleted.
pub async fn purge_synced(
    pool: &MySqlPool,
    cutoff: DateTime<Utc>,
    chunk: u32,
) -> Result<u64, sqlx::Error> {
    let newest = newest_synced_id(&mut *pool.acquire().await?).await?;
    let Some(newest) = newest else { return Ok(0) };
    let mut purged = 0;
    let mut cursor = i64::MIN;
    loop {
        let window: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, CAST(last_updated_at < ? AS SIGNED) FROM sync_queue \
             WHERE sync_status = 'SYNCED' AND id > ? AND id < ? ORDER BY id LIMIT ?",
        )
        .bind(cutoff)
        .bind(cursor)
        .bind(newest)
        .bind(chunk)
        .fetch_all(pool)
        .await?;
        let Some(&(last, _)) = window.last() else {
            return Ok(purged);
        };
        cursor = last;
        let old: Vec<i64> = window
            .iter()
            .filter(|(_, o)| *o != 0)
            .map(|(id, _)| *id)
            .collect();
        if old.is_empty() {
            return Ok(purged);
        }
        let mut delete = QueryBuilder::<MySql>::new(
            "DELETE FROM sync_queue WHERE sync_status = 'SYNCED' AND id IN (",
        );
        push_id_list(&mut delete, &old);
        delete.push(")");
        purged += delete.build().execute(pool).await?.rows_affected();
        if window.len() < chunk as usize {
            return Ok(purged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::id_ranges;

    #[test]
    fn consecutive_ids_become_ranges_and_gaps_stay_out() {
        assert_eq!(id_ranges(&[]), vec![]);
        assert_eq!(id_ranges(&[7]), vec![(7, 7)]);
        assert_eq!(
            id_ranges(&[5, 3, 4, 9, 10, 4, 12]),
            vec![(3, 5), (9, 10), (12, 12)]
        );
        assert_eq!(
            id_ranges(&[i64::MAX, i64::MAX - 1, i64::MIN]),
            vec![(i64::MIN, i64::MIN), (i64::MAX - 1, i64::MAX)]
        );
    }
}
