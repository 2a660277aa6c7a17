//! A table's foreign keys to tables of its own database, as `information_schema` has them.

use std::collections::HashMap;

use sqlx::mysql::MySqlConnection;

use crate::domain::table::ForeignKeySpec;

#[derive(sqlx::FromRow)]
struct ForeignKeyRow {
    name: String,
    column_name: String,
    parent_table: String,
    parent_column: String,
}

/// Foreign keys to tables of the same database, their columns in key order.
pub(super) async fn foreign_keys(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<Vec<ForeignKeySpec>, sqlx::Error> {
    // Two reads, not a join: joined, the server reads REFERENTIAL_CONSTRAINTS of every
    // database, opening their tables — and waits on any of them another session locks.
    let rows: Vec<ForeignKeyRow> = sqlx::query_as(
        "SELECT CAST(CONSTRAINT_NAME AS CHAR) AS name, CAST(COLUMN_NAME AS CHAR) AS column_name, \
           CAST(REFERENCED_TABLE_NAME AS CHAR) AS parent_table, \
           CAST(REFERENCED_COLUMN_NAME AS CHAR) AS parent_column \
         FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
           AND REFERENCED_TABLE_NAME IS NOT NULL AND REFERENCED_TABLE_SCHEMA = TABLE_SCHEMA \
         ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let rules: HashMap<String, (String, String)> = sqlx::query_as::<_, (String, String, String)>(
        "SELECT CAST(CONSTRAINT_NAME AS CHAR), CAST(DELETE_RULE AS CHAR), CAST(UPDATE_RULE AS CHAR) \
         FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(name, on_delete, on_update)| (name, (on_delete, on_update)))
    .collect();
    let mut foreign_keys: Vec<ForeignKeySpec> = Vec::new();
    for row in rows {
        // A key dropped between the two reads is left out, as it would have been.
        let Some((on_delete, on_update)) = rules.get(&row.name) else {
            continue;
        };
        match foreign_keys.last_mut() {
            Some(fk) if fk.name == row.name => {
                fk.columns.push(row.column_name);
                fk.parent_columns.push(row.parent_column);
            }
            _ => foreign_keys.push(ForeignKeySpec {
                name: row.name,
                columns: vec![row.column_name],
                parent_table: row.parent_table,
                parent_columns: vec![row.parent_column],
                on_delete: on_delete.clone(),
                on_update: on_update.clone(),
            }),
        }
    }
    Ok(foreign_keys)
}
