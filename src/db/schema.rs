//! The SQL files under `sql/`, compiled into the binary, and the statements that apply them.
//! Everything here is idempotent: `dbsync init` may run any number of times.

use sqlx::mysql::MySqlPool;
use sqlx::{AssertSqlSafe, Connection, MySqlConnection};

use crate::config::{DbTarget, is_plain_identifier};

const LOCAL_SCHEMA: &str = include_str!("../../sql/schema/local.sql");
const CENTRAL_SCHEMA: &str = include_str!("../../sql/schema/central.sql");
const SAMPLE_DATA: &str = include_str!("../../sql/seed/sample.sql");

/// The capture triggers on db_a, by name. Each file is one `CREATE TRIGGER` statement.
pub const TRIGGERS: [(&str, &str); 6] = [
    (
        "users_after_insert",
        include_str!("../../sql/triggers/users_after_insert.sql"),
    ),
    (
        "users_after_update",
        include_str!("../../sql/triggers/users_after_update.sql"),
    ),
    (
        "users_after_delete",
        include_str!("../../sql/triggers/users_after_delete.sql"),
    ),
    (
        "orders_after_insert",
        include_str!("../../sql/triggers/orders_after_insert.sql"),
    ),
    (
        "orders_after_update",
        include_str!("../../sql/triggers/orders_after_update.sql"),
    ),
    (
        "orders_after_delete",
        include_str!("../../sql/triggers/orders_after_delete.sql"),
    ),
];

/// `CREATE DATABASE IF NOT EXISTS` on the server of `target`.
pub async fn create_database(
    conn: &mut MySqlConnection,
    target: &DbTarget,
) -> Result<(), sqlx::Error> {
    // Config only accepts plain identifiers; checked again because this text becomes SQL.
    if !is_plain_identifier(&target.database) {
        return Err(sqlx::Error::InvalidArgument(format!(
            "database name {:?} is not a plain identifier",
            target.database
        )));
    }
    let sql = format!(
        "CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        target.database
    );
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drops a database; only the test harness and the benchmark use it.
pub async fn drop_database(conn: &mut MySqlConnection, name: &str) -> Result<(), sqlx::Error> {
    if !is_plain_identifier(name) {
        return Err(sqlx::Error::InvalidArgument(format!(
            "database name {name:?} is not a plain identifier"
        )));
    }
    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`")))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Tables of db_a and the missing capture triggers. Returns how many triggers it created.
///
/// Existing triggers are left alone rather than dropped and recreated: between a DROP and
/// a CREATE, writes by other clients would go uncaptured.
pub async fn apply_local_schema(pool: &MySqlPool) -> Result<usize, sqlx::Error> {
    sqlx::raw_sql(LOCAL_SCHEMA).execute(pool).await?;
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
    )
    .fetch_all(pool)
    .await?;
    let mut created = 0;
    for (name, sql) in TRIGGERS {
        if !existing.iter().any(|e| e == name) {
            sqlx::raw_sql(sql).execute(pool).await?;
            created += 1;
        }
    }
    Ok(created)
}

/// Tables of db_b.
pub async fn apply_central_schema(pool: &MySqlPool) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(CENTRAL_SCHEMA).execute(pool).await?;
    Ok(())
}

/// Loads the sample data into db_a when it has no users yet. Returns whether it loaded.
pub async fn load_sample_data(pool: &MySqlPool) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    // The lock makes two concurrent `init --seed` load the data once.
    let has_users: Option<i64> = sqlx::query_scalar("SELECT id FROM users LIMIT 1 FOR UPDATE")
        .fetch_optional(&mut *tx)
        .await?;
    if has_users.is_some() {
        return Ok(false);
    }
    sqlx::raw_sql(SAMPLE_DATA).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}
