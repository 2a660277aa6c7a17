//! SQL on db_a: users, orders, the sync queue and the run log.
//!
//! Writes to users and orders are plain statements; the triggers queue them.
//! Nothing here writes a queue row for a data change.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::mysql::{MySql, MySqlConnection, MySqlPool};
use sqlx::{QueryBuilder, Row};

use crate::db::central::Table;
use crate::models::{Order, QueueEntry, SyncRun, SyncStatus, User};

// ---------------------------------------------------------------- users

pub async fn insert_user(pool: &MySqlPool, name: &str, email: &str) -> Result<User, sqlx::Error> {
    let id = sqlx::query("INSERT INTO users (name, email) VALUES (?, ?)")
        .bind(name)
        .bind(email)
        .execute(pool)
        .await?
        .last_insert_id();
    fetch_user(pool, id as i64)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

pub async fn fetch_user(pool: &MySqlPool, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, email, updated_at FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Users with `id > after_id`, in id order (keyset pagination).
pub async fn list_users(
    pool: &MySqlPool,
    after_id: i64,
    limit: u32,
) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, email, updated_at FROM users WHERE id > ? ORDER BY id LIMIT ?")
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// Sets the given fields; `None` keeps the stored value. Returns whether the user exists.
pub async fn update_user(
    pool: &MySqlPool,
    id: i64,
    name: Option<&str>,
    email: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let matched = sqlx::query(
        "UPDATE users SET name = COALESCE(?, name), email = COALESCE(?, email) WHERE id = ?",
    )
    .bind(name)
    .bind(email)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    // rows_affected counts changed rows only, so an unchanged user still has to be found.
    Ok(matched > 0 || fetch_user(pool, id).await?.is_some())
}

pub async fn delete_user(pool: &MySqlPool, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

// ---------------------------------------------------------------- orders

pub async fn insert_order(
    pool: &MySqlPool,
    user_id: i64,
    amount: Decimal,
    status: &str,
) -> Result<Order, sqlx::Error> {
    let id = sqlx::query("INSERT INTO orders (user_id, amount, status) VALUES (?, ?, ?)")
        .bind(user_id)
        .bind(amount)
        .bind(status)
        .execute(pool)
        .await?
        .last_insert_id();
    fetch_order(pool, id as i64)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

pub async fn fetch_order(pool: &MySqlPool, id: i64) -> Result<Option<Order>, sqlx::Error> {
    sqlx::query_as("SELECT id, user_id, amount, status, updated_at FROM orders WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Orders with `id > after_id`, in id order, optionally of one user and/or one status.
pub async fn list_orders(
    pool: &MySqlPool,
    user_id: Option<i64>,
    status: Option<&str>,
    after_id: i64,
    limit: u32,
) -> Result<Vec<Order>, sqlx::Error> {
    let mut query = QueryBuilder::<MySql>::new(
        "SELECT id, user_id, amount, status, updated_at FROM orders WHERE id > ",
    );
    query.push_bind(after_id);
    if let Some(user_id) = user_id {
        query.push(" AND user_id = ").push_bind(user_id);
    }
    if let Some(status) = status {
        query.push(" AND status = ").push_bind(status);
    }
    query.push(" ORDER BY id LIMIT ").push_bind(limit);
    query.build_query_as().fetch_all(pool).await
}

/// Sets the given fields; `None` keeps the stored value. Returns whether the order exists.
pub async fn update_order(
    pool: &MySqlPool,
    id: i64,
    user_id: Option<i64>,
    amount: Option<Decimal>,
    status: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let matched = sqlx::query(
        "UPDATE orders SET user_id = COALESCE(?, user_id), amount = COALESCE(?, amount), \
         status = COALESCE(?, status) WHERE id = ?",
    )
    .bind(user_id)
    .bind(amount)
    .bind(status)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(matched > 0 || fetch_order(pool, id).await?.is_some())
}

pub async fn delete_order(pool: &MySqlPool, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM orders WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

// ---------------------------------------------------------------- sync queue

/// A queue row as the engine reads it. The payload is read as text (MySQL's JSON type does
/// not decode as a string) and parsed by the engine.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueuedChange {
    pub id: i64,
    pub table_name: String,
    pub record_id: i64,
    pub operation: String,
    pub payload: Option<String>,
    pub retry_count: i32,
    /// 1 when the change may be tried now, 0 while it backs off after a failure.
    pub due: i64,
}

impl QueuedChange {
    pub fn is_due(&self) -> bool {
        self.due != 0
    }
}

/// PENDING changes with `id > after_id`, in id order, whether due or backing off: reading
/// the backing-off ones in order is how the engine knows which records must wait, with no
/// scan of the whole queue.
pub async fn pending_changes(
    conn: &mut MySqlConnection,
    after_id: i64,
    limit: u32,
) -> Result<Vec<QueuedChange>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, table_name, record_id, operation, CAST(payload AS CHAR) AS payload, retry_count, \
           CAST(next_attempt_at IS NULL OR next_attempt_at <= CURRENT_TIMESTAMP(6) AS SIGNED) AS due \
         FROM sync_queue \
         WHERE sync_status = 'PENDING' AND id > ? \
         ORDER BY id LIMIT ?",
    )
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// PENDING → SYNCED for `ids`, in one statement.
pub async fn mark_synced(conn: &mut MySqlConnection, ids: &[i64]) -> Result<u64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut query = QueryBuilder::<MySql>::new(
        "UPDATE sync_queue SET sync_status = 'SYNCED', next_attempt_at = NULL \
         WHERE sync_status = 'PENDING' AND id IN (",
    );
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    query.push(")");
    Ok(query.build().execute(conn).await?.rows_affected())
}

/// Records a failed attempt: the new retry count, the error, and either the next attempt
/// time (`retry_in = Some`) or FAILED (`retry_in = None`).
pub async fn record_failed_attempt(
    conn: &mut MySqlConnection,
    id: i64,
    retry_count: i32,
    error: &str,
    retry_in: Option<std::time::Duration>,
) -> Result<(), sqlx::Error> {
    let (status, delay_micros) = match retry_in {
        Some(delay) => (SyncStatus::Pending, Some(delay.as_micros() as i64)),
        None => (SyncStatus::Failed, None),
    };
    sqlx::query(
        "UPDATE sync_queue SET retry_count = ?, last_error = ?, sync_status = ?, \
         next_attempt_at = TIMESTAMPADD(MICROSECOND, ?, CURRENT_TIMESTAMP(6)) \
         WHERE id = ? AND sync_status = 'PENDING'",
    )
    .bind(retry_count)
    .bind(error)
    .bind(status.as_str())
    .bind(delay_micros)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts of queue rows by status, in [`SyncStatus::ALL`] order.
pub async fn queue_counts(pool: &MySqlPool) -> Result<[i64; 3], sqlx::Error> {
    let rows =
        sqlx::query("SELECT sync_status, COUNT(*) AS n FROM sync_queue GROUP BY sync_status")
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

/// PENDING changes: a range of the status index, cheap however much SYNCED history there is.
pub async fn pending_count(conn: &mut MySqlConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING'")
        .fetch_one(conn)
        .await
}

/// When the oldest PENDING change was queued (or last retried).
pub async fn oldest_pending_at(pool: &MySqlPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT last_updated_at FROM sync_queue WHERE sync_status = 'PENDING' ORDER BY id LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

pub async fn queue_entries(
    pool: &MySqlPool,
    status: Option<SyncStatus>,
    after_id: i64,
    limit: u32,
) -> Result<Vec<QueueEntry>, sqlx::Error> {
    let mut query = QueryBuilder::<MySql>::new(
        "SELECT id, table_name, record_id, CAST(operation AS CHAR) AS operation, \
         CAST(sync_status AS CHAR) AS sync_status, retry_count, last_error, last_updated_at, \
         next_attempt_at FROM sync_queue WHERE id > ",
    );
    query.push_bind(after_id);
    if let Some(status) = status {
        query.push(" AND sync_status = ").push_bind(status.as_str());
    }
    query.push(" ORDER BY id LIMIT ").push_bind(limit);
    query.build_query_as().fetch_all(pool).await
}

/// FAILED → PENDING with a fresh retry budget; `id = None` requeues every FAILED change.
/// Returns the requeued entries (with the error they failed with).
pub async fn requeue_failed(
    pool: &MySqlPool,
    id: Option<i64>,
) -> Result<Vec<QueueEntry>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut select = QueryBuilder::<MySql>::new(
        "SELECT id, table_name, record_id, CAST(operation AS CHAR) AS operation, \
         CAST(sync_status AS CHAR) AS sync_status, retry_count, last_error, last_updated_at, \
         next_attempt_at FROM sync_queue WHERE sync_status = 'FAILED'",
    );
    if let Some(id) = id {
        select.push(" AND id = ").push_bind(id);
    }
    select.push(" ORDER BY id FOR UPDATE");
    let entries: Vec<QueueEntry> = select.build_query_as().fetch_all(&mut *tx).await?;
    let mut update = QueryBuilder::<MySql>::new(
        "UPDATE sync_queue SET sync_status = 'PENDING', retry_count = 0, next_attempt_at = NULL \
         WHERE sync_status = 'FAILED'",
    );
    if let Some(id) = id {
        update.push(" AND id = ").push_bind(id);
    }
    update.build().execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(entries)
}

/// Deletes SYNCED rows last touched before `cutoff`, `chunk` rows per statement so no
/// statement holds locks for long. Returns how many it deleted.
pub async fn purge_synced(
    pool: &MySqlPool,
    cutoff: DateTime<Utc>,
    chunk: u32,
) -> Result<u64, sqlx::Error> {
    let mut purged = 0;
    loop {
        // The oldest SYNCED row decides whether anything is old enough, without scanning them all.
        let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT last_updated_at FROM sync_queue WHERE sync_status = 'SYNCED' ORDER BY id LIMIT 1",
        )
        .fetch_optional(pool)
        .await?;
        if oldest.is_none_or(|at| at >= cutoff) {
            return Ok(purged);
        }
        let deleted = sqlx::query(
            "DELETE FROM sync_queue WHERE sync_status = 'SYNCED' AND last_updated_at < ? \
             ORDER BY id LIMIT ?",
        )
        .bind(cutoff)
        .bind(chunk)
        .execute(pool)
        .await?
        .rows_affected();
        purged += deleted;
        if deleted < u64::from(chunk) {
            return Ok(purged);
        }
    }
}

/// Queues a DELETE of each of `ids` in `table` (no row image: a delete needs only the id).
pub async fn queue_deletes(
    pool: &MySqlPool,
    table: Table,
    ids: &[i64],
) -> Result<u64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut query = QueryBuilder::<MySql>::new(
        "INSERT INTO sync_queue (table_name, record_id, operation, payload) ",
    );
    query.push_values(ids, |mut row, id| {
        row.push_bind(table.as_str())
            .push_bind(*id)
            .push("'DELETE'")
            .push("NULL");
    });
    Ok(query.build().execute(pool).await?.rows_affected())
}

/// Queues an INSERT of every current user and order (users first, for the foreign key), so
/// a new or drifted db_b can be rebuilt. One INSERT … SELECT per table, in one transaction.
pub async fn queue_snapshot(pool: &MySqlPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let users = sqlx::query(
        "INSERT INTO sync_queue (table_name, record_id, operation, payload) \
         SELECT 'users', id, 'INSERT', JSON_OBJECT('id', id, 'name', name, 'email', email, \
           'updated_at', updated_at) \
         FROM users ORDER BY id LOCK IN SHARE MODE",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let orders = sqlx::query(
        "INSERT INTO sync_queue (table_name, record_id, operation, payload) \
         SELECT 'orders', id, 'INSERT', JSON_OBJECT('id', id, 'user_id', user_id, \
           'amount', CAST(amount AS CHAR), 'status', status, \
           'updated_at', updated_at) \
         FROM orders ORDER BY id LOCK IN SHARE MODE",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(users + orders)
}

// ---------------------------------------------------------------- run lock and run log

/// Takes the cross-process run lock on this connection without waiting.
/// The lock lives as long as the connection's session, or until [`release_run_lock`].
pub async fn try_run_lock(conn: &mut MySqlConnection, name: &str) -> Result<bool, sqlx::Error> {
    let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
        .bind(name)
        .fetch_one(conn)
        .await?;
    Ok(got == Some(1))
}

pub async fn release_run_lock(conn: &mut MySqlConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn start_run(pool: &MySqlPool) -> Result<i64, sqlx::Error> {
    Ok(
        sqlx::query("INSERT INTO sync_runs (outcome) VALUES ('running')")
            .execute(pool)
            .await?
            .last_insert_id() as i64,
    )
}

pub async fn finish_run(
    pool: &MySqlPool,
    run_id: i64,
    outcome: &str,
    applied: u64,
    failed: u64,
    message: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sync_runs SET finished_at = CURRENT_TIMESTAMP(6), outcome = ?, applied = ?, \
         failed = ?, message = ? WHERE id = ?",
    )
    .bind(outcome)
    .bind(applied)
    .bind(failed)
    .bind(message)
    .bind(run_id)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn last_run(pool: &MySqlPool) -> Result<Option<SyncRun>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, started_at, finished_at, outcome, applied, failed, message \
         FROM sync_runs ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}
