//! Creating what dbsync needs on both databases: the SQL files under `sql/` (compiled into
//! the binary), the capture triggers ([`triggers`]), db_b's copies of the synced tables
//! ([`central`]) and the upgrades of older layouts. Everything here is idempotent.

pub mod central;
pub mod drift;
mod trigger_conditions;
pub mod triggers;
pub mod types;

use sqlx::mysql::{MySqlConnection, MySqlPool};
use sqlx::{AssertSqlSafe, Connection};

use crate::config::is_plain_identifier;
use crate::db::quote_ident;
use crate::domain::table::TableSpec;

const LOCAL_SCHEMA: &str = include_str!("../../../sql/schema/local.sql");
const SAMPLE_TABLES: &str = include_str!("../../../sql/schema/sample_tables.sql");
const CENTRAL_SCHEMA: &str = include_str!("../../../sql/schema/central.sql");
const SAMPLE_DATA: &str = include_str!("../../../sql/seed/sample.sql");

/// `CREATE DATABASE IF NOT EXISTS name` on the connection's server. Whether it was made
/// now (it did not exist).
pub async fn create_database(conn: &mut MySqlConnection, name: &str) -> Result<bool, sqlx::Error> {
    // Config only accepts plain identifiers; checked again because this text becomes SQL.
    if !is_plain_identifier(name) {
        return Err(sqlx::Error::InvalidArgument(format!(
            "database name {name:?} is not a plain identifier"
        )));
    }
    let existed: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
    let sql = format!(
        "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        quote_ident(name)
    );
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(conn).await?;
    Ok(existed.is_none())
}

/// Drops the database `name` if it holds no table: what a refused `init` made of it.
pub async fn drop_empty_database(
    conn: &mut MySqlConnection,
    name: &str,
) -> Result<(), sqlx::Error> {
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    if tables == 0 && is_plain_identifier(name) {
        let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(name));
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(conn).await?;
    }
    Ok(())
}

/// Drops a database; only the test harness and the benchmark use it.
pub async fn drop_database(conn: &mut MySqlConnection, name: &str) -> Result<(), sqlx::Error> {
    if !is_plain_identifier(name) {
        return Err(sqlx::Error::InvalidArgument(format!(
            "database name {name:?} is not a plain identifier"
        )));
    }
    let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(name));
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(conn).await?;
    Ok(())
}

