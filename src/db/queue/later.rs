//! Whether a record has a later change queued, for a change db_b refused.

use sqlx::QueryBuilder;
use sqlx::mysql::{MySql, MySqlConnection};

/// How far past a change [`later_pending_change`] looks, in queue ids: the query walks
/// the PENDING ids in that range, so its cost stays bounded however long the queue is.
const LATER_CHANGE_WINDOW: i64 = 100_000;

/// Whether a PENDING change of the same record (`record_id` for an integer key, else
/// `record_key`) follows change `after` within [`LATER_CHANGE_WINDOW`] ids.
pub async fn later_pending_change(
    conn: &mut MySqlConnection,
    table: &str,
    record: RecordRef<'_>,
    after: i64,
) -> Result<bool, sqlx::Error> {
    let mut query = QueryBuilder::<MySql>::new(
        "SELECT id FROM sync_queue WHERE sync_status = 'PENDING' AND id > ",
    );
    query
        .push_bind(after)
        .push(" AND id <= ")
        .push_bind(after.saturating_add(LATER_CHANGE_WINDOW))
        // Byte for byte: the column compares without case, and `c` and `C` may both be
        // synced tables.
        .push(" AND table_name = CAST(")
        .push_bind(table)
        .push(" AS BINARY)");
    match record {
        RecordRef::Id(id) => query.push(" AND record_id = ").push_bind(id),
        RecordRef::Key(key) => query.push(" AND record_key = ").push_bind(key.as_bytes()),
    };
    query.push(" LIMIT 1");
    Ok(query.build().fetch_optional(conn).await?.is_some())
}

/// How a queue row names its record.
#[derive(Debug, Clone, Copy)]
pub enum RecordRef<'a> {
    Id(i64),
    Key(&'a str),
}
