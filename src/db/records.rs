//! Users and orders on db_a, for the REST API. Writes are plain statements: the triggers
//! queue them. `updated_at` is read as text so zero and partial dates written by legacy
//! tools show as they are.

use rust_decimal::Decimal;
use sqlx::mysql::{MySql, MySqlConnection};
use sqlx::{Connection, QueryBuilder};

use crate::domain::{Order, OrderStatus, User};

const USER_COLUMNS: &str = "id, name, email, CAST(updated_at AS CHAR) AS updated_at";
const ORDER_COLUMNS: &str =
    "id, user_id, amount, CAST(status AS CHAR) AS status, CAST(updated_at AS CHAR) AS updated_at";

// ---------------------------------------------------------------- users

/// Inserts and returns the stored row in one statement, so a concurrent delete cannot come
/// between the insert and the answer.
///
/// MariaDB-only syntax (`INSERT … RETURNING`); on MySQL 8 this would set `updated_at`
/// explicitly and build the answer from the inputs.
pub async fn insert_user(
    conn: &mut MySqlConnection,
    name: &str,
    email: &str,
) -> Result<User, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO users (name, email) VALUES (?, ?) \
         RETURNING id, name, email, CAST(updated_at AS CHAR) AS updated_at",
    )
    .bind(name)
    .bind(email)
    .fetch_one(&mut *conn)
    .await
}

pub async fn fetch_user(conn: &mut MySqlConnection, id: i64) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// Users with `id > after_id` (all when `None`: ids may be zero or negative), in id order.
pub async fn list_users(
    conn: &mut MySqlConnection,
    after_id: Option<i64>,
    limit: u32,
) -> Result<Vec<User>, sqlx::Error> {
    let mut query = QueryBuilder::<MySql>::new(format!("SELECT {USER_COLUMNS} FROM users"));
    if let Some(after) = after_id {
        query.push(" WHERE id > ").push_bind(after);
    }
    query.push(" ORDER BY id LIMIT ").push_bind(limit);
    query.build_query_as().fetch_all(&mut *conn).await
}

/// Sets the given fields (`None` keeps the stored value) and returns the row as stored, in
/// one transaction: the row stays locked between the change and the read. Only the given
/// columns are assigned. `None` when there is no such user.
pub async fn update_user(
    conn: &mut MySqlConnection,
    id: i64,
    name: Option<&str>,
    email: Option<&str>,
) -> Result<Option<User>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let mut query = QueryBuilder::<MySql>::new("UPDATE users SET ");
    let mut set = query.separated(", ");
    if let Some(name) = name {
        set.push("name = ").push_bind_unseparated(name);
    }
    if let Some(email) = email {
        set.push("email = ").push_bind_unseparated(email);
    }
    if name.is_some() || email.is_some() {
        query.push(" WHERE id = ").push_bind(id);
        query.build().execute(&mut *tx).await?;
    }
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
    let user = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn delete_user(conn: &mut MySqlConnection, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

// ---------------------------------------------------------------- orders

/// Like [`insert_user`]: one statement, MariaDB's `RETURNING`.
pub async fn insert_order(
    conn: &mut MySqlConnection,
    user_id: i64,
    amount: Decimal,
    status: OrderStatus,
) -> Result<Order, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO orders (user_id, amount, status) VALUES (?, ?, ?) \
         RETURNING id, user_id, amount, CAST(status AS CHAR) AS status, \
           CAST(updated_at AS CHAR) AS updated_at",
    )
    .bind(user_id)
    .bind(amount)
    .bind(status.as_str())
    .fetch_one(&mut *conn)
    .await
}

pub async fn fetch_order(
    conn: &mut MySqlConnection,
    id: i64,
) -> Result<Option<Order>, sqlx::Error> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// Orders with `id > after_id` (all when `None`), in id order, optionally of one user
/// and/or one status.
pub async fn list_orders(
    conn: &mut MySqlConnection,
    user_id: Option<i64>,
    status: Option<OrderStatus>,
    after_id: Option<i64>,
    limit: u32,
) -> Result<Vec<Order>, sqlx::Error> {
    let mut query =
        QueryBuilder::<MySql>::new(format!("SELECT {ORDER_COLUMNS} FROM orders WHERE TRUE"));
    if let Some(after) = after_id {
        query.push(" AND id > ").push_bind(after);
    }
    if let Some(user_id) = user_id {
        query.push(" AND user_id = ").push_bind(user_id);
    }
    if let Some(status) = status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    query.push(" ORDER BY id LIMIT ").push_bind(limit);
    query.build_query_as().fetch_all(&mut *conn).await
}

/// Like [`update_user`]: the change and the read in one transaction.
pub async fn update_order(
    conn: &mut MySqlConnection,
    id: i64,
    user_id: Option<i64>,
    amount: Option<Decimal>,
    status: Option<OrderStatus>,
) -> Result<Option<Order>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // Only the columns the request gives are assigned: rewriting one it leaves alone could
    // fail on a value a legacy writer stored in a lenient session (an ENUM's '').
    let mut query = QueryBuilder::<MySql>::new("UPDATE orders SET ");
    let mut set = query.separated(", ");
    if let Some(user_id) = user_id {
        set.push("user_id = ").push_bind_unseparated(user_id);
    }
    if let Some(amount) = amount {
        set.push("amount = ").push_bind_unseparated(amount);
    }
    if let Some(status) = status {
        set.push("status = ").push_bind_unseparated(status.as_str());
    }
    if user_id.is_some() || amount.is_some() || status.is_some() {
        query.push(" WHERE id = ").push_bind(id);
        query.build().execute(&mut *tx).await?;
    }
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?");
    let order = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(order)
}

pub async fn delete_order(conn: &mut MySqlConnection, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM orders WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}
