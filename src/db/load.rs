//! The initial load's progress: `sync_load` on db_a (one row per table), and db_b's
//! `sync_load_marks` (what db_b holds of it, written with each chunk).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::mysql::{MySqlConnection, MySqlPool};

/// One table's load progress.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LoadState {
    pub table_name: String,
    /// JSON array of the last copied key's values; `None` before the first chunk.
    #[serde(skip)]
    pub position: Option<String>,
    /// Rows read so far: the load's progress.
    pub rows_checked: i64,
    /// Rows written into db_b (those it lacked or held otherwise).
    pub rows_copied: i64,
    pub rows_removed: i64,
    pub rows_estimate: i64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Names this copy of the table; `None` for a load made by an earlier version.
    #[serde(skip)]
    pub token: Option<String>,
    /// Chunks copied into db_b.
    #[serde(skip)]
    pub chunks: i64,
}

const COLUMNS: &str = "table_name, position, rows_checked, rows_copied, rows_removed, rows_estimate, started_at, updated_at, finished_at, token, chunks";

/// A fresh token for a copy of a table.
const NEW_TOKEN: &str = "REPLACE(UUID(), '-', '')";

/// Starts a new load of `tables` (forgetting any earlier one).
pub async fn reset(pool: &MySqlPool, tables: &[(String, i64)]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM sync_load")
        .execute(&mut *tx)
        .await?;
    for (table, estimate) in tables {
        let sql = format!(
            "INSERT INTO sync_load (table_name, rows_estimate, token) VALUES (?, ?, {NEW_TOKEN})"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(table)
            .bind(estimate)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

pub async fn states(conn: &mut MySqlConnection) -> Result<Vec<LoadState>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM sync_load ORDER BY started_at, table_name");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await
}

pub async fn states_in(pool: &MySqlPool) -> Result<Vec<LoadState>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    states(&mut conn).await
}

/// What a load, or one chunk of it, did: rows read from db_a, rows written to db_b (new or
/// different), rows removed from db_b (it had them, db_a did not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LoadSummary {
    pub checked: u64,
    pub copied: u64,
    pub removed: u64,
    /// Rows db_b refused (each logged with its key and db_b's reason); the rest went on.
    pub refused: u64,
}

impl LoadSummary {
    pub fn add(&mut self, other: &LoadSummary) {
        self.checked += other.checked;
        self.copied += other.copied;
        self.removed += other.removed;
        self.refused += other.refused;
    }
}

/// Records a chunk copied: the new position and its counts (refusals are logged, not
/// kept); `finished` closes the table.
pub async fn advance(
    conn: &mut MySqlConnection,
    table: &str,
    position: Option<&str>,
    counts: &LoadSummary,
    finished: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sync_load SET position = COALESCE(?, position), \
           rows_checked = rows_checked + ?, rows_copied = rows_copied + ?, \
           rows_removed = rows_removed + ?, chunks = chunks + 1, \
           finished_at = IF(?, CURRENT_TIMESTAMP(6), NULL) \
         WHERE table_name = ?",
    )
    .bind(position)
    .bind(counts.checked)
    .bind(counts.copied)
    .bind(counts.removed)
    .bind(finished)
    .bind(table)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets `table`'s load (a table no longer synced).
pub async fn forget_table(conn: &mut MySqlConnection, table: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sync_load WHERE table_name = ?")
        .bind(table)
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues `table` to be copied (again) from the start, leaving other tables' progress.
pub async fn restart_table(
    conn: &mut MySqlConnection,
    table: &str,
    estimate: i64,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO sync_load (table_name, rows_estimate, token) VALUES (?, ?, {NEW_TOKEN}) \
         ON DUPLICATE KEY UPDATE position = NULL, rows_checked = 0, rows_copied = 0, rows_removed = 0, \
           rows_estimate = VALUES(rows_estimate), finished_at = NULL, \
           started_at = CURRENT_TIMESTAMP(6), token = VALUES(token), chunks = 0"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(table)
        .bind(estimate)
        .execute(conn)
        .await?;
    Ok(())
}

/// What db_b holds of one table's load for a site: the token and the chunks committed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CentralMark {
    pub table_name: String,
    pub token: String,
    pub chunks: i64,
}

/// db_b: every load mark of `site`.
pub async fn central_marks(
    conn: &mut MySqlConnection,
    site: &str,
) -> Result<Vec<CentralMark>, sqlx::Error> {
    sqlx::query_as("SELECT table_name, token, chunks FROM sync_load_marks WHERE site_id = ?")
        .bind(site)
        .fetch_all(conn)
        .await
}

/// db_b, in a chunk's transaction: the load of `table` (named by `token`) now has `chunks`
/// chunks in db_b.
pub async fn record_central_mark(
    conn: &mut MySqlConnection,
    site: &str,
    table: &str,
    token: &str,
    chunks: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sync_load_marks (site_id, table_name, token, chunks) VALUES (?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE token = VALUES(token), chunks = VALUES(chunks)",
    )
    .bind(site)
    .bind(table)
    .bind(token)
    .bind(chunks)
    .execute(conn)
    .await?;
    Ok(())
}
