//! FAILED changes that a later change of their record has overtaken: read to be watched
//! by a run, and closed once that later change is in db_b.

use sqlx::QueryBuilder;
use sqlx::mysql::{MySql, MySqlConnection};

use super::{MAX_ERROR_CHARS, QueuedChange};

/// FAILED changes a run watches at most; more wait for the runs after it.
pub const MAX_WATCHED_FAILED: u32 = 100_000;

/// The FAILED inserts and updates (oldest first, at most [`MAX_WATCHED_FAILED`]), with what
/// names their record; their images are not read. A FAILED delete stays FAILED: what db_b
/// would have done beside it (a cascade to its children) no later change of the row does.
pub async fn failed_records(conn: &mut MySqlConnection) -> Result<Vec<QueuedChange>, sqlx::Error> {
    sqlx::query_as::<_, QueuedChange>(
        "SELECT id, table_name, record_id, record_key, CAST(operation AS CHAR) AS operation, \
         NULL AS payload, retry_count, CAST(0 AS SIGNED) AS due, '' AS created_at \
         FROM sync_queue WHERE sync_status = 'FAILED' AND operation <> 'DELETE' \
         ORDER BY id LIMIT ?",
    )
    .bind(MAX_WATCHED_FAILED)
    .fetch_all(conn)
    .await
}

/// Closes FAILED changes `ids` as SYNCED, keeping their error behind a note: a later
/// change of their record is in db_b, so nothing of theirs is left to apply. Returns how
/// many were still FAILED.
pub async fn close_overtaken(conn: &mut MySqlConnection, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let mut closed = 0;
    for part in ids.chunks(1000) {
        let mut query = QueryBuilder::<MySql>::new(
            "UPDATE sync_queue SET sync_status = 'SYNCED', next_attempt_at = NULL, \
             last_error = LEFT(CONCAT('superseded: a later change of the record was applied; \
             this one had failed: ', COALESCE(last_error, '')), ",
        );
        query
            .push_bind(MAX_ERROR_CHARS as u32)
            .push(") WHERE sync_status = 'FAILED' AND id IN (");
        let mut list = query.separated(", ");
        for id in part {
            list.push_bind(*id);
        }
        query.push(")");
        closed += query.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(closed)
}
