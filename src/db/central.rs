//! SQL on db_b: the multi-row apply statements, the per-record ledger, and reads for `verify`.
//!
//! Table names are never taken from data: each statement names its table literally.

use std::collections::HashMap;

use sqlx::QueryBuilder;
use sqlx::mysql::{MySql, MySqlConnection};

use crate::models::{Order, User};

/// The two replicated tables. Only these map to SQL; a queue row naming anything else is
/// rejected before any statement is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Users,
    Orders,
}

impl Table {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "users" => Some(Table::Users),
            "orders" => Some(Table::Orders),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Orders => "orders",
        }
    }
}

// In the upserts below, `id = IF(id = VALUES(id), id, NULL)` comes first: when the new row
// collides with a *different* row on a unique key (another user's email), ON DUPLICATE KEY
// would otherwise update that other row. Setting its id to NULL makes the statement fail
// instead (strict mode), so the change is reported as a clash. VALUES() is deprecated in
// MySQL 8.0.20+ but works there and on MariaDB, which lacks the `AS new` alias.

/// Inserts or overwrites users with exactly these images, in order.
pub async fn upsert_users(conn: &mut MySqlConnection, users: &[&User]) -> Result<(), sqlx::Error> {
    let mut query = QueryBuilder::<MySql>::new("INSERT INTO users (id, name, email, updated_at) ");
    query.push_values(users, |mut row, user| {
        row.push_bind(user.id)
            .push_bind(&user.name)
            .push_bind(&user.email)
            .push_bind(user.updated_at);
    });
    query.push(
        " ON DUPLICATE KEY UPDATE id = IF(id = VALUES(id), id, NULL), name = VALUES(name), \
         email = VALUES(email), updated_at = VALUES(updated_at)",
    );
    query.build().execute(conn).await?;
    Ok(())
}

/// Inserts or overwrites orders with exactly these images, in order.
pub async fn upsert_orders(
    conn: &mut MySqlConnection,
    orders: &[&Order],
) -> Result<(), sqlx::Error> {
    let mut query =
        QueryBuilder::<MySql>::new("INSERT INTO orders (id, user_id, amount, status, updated_at) ");
    query.push_values(orders, |mut row, order| {
        row.push_bind(order.id)
            .push_bind(order.user_id)
            .push_bind(order.amount)
            .push_bind(&order.status)
            .push_bind(order.updated_at);
    });
    query.push(
        " ON DUPLICATE KEY UPDATE id = IF(id = VALUES(id), id, NULL), user_id = VALUES(user_id), \
         amount = VALUES(amount), status = VALUES(status), updated_at = VALUES(updated_at)",
    );
    query.build().execute(conn).await?;
    Ok(())
}

/// Deletes by id; ids already missing are fine (a replayed delete).
pub async fn delete_rows(
    conn: &mut MySqlConnection,
    table: Table,
    ids: &[i64],
) -> Result<(), sqlx::Error> {
    let mut query = QueryBuilder::<MySql>::new(match table {
        Table::Users => "DELETE FROM users WHERE id IN (",
        Table::Orders => "DELETE FROM orders WHERE id IN (",
    });
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    query.push(")");
    query.build().execute(conn).await?;
    Ok(())
}

/// Ids of `table` above `after_id`, in order, on either database (the replicated tables
/// have the same name and key on both).
pub async fn record_ids(
    pool: &sqlx::mysql::MySqlPool,
    table: Table,
    after_id: i64,
    limit: u32,
) -> Result<Vec<i64>, sqlx::Error> {
    let sql = match table {
        Table::Users => "SELECT id FROM users WHERE id > ? ORDER BY id LIMIT ?",
        Table::Orders => "SELECT id FROM orders WHERE id > ? ORDER BY id LIMIT ?",
    };
    sqlx::query_scalar(sql)
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// The newest applied change id of each of `record_ids`, locked for this transaction.
pub async fn ledger_entries(
    conn: &mut MySqlConnection,
    table: Table,
    record_ids: &[i64],
) -> Result<HashMap<i64, i64>, sqlx::Error> {
    if record_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut query = QueryBuilder::<MySql>::new(
        "SELECT record_id, last_change_id FROM sync_ledger WHERE table_name = ",
    );
    query.push_bind(table.as_str()).push(" AND record_id IN (");
    let mut list = query.separated(", ");
    for id in record_ids {
        list.push_bind(*id);
    }
    query.push(") FOR UPDATE");
    let rows: Vec<(i64, i64)> = query.build_query_as().fetch_all(conn).await?;
    Ok(rows.into_iter().collect())
}

/// Records `(table, record_id, change_id)` as applied; a ledger entry never moves back.
pub async fn advance_ledger(
    conn: &mut MySqlConnection,
    entries: &[(Table, i64, i64)],
) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<MySql>::new(
        "INSERT INTO sync_ledger (table_name, record_id, last_change_id) ",
    );
    query.push_values(entries, |mut row, (table, record_id, change_id)| {
        row.push_bind(table.as_str())
            .push_bind(*record_id)
            .push_bind(*change_id);
    });
    query.push(
        " ON DUPLICATE KEY UPDATE last_change_id = GREATEST(last_change_id, VALUES(last_change_id))",
    );
    query.build().execute(conn).await?;
    Ok(())
}

/// The highest change id applied so far, locked for this transaction.
pub async fn lock_watermark(conn: &mut MySqlConnection) -> Result<i64, sqlx::Error> {
    let mark: Option<i64> =
        sqlx::query_scalar("SELECT last_change_id FROM sync_watermark WHERE id = 1 FOR UPDATE")
            .fetch_optional(conn)
            .await?;
    Ok(mark.unwrap_or(0))
}

pub async fn raise_watermark(
    conn: &mut MySqlConnection,
    change_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sync_watermark (id, last_change_id) VALUES (1, ?) \
         ON DUPLICATE KEY UPDATE last_change_id = GREATEST(last_change_id, VALUES(last_change_id))",
    )
    .bind(change_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Checks that db_b answers a query.
pub async fn ping(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(conn).await?;
    Ok(())
}