/// db_a's own tables (and the sample tables, when missing), after upgrading an older queue.
pub async fn apply_local_schema(pool: &MySqlPool) -> Result<(), sqlx::Error> {
    upgrade_local(pool).await?;
    sqlx::raw_sql(LOCAL_SCHEMA).execute(pool).await?;
    // A load table made by an earlier version: without a token its copies cannot be
    // checked against db_b (they are left alone); without rows_checked its progress
    // counts only rows written.
    let columns = column_names(pool, "sync_load").await?;
    let has = |name: &str| columns.iter().any(|(c, _)| c == name);
    if !has("token") {
        sqlx::raw_sql(
            "ALTER TABLE sync_load ADD COLUMN token VARCHAR(32) NULL, \
               ADD COLUMN chunks BIGINT NOT NULL DEFAULT 0",
        )
        .execute(pool)
        .await?;
    }
    if !has("rows_checked") {
        // A load cut short under the earlier layout counted only rows written: the best
        // known lower bound of the rows it read.
        sqlx::raw_sql(
            "ALTER TABLE sync_load ADD COLUMN rows_checked BIGINT NOT NULL DEFAULT 0 AFTER position; \
             UPDATE sync_load SET rows_checked = rows_copied",
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// db_b's bookkeeping tables, after upgrading older ones.
pub async fn apply_central_schema(pool: &MySqlPool) -> Result<(), sqlx::Error> {
    upgrade_central(pool).await?;
    if !column_names(pool, "sync_watermark")
        .await?
        .iter()
        .any(|(c, _)| c == "owner")
    {
        sqlx::raw_sql(
            "ALTER TABLE sync_watermark ADD COLUMN owner VARCHAR(32) CHARACTER SET ascii \
               COLLATE ascii_bin NULL",
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}

async fn column_names(pool: &MySqlPool, table: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(pool)
    .await
}

/// A queue made by an earlier version: add the key and creation time columns, make the
/// payload plain text (a JSON CHECK made parking a bad row impossible), drop the per-record
/// index nothing reads any more. MariaDB's `IF [NOT] EXISTS` keeps it safe to repeat.
async fn upgrade_local(pool: &MySqlPool) -> Result<(), sqlx::Error> {
    let columns = column_names(pool, "sync_queue").await?;
    let has = |name: &str| columns.iter().any(|(c, _)| c == name);
    let payload_is_text = columns
        .iter()
        .any(|(c, t)| c == "payload" && t.eq_ignore_ascii_case("longtext"));
    if columns.is_empty() || (has("record_key") && has("created_at") && payload_is_text) {
        return Ok(());
    }
    tracing::info!("upgrading db_a's sync_queue to the current layout");
    sqlx::raw_sql(
        "ALTER TABLE sync_queue \
           ADD COLUMN IF NOT EXISTS record_key VARBINARY(2048) NULL AFTER record_id, \
           ADD COLUMN IF NOT EXISTS created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) AFTER payload, \
           MODIFY record_id BIGINT NULL, \
           MODIFY payload LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, \
           DROP INDEX IF EXISTS idx_queue_record",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A ledger and watermark made by an earlier version (one site, integer keys): moved aside,
/// recreated in the per-site, any-key layout, copied over. Each step can be repeated, so an
/// upgrade cut short finishes on the next `init`.
async fn upgrade_central(pool: &MySqlPool) -> Result<(), sqlx::Error> {
    if column_names(pool, "sync_ledger")
        .await?
        .iter()
        .any(|(c, _)| c == "record_id")
    {
        tracing::info!("upgrading db_b's sync_ledger to the per-site layout");
        sqlx::raw_sql("RENAME TABLE sync_ledger TO sync_ledger_v1")
            .execute(pool)
            .await?;
    }
    if column_names(pool, "sync_watermark")
        .await?
        .iter()
        .any(|(c, _)| c == "id")
    {
        tracing::info!("upgrading db_b's sync_watermark to the per-site layout");
        sqlx::raw_sql("RENAME TABLE sync_watermark TO sync_watermark_v1")
            .execute(pool)
            .await?;
    }
    sqlx::raw_sql(CENTRAL_SCHEMA).execute(pool).await?;
    if !column_names(pool, "sync_ledger_v1").await?.is_empty() {
        sqlx::raw_sql(
            "INSERT IGNORE INTO sync_ledger (site_id, table_name, record_key, last_change_id) \
             SELECT '', table_name, CAST(record_id AS CHAR), last_change_id FROM sync_ledger_v1; \
             DROP TABLE sync_ledger_v1",
        )
        .execute(pool)
        .await?;
    }
    if !column_names(pool, "sync_watermark_v1").await?.is_empty() {
        sqlx::raw_sql(
            "INSERT INTO sync_watermark (site_id, last_change_id) \
               SELECT '', MAX(last_change_id) FROM sync_watermark_v1 HAVING COUNT(*) > 0 \
             ON DUPLICATE KEY UPDATE last_change_id = GREATEST(sync_watermark.last_change_id, VALUES(last_change_id)); \
             DROP TABLE sync_watermark_v1",
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// A `sync_tables` row that does not read as a definition (written by another version of
/// dbsync, or edited by hand): `dbsync init` records it anew.
#[derive(Debug, thiserror::Error)]
#[error("the definition `dbsync init` recorded for `{table}` cannot be read ({reason})")]
pub struct UnreadableSpec {
    pub table: String,
    pub reason: String,
}

/// The table definitions `dbsync init` last captured on db_a (what the triggers write),
/// each as it reads.
pub async fn captured_specs(
    conn: &mut MySqlConnection,
) -> Result<Vec<Result<TableSpec, UnreadableSpec>>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT table_name, spec FROM sync_tables ORDER BY table_name")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(
            |(table, spec)| match serde_json::from_str::<TableSpec>(&spec) {
                Ok(spec) if spec.name == table => Ok(spec),
                Ok(other) => Err(UnreadableSpec {
                    reason: format!("it holds the definition of `{}`", other.name),
                    table,
                }),
                Err(err) => Err(UnreadableSpec {
                    table,
                    reason: err.to_string(),
                }),
            },
        )
        .collect())
}

/// Records `specs` as the captured definitions and forgets tables no longer synced.
pub async fn record_specs(
    conn: &mut MySqlConnection,
    specs: &[TableSpec],
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("DELETE FROM sync_tables")
        .execute(&mut *tx)
        .await?;
    for spec in specs {
        // A definition is plain strings, numbers and lists: it always serializes.
        let text = serde_json::to_string(spec).unwrap_or_default();
        sqlx::query("INSERT INTO sync_tables (table_name, spec) VALUES (?, ?)")
            .bind(&spec.name)
            .bind(text)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// The tables of the sample schema (and of the REST API), parents first.
pub const SAMPLE_TABLE_NAMES: [&str; 2] = ["users", "orders"];

/// Creates those of the sample tables `tables` names, where missing (`orders` refers to
/// `users`: name both, or have `users` already).
pub async fn apply_sample_tables(pool: &MySqlPool, tables: &[&str]) -> Result<(), sqlx::Error> {
    for name in SAMPLE_TABLE_NAMES.iter().filter(|n| tables.contains(n)) {
        let head = format!("CREATE TABLE IF NOT EXISTS {name} (");
        let statement = SAMPLE_TABLES
            .find(&head)
            .and_then(|at| SAMPLE_TABLES[at..].split_inclusive(';').next());
        if let Some(statement) = statement {
            sqlx::raw_sql(AssertSqlSafe(statement.to_string()))
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// Drops the sample tables among `tables` (the ones a refused `init` made), children first.
pub async fn drop_sample_tables(pool: &MySqlPool, tables: &[&str]) -> Result<(), sqlx::Error> {
    for name in SAMPLE_TABLE_NAMES
        .iter()
        .rev()
        .filter(|n| tables.contains(n))
    {
        let sql = format!("DROP TABLE IF EXISTS {}", quote_ident(name));
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(pool).await?;
    }
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
