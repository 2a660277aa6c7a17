//! `sync_sites` on db_b: one row per site, written at the end of each of its runs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::mysql::{MySqlConnection, MySqlPool};

/// What a site tells head office about itself.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SiteRow {
    pub site_id: String,
    pub last_run_id: i64,
    pub last_run_outcome: String,
    pub last_run_at: DateTime<Utc>,
    pub last_run_message: Option<String>,
    pub applied_in_last_run: i64,
    pub last_applied_change_id: Option<i64>,
    pub pending_changes: i64,
    pub failed_changes: i64,
    pub oldest_pending_age_seconds: i64,
    pub dbsync_version: String,
}

pub async fn report(conn: &mut MySqlConnection, row: &SiteRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sync_sites (site_id, last_run_id, last_run_outcome, last_run_at, last_run_message, \
           applied_in_last_run, last_applied_change_id, pending_changes, failed_changes, \
           oldest_pending_age_seconds, dbsync_version) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE last_run_id = VALUES(last_run_id), \
           last_run_outcome = VALUES(last_run_outcome), last_run_at = VALUES(last_run_at), \
           last_run_message = VALUES(last_run_message), applied_in_last_run = VALUES(applied_in_last_run), \
           last_applied_change_id = COALESCE(VALUES(last_applied_change_id), last_applied_change_id), \
           pending_changes = VALUES(pending_changes), failed_changes = VALUES(failed_changes), \
           oldest_pending_age_seconds = VALUES(oldest_pending_age_seconds), \
           dbsync_version = VALUES(dbsync_version)",
    )
    .bind(&row.site_id)
    .bind(row.last_run_id)
    .bind(&row.last_run_outcome)
    .bind(row.last_run_at)
    .bind(row.last_run_message.as_deref().map(super::queue::bounded_error))
    .bind(row.applied_in_last_run)
    .bind(row.last_applied_change_id)
    .bind(row.pending_changes)
    .bind(row.failed_changes)
    .bind(row.oldest_pending_age_seconds)
    .bind(&row.dbsync_version)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn all(pool: &MySqlPool) -> Result<Vec<SiteRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT site_id, last_run_id, last_run_outcome, last_run_at, last_run_message, \
           applied_in_last_run, last_applied_change_id, pending_changes, failed_changes, \
           oldest_pending_age_seconds, dbsync_version FROM sync_sites ORDER BY site_id",
    )
    .fetch_all(pool)
    .await
}
