//! `sync_load` on db_a: the initial load's progress, one row per table.

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
    pub rows_copied: i64,
    pub rows_removed: i64,
    pub rows_estimate: i64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "table_name, position, rows_copied, rows_removed, rows_estimate, started_at, updated_at, finished_at";

/// Starts a new load of `tables` (forgetting any earlier one).
pub async fn reset(pool: &MySqlPool, tables: &[(String, i64)]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM sync_load")
        .execute(&mut *tx)
        .await?;
    for (table, estimate) in tables {
        sqlx::query("INSERT INTO sync_load (table_name, rows_estimate) VALUES (?, ?)")
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

/// Records a chunk copied: the new position and counts; `finished` closes the table.
pub async fn advance(
    conn: &mut MySqlConnection,
    table: &str,
    position: Option<&str>,
    copied: u64,
    removed: u64,
    finished: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sync_load SET position = COALESCE(?, position), rows_copied = rows_copied + ?, \
           rows_removed = rows_removed + ?, \
           finished_at = IF(?, CURRENT_TIMESTAMP(6), NULL) \
         WHERE table_name = ?",
    )
    .bind(position)
    .bind(copied)
    .bind(removed)
    .bind(finished)
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
    sqlx::query(
        "INSERT INTO sync_load (table_name, rows_estimate) VALUES (?, ?) \
         ON DUPLICATE KEY UPDATE position = NULL, rows_copied = 0, rows_removed = 0, \
           rows_estimate = VALUES(rows_estimate), finished_at = NULL, started_at = CURRENT_TIMESTAMP(6)",
    )
    .bind(table)
    .bind(estimate)
    .execute(conn)
    .await?;
    Ok(())
}
