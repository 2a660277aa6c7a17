//! The changes still queued (PENDING or FAILED) when a chunk is copied, by record: a chunk
//! supersedes those at or below its position, for the records it holds *and* for the
//! records of its key range it does not hold (deleted, or not yet created, as of the chunk)
//! — else the drain would later replay a stale insert or delete over the copy.
//!
//! Whether a key lies in a chunk's range is the server's call (the key columns' own order
//! and collation), so the keys of queued records are kept in an indexed temporary table on
//! db_a's connection and each chunk's range is read from it.

use std::collections::HashSet;

use sqlx::mysql::{MySql, MySqlConnection};
use sqlx::{AssertSqlSafe, Executor, QueryBuilder};

use crate::db::queue::QueuedChange;
use crate::db::quote_ident;
use crate::db::replica::{Values, push_value};
use crate::db::snapshot::{identity_expr, push_key_bound};
use crate::domain::table::{TableSpec, ValueClass};
use crate::services::sync::change;
use crate::services::sync::tables::Tables;

/// Queue rows read per query while catching up.
const BATCH: i64 = 5000;

#[derive(Default)]
pub(super) struct Unapplied {
    seen_up_to: i64,
    /// (table, identity) of every record with a change queued up to `seen_up_to`.
    records: HashSet<(String, String)>,
    /// Tables whose key table exists on this connection.
    prepared: HashSet<String>,
}

impl Unapplied {
    /// Takes in the changes queued up to `up_to` not seen yet.
    pub(super) async fn refresh(
        &mut self,
        local: &mut MySqlConnection,
        up_to: i64,
        tables: &Tables,
    ) -> Result<(), sqlx::Error> {
        while self.seen_up_to < up_to {
            let until = up_to.min(self.seen_up_to.saturating_add(BATCH));
            let rows: Vec<QueuedChange> = sqlx::query_as(
                "SELECT id, table_name, record_id, record_key, \
                   CAST(operation AS CHAR) AS operation, payload, retry_count, 1 AS due, \
                   CAST(created_at AS CHAR) AS created_at \
                 FROM sync_queue \
                 WHERE sync_status IN ('PENDING', 'FAILED') AND id > ? AND id <= ?",
            )
            .bind(self.seen_up_to)
            .bind(until)
            .fetch_all(&mut *local)
            .await?;
            let mut fresh: Vec<change::Change> = Vec::new();
            for row in rows {
                // A row that cannot be read is parked by the drain; it never reaches db_b.
                let Ok(change) = change::decode(&row, tables) else {
                    continue;
                };
                if self
                    .records
                    .insert((change.spec.name.clone(), change.record.clone()))
                {
                    fresh.push(change);
                }
            }
            for spec in tables.iter() {
                let keys: Vec<Vec<Option<String>>> = fresh
                    .iter()
                    .filter(|c| c.spec.name == spec.name)
                    .map(|change| change.key_values())
                    .collect();
                self.remember_keys(local, spec, &keys).await?;
            }
            self.seen_up_to = until;
        }
        Ok(())
    }

    pub(super) fn contains(&self, table: &str, identity: &str) -> bool {
        self.records
            .contains(&(table.to_string(), identity.to_string()))
    }

    /// The records of `spec`'s table with changes queued whose key lies in the chunk's range
    /// (`after`, `up_to`] but that the chunk does not hold (`present`).
    pub(super) async fn absent_in_range(
        &mut self,
        local: &mut MySqlConnection,
        spec: &TableSpec,
        present: &HashSet<&str>,
        after: Option<&Values>,
        up_to: Option<&Values>,
    ) -> Result<Vec<String>, sqlx::Error> {
        if !self.prepared.contains(&spec.name) {
            return Ok(Vec::new());
        }
        let key_columns: Vec<_> = spec.key_columns().collect();
        let mut select = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM {} WHERE TRUE",
            identity_expr(spec),
            scratch_table(spec)
        ));
        if let Some(after) = after {
            push_key_bound(&mut select, &key_columns, after, true);
        }
        if let Some(up_to) = up_to {
            push_key_bound(&mut select, &key_columns, up_to, false);
        }
        let inside: Vec<Option<String>> =
            select.build_query_scalar().fetch_all(&mut *local).await?;
        Ok(inside
            .into_iter()
            .flatten()
            .filter(|identity| !present.contains(identity.as_str()))
            .collect())
    }

    /// Adds keys to the table's key table, creating that on first use.
    async fn remember_keys(
        &mut self,
        local: &mut MySqlConnection,
        spec: &TableSpec,
        keys: &[Vec<Option<String>>],
    ) -> Result<(), sqlx::Error> {
        if keys.is_empty() {
            return Ok(());
        }
        if !self.prepared.contains(&spec.name) {
            create_scratch(local, spec).await?;
            self.prepared.insert(spec.name.clone());
        }
        let columns: Vec<String> = spec.key.iter().map(|k| quote_ident(k)).collect();
        let mut insert = QueryBuilder::<MySql>::new(format!(
            "INSERT INTO {} ({}) VALUES ",
            scratch_table(spec),
            columns.join(", ")
        ));
        for (n, key) in keys.iter().enumerate() {
            insert.push(if n == 0 { "(" } else { ", (" });
            for (i, (column, value)) in spec.key_columns().zip(key.iter()).enumerate() {
                if i > 0 {
                    insert.push(", ");
                }
                push_value(&mut insert, column, value);
            }
            insert.push(")");
        }
        insert.build().execute(&mut *local).await?;
        Ok(())
    }
}

fn scratch_table(spec: &TableSpec) -> String {
    quote_ident(&format!(
        "dbsync_load_keys_{:08x}",
        crc32fast::hash(spec.name.as_bytes())
    ))
}

/// A temporary table with the key columns' own definitions (type, collation), indexed
/// unless a key column is a BLOB/TEXT, whose index would need a prefix length.
async fn create_scratch(local: &mut MySqlConnection, spec: &TableSpec) -> Result<(), sqlx::Error> {
    let scratch = scratch_table(spec);
    let columns: Vec<String> = spec.key.iter().map(|k| quote_ident(k)).collect();
    let long_text = spec.key_columns().any(|c| {
        let t = c.column_type.to_ascii_lowercase();
        t.contains("text") || t.contains("blob") || c.class == ValueClass::CastText
    });
    let index = if long_text {
        String::new()
    } else {
        format!("(INDEX ({})) ", columns.join(", "))
    };
    local
        .execute(AssertSqlSafe(format!(
            "DROP TEMPORARY TABLE IF EXISTS {scratch}"
        )))
        .await?;
    local
        .execute(AssertSqlSafe(format!(
            "CREATE TEMPORARY TABLE {scratch} {index}SELECT {} FROM {} LIMIT 0",
            columns.join(", "),
            quote_ident(&spec.name)
        )))
        .await?;
    Ok(())
}
