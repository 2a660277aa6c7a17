//! The run lock and the run log (`sync_runs`) on db_a.

use chrono::{DateTime, Utc};
use sqlx::mysql::{MySqlConnection, MySqlPool};

use crate::domain::{Outcome, SyncRun};

/// `GET_LOCK` names are at most 64 characters: the lock is named after a hash of db_a's
/// name, so two databases sharing a long prefix never block each other.
const LOCK_NAME: &str = "CONCAT('dbsync.run.', SHA2(DATABASE(), 224))";

/// Takes the cross-process run lock of this connection's database, waiting at most two
/// seconds (a run whose process was just killed needs a moment for the server to notice
/// its connection is gone). The lock lives as long as the connection's session: hold it on
/// a connection of its own that is closed (not returned to a pool) when the run ends,
/// however it ends.
pub async fn try_lock(conn: &mut MySqlConnection) -> Result<bool, sqlx::Error> {
    let sql = format!("SELECT GET_LOCK({LOCK_NAME}, 2)");
    let got: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(conn)
        .await?;
    Ok(got == Some(1))
}

/// Releases the run lock now (closing the connection would too, but the server may not
/// have noticed by the time the next run asks for it).
pub async fn unlock(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    let sql = format!("SELECT RELEASE_LOCK({LOCK_NAME})");
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(conn).await?;
    Ok(())
}

/// Whether some session holds the run lock now: a run of this process or of another one
/// (`dbsync sync` beside `serve`).
pub async fn lock_taken(pool: &MySqlPool) -> Result<bool, sqlx::Error> {
    let sql = format!("SELECT IS_FREE_LOCK({LOCK_NAME}) = 0");
    let taken: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await?;
    Ok(taken == Some(1))
}

/// The lock's name, for tests and for operators looking at `performance_schema`.
pub async fn lock_name(conn: &mut MySqlConnection) -> Result<String, sqlx::Error> {
    let sql = format!("SELECT {LOCK_NAME}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(conn)
        .await
}

pub async fn start_run(pool: &MySqlPool) -> Result<i64, sqlx::Error> {
    let id = sqlx::query("INSERT INTO sync_runs (outcome) VALUES (?)")
        .bind(Outcome::Running.as_str())
        .execute(pool)
        .await?
        .last_insert_id();
    Ok(i64::try_from(id).unwrap_or(i64::MAX))
}

/// What a run left `running` (its process died, or db_a failed it at the end) says of itself.
const ABANDONED: &str =
    "the run ended without recording how (its process stopped, or db_a failed it at the end)";

/// Runs still `running` while this process holds the run lock belong to processes that
/// died mid-run: they are closed as `interrupted`.
pub async fn close_abandoned_runs(pool: &MySqlPool, current: i64) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "UPDATE sync_runs SET outcome = ?, finished_at = COALESCE(finished_at, CURRENT_TIMESTAMP(6)), \
         message = '{ABANDONED}' WHERE outcome = ? AND id <> ?"
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(Outcome::Interrupted.as_str())
        .bind(Outcome::Running.as_str())
        .bind(current)
        .execute(pool)
        .await?
        .rows_affected())
}

pub async fn finish_run(
    pool: &MySqlPool,
    run_id: i64,
    outcome: Outcome,
    applied: u64,
    failed: u64,
    message: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sync_runs SET finished_at = CURRENT_TIMESTAMP(6), outcome = ?, applied = ?, \
         failed = ?, message = ? WHERE id = ?",
    )
    .bind(outcome.as_str())
    .bind(applied)
    .bind(failed)
    .bind(message.map(super::queue::bounded_error))
    .bind(run_id)
    .execute(pool)
    .await?;
    Ok(())
}

const RUN_COLUMNS: &str = "id, started_at, finished_at, outcome, applied, failed, message";

/// The newest run. One still `running` while nobody holds the run lock was cut short (its
/// process was killed); it reads as `interrupted` until the next run closes it so.
pub async fn last_run(pool: &MySqlPool) -> Result<Option<SyncRun>, sqlx::Error> {
    let abandoned = format!(
        "outcome = '{running}' AND IS_FREE_LOCK({LOCK_NAME}) = 1",
        running = Outcome::Running.as_str()
    );
    let sql = format!(
        "SELECT id, started_at, finished_at, \
           IF({abandoned}, '{interrupted}', outcome) AS outcome, applied, failed, \
           IF({abandoned}, '{ABANDONED}', message) AS message \
         FROM sync_runs ORDER BY id DESC LIMIT 1",
        interrupted = Outcome::Interrupted.as_str()
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_optional(pool)
        .await
}

/// The newest run that rejected changes (so the status page can show it even after clean
/// runs followed).
pub async fn last_run_with_rejections(pool: &MySqlPool) -> Result<Option<SyncRun>, sqlx::Error> {
    let sql =
        format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE failed > 0 ORDER BY id DESC LIMIT 1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_optional(pool)
        .await
}

/// Deletes runs started before `cutoff`, and all but the newest `keep` runs, so the log
/// stays bounded however often runs are started.
pub async fn purge_runs(
    pool: &MySqlPool,
    cutoff: Option<DateTime<Utc>>,
    keep: u32,
) -> Result<u64, sqlx::Error> {
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM sync_runs")
        .fetch_one(pool)
        .await?;
    let Some(newest) = newest else { return Ok(0) };
    let floor = newest - i64::from(keep);
    let mut deleted = sqlx::query("DELETE FROM sync_runs WHERE id <= ? ORDER BY id LIMIT 10000")
        .bind(floor)
        .execute(pool)
        .await?
        .rows_affected();
    if let Some(cutoff) = cutoff {
        deleted += sqlx::query(
            "DELETE FROM sync_runs WHERE started_at < ? AND id < ? ORDER BY id LIMIT 10000",
        )
        .bind(cutoff)
        .bind(newest)
        .execute(pool)
        .await?
        .rows_affected();
    }
    Ok(deleted)
}
