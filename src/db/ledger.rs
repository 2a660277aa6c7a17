//! db_b's memory of each site's queue: the per-record ledger (the newest change applied to
//! each record) and the per-site watermark. Written in the same transaction as the changes.

use std::collections::HashMap;

use sqlx::mysql::{MySql, MySqlConnection};
use sqlx::{AssertSqlSafe, QueryBuilder};

use super::packet::{statement_budget, statement_chunks};
use super::quote_literal;

/// Rows per ledger statement (2 placeholders each), well below MySQL's 65 535.
const CHUNK: usize = 7_000;

/// The newest applied change id of each of `record_keys` of `table`, locked for this
/// transaction; statements stay within db_b's `packet` limit.
pub async fn ledger_entries(
    conn: &mut MySqlConnection,
    site: &str,
    table: &str,
    record_keys: &[&str],
    packet: usize,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let mut entries = HashMap::new();
    let budget = statement_budget(packet);
    for chunk in statement_chunks(record_keys, CHUNK, budget, |key| key.len() + 8) {
        let mut query = QueryBuilder::<MySql>::new(
            "SELECT CAST(record_key AS CHAR), last_change_id FROM sync_ledger WHERE site_id = ",
        );
        query
            .push_bind(site)
            .push(" AND table_name = ")
            .push_bind(table)
            .push(" AND record_key IN (");
        let mut list = query.separated(", ");
        for key in chunk {
            list.push_bind(*key);
        }
        query.push(") FOR UPDATE");
        let rows: Vec<(String, i64)> = query.build_query_as().fetch_all(&mut *conn).await?;
        entries.extend(rows);
    }
    Ok(entries)
}

/// The newest applied change id of one record of `table`, if db_b has applied any.
pub async fn ledger_entry(
    conn: &mut MySqlConnection,
    site: &str,
    table: &str,
    record_key: &str,
) -> Result<Option<i64>, sqlx::Error> {
    // One key is one statement under any limit.
    let mut entries = ledger_entries(conn, site, table, &[record_key], usize::MAX).await?;
    Ok(entries.remove(record_key))
}

/// Records `(table, record key, change id)` as applied; an entry never moves back.
/// Statements stay within db_b's `packet` limit.
pub async fn advance_ledger(
    conn: &mut MySqlConnection,
    site: &str,
    entries: &[(&str, &str, i64)],
    packet: usize,
) -> Result<(), sqlx::Error> {
    let budget = statement_budget(packet);
    // Site and table are the same in every row of a statement. As literals they spare db_b
    // converting two parameters per row (a few percent of a drain); only names that are
    // plain (as configuration allows them: never queue content) are written so, any other
    // is bound.
    for same_table in entries.chunk_by(|a, b| a.0 == b.0) {
        let Some(&(table, _, _)) = same_table.first() else {
            continue;
        };
        let literal = [site, table].into_iter().all(is_plain_name);
        let row_head = format!("({}, {}, ", quote_literal(site), quote_literal(table));
        for chunk in statement_chunks(same_table, CHUNK, budget, |(table, key, _)| {
            row_head.len() + table.len() + key.len() + 48
        }) {
            let mut query = QueryBuilder::<MySql>::new(
                "INSERT INTO sync_ledger (site_id, table_name, record_key, last_change_id) VALUES ",
            );
            for (n, (_, key, change_id)) in chunk.iter().enumerate() {
                if n > 0 {
                    query.push(", ");
                }
                if literal {
                    query.push(&row_head);
                } else {
                    query
                        .push("(")
                        .push_bind(site)
                        .push(", ")
                        .push_bind(table)
                        .push(", ");
                }
                query
                    .push_bind(*key)
                    .push(", ")
                    .push_bind(*change_id)
                    .push(")");
            }
            query.push(
                " ON DUPLICATE KEY UPDATE last_change_id = GREATEST(last_change_id, VALUES(last_change_id))",
            );
            query.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Letters, digits, `_`, `-` and `$` only: a literal of it reads the same in any `sql_mode`.
fn is_plain_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$'))
}

/// A site's position in db_b.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Watermark {
    /// The highest change id the ledger holds for the site.
    pub last_change_id: i64,
    /// The newest change applied, or reflected by an initial load's chunk, and its
    /// fingerprint (see `services::sync::rewind`).
    pub applied_change_id: Option<i64>,
    pub applied_fingerprint: Option<i64>,
}

const WATERMARK_COLUMNS: &str = "last_change_id, applied_change_id, applied_fingerprint";

/// The site's watermark, locked for this transaction (this also serializes the site's
/// appliers). A site seen for the first time gets its row.
pub async fn lock_watermark(
    conn: &mut MySqlConnection,
    site: &str,
) -> Result<Watermark, sqlx::Error> {
    let sql =
        format!("SELECT {WATERMARK_COLUMNS} FROM sync_watermark WHERE site_id = ? FOR UPDATE");
    let found: Option<Watermark> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(site)
        .fetch_optional(&mut *conn)
        .await?;
    match found {
        Some(mark) => Ok(mark),
        None => {
            sqlx::query("INSERT IGNORE INTO sync_watermark (site_id) VALUES (?)")
                .bind(site)
                .execute(&mut *conn)
                .await?;
            Ok(Watermark::default())
        }
    }
}

/// The site's watermark without locking (for checks before a run applies anything).
pub async fn read_watermark(
    conn: &mut MySqlConnection,
    site: &str,
) -> Result<Watermark, sqlx::Error> {
    let sql = format!("SELECT {WATERMARK_COLUMNS} FROM sync_watermark WHERE site_id = ?");
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(site)
        .fetch_optional(conn)
        .await?
        .unwrap_or_default())
}

/// Raises the ledger high-water mark to `ledger_high` and records `applied` (id and
/// fingerprint of a change applied, or reflected by a load's chunk) as the newest when it
/// is newer than the one recorded.
pub async fn raise_watermark(
    conn: &mut MySqlConnection,
    site: &str,
    ledger_high: i64,
    applied: Option<(i64, i64)>,
) -> Result<(), sqlx::Error> {
    let (applied_id, fingerprint) = applied.unzip();
    sqlx::query(
        "UPDATE sync_watermark SET last_change_id = GREATEST(last_change_id, ?), \
           applied_fingerprint = IF(? > COALESCE(applied_change_id, 0), ?, applied_fingerprint), \
           applied_change_id = GREATEST(COALESCE(applied_change_id, 0), COALESCE(?, 0)) \
         WHERE site_id = ?",
    )
    .bind(ledger_high)
    .bind(applied_id)
    .bind(fingerprint)
    .bind(applied_id)
    .bind(site)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets everything db_b knows of a site's queue (its ledger and watermark): after the
/// queue was rewound, its ids no longer mean what they meant.
pub async fn forget_site_queue(conn: &mut MySqlConnection, site: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sync_ledger WHERE site_id = ?")
        .bind(site)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE sync_watermark SET last_change_id = 0, applied_change_id = NULL, \
         applied_fingerprint = NULL WHERE site_id = ?",
    )
    .bind(site)
    .execute(conn)
    .await?;
    Ok(())
}
