//! A table's queued changes closed all at once: parked when the table is no longer synced,
//! superseded when a copy of the table replaces them. Table names compare byte for byte:
//! the queue's column compares without case, and `c` and `C` may both be synced tables.

use sqlx::mysql::MySqlConnection;

use super::bounded_error;

/// Parks every PENDING change of `table` as FAILED with `reason`: the table is no longer
/// synced. Returns how many.
pub async fn park_table(
    conn: &mut MySqlConnection,
    table: &str,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    const PARK: &str = "UPDATE sync_queue SET sync_status = 'FAILED', last_error = ?, \
        next_attempt_at = NULL WHERE sync_status = 'PENDING' AND table_name = CAST(? AS BINARY)";
    close(conn, PARK, table, reason).await
}

/// Marks `table`'s PENDING and FAILED changes SYNCED unapplied, with `note` as their last
/// word: a copy of the table replaces them. Returns how many.
pub async fn supersede_table(
    conn: &mut MySqlConnection,
    table: &str,
    note: &str,
) -> Result<u64, sqlx::Error> {
    const SUPERSEDE: &str = "UPDATE sync_queue SET sync_status = 'SYNCED', last_error = ?, \
        next_attempt_at = NULL WHERE sync_status IN ('PENDING', 'FAILED') \
        AND table_name = CAST(? AS BINARY)";
    close(conn, SUPERSEDE, table, note).await
}

/// Runs `sql` (one of the above) for `table` with `note`; how many changes it closed.
async fn close(
    conn: &mut MySqlConnection,
    sql: &'static str,
    table: &str,
    note: &str,
) -> Result<u64, sqlx::Error> {
    let closed = sqlx::query(sql)
        .bind(bounded_error(note))
        .bind(table)
        .execute(conn)
        .await?;
    Ok(closed.rows_affected())
}
