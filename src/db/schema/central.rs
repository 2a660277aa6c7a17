//! db_b's copies of the synced tables: created from db_a's definitions (same columns, key,
//! unique keys and foreign keys among synced tables; no AUTO_INCREMENT, no triggers), or
//! compared with them and changed where the change is additive. With a site id, every key
//! starts with `site_id`, so rows of different sites never collide.

use sqlx::mysql::MySqlConnection;

use crate::db::quote_ident;
use crate::domain::table::{ForeignKeySpec, IndexSpec, TableSpec};

mod changes;
mod shared;

pub use changes::{CentralTable, Phase, adds_unique_key, plan_changes};

/// The column that tells sites apart in db_b, first in every key when `SITE_ID` is set.
pub const SITE_COLUMN: &str = "site_id";
const SITE_DEFINITION: &str = "varchar(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL";

/// A db_b table that cannot follow db_a without a decision only a person can make.
#[derive(Debug, thiserror::Error)]
#[error("table `{table}`{}: {message}", column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default())]
pub struct Refusal {
    pub table: String,
    pub column: Option<String>,
    pub message: String,
}

/// A column of an existing db_b table.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CentralColumn {
    pub name: String,
    pub column_type: String,
    pub nullable: bool,
    pub has_default: bool,
    /// A text column's collation; `None` for other types.
    pub collation: Option<String>,
}

pub async fn central_columns(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<Vec<CentralColumn>, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(COLUMN_TYPE AS CHAR) AS column_type, \
           IS_NULLABLE = 'YES' AS nullable, \
           (COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%GENERATED%') AS has_default, \
           CAST(COLLATION_NAME AS CHAR) AS collation \
         FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

pub async fn central_key(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' \
         ORDER BY SEQ_IN_INDEX",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

pub async fn central_index_names(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT CAST(INDEX_NAME AS CHAR) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

/// The primary key db_b's copy of `spec` has: `site_id` first with many sites.
pub fn central_key_of(spec: &TableSpec, site: bool) -> Vec<String> {
    site.then(|| SITE_COLUMN.to_string())
        .into_iter()
        .chain(spec.key.iter().cloned())
        .collect()
}

fn with_site(site: bool, columns: impl Iterator<Item = String>) -> String {
    let mut all: Vec<String> = Vec::new();
    if site {
        all.push(quote_ident(SITE_COLUMN));
    }
    all.extend(columns);
    all.join(", ")
}

fn index_columns(index: &IndexSpec) -> impl Iterator<Item = String> + '_ {
    index.columns.iter().map(|(name, prefix)| match prefix {
        Some(length) => format!("{}({length})", quote_ident(name)),
        None => quote_ident(name),
    })
}

fn index_definition(index: &IndexSpec, site: bool) -> String {
    if index.unique {
        // Unique per site: two shops may each have a customer ana@example.com.
        format!(
            "UNIQUE KEY {} ({})",
            quote_ident(&index.name),
            with_site(site, index_columns(index))
        )
    } else {
        // `site_id` first here too: a foreign key over `(site_id, …)` needs such an index,
        // and would otherwise make one of the index's own name (a clash, 1061).
        format!(
            "KEY {} ({})",
            quote_ident(&index.name),
            with_site(site, index_columns(index))
        )
    }
}

/// The foreign keys of `spec` whose parent is synced too, as constraint definitions.
fn foreign_keys(spec: &TableSpec, synced: &[String], site: bool) -> Vec<String> {
    spec.foreign_keys
        .iter()
        .filter(|fk| synced.contains(&fk.parent_table))
        .map(|fk| foreign_key_definition(fk, site))
        .collect()
}

fn foreign_key_definition(fk: &ForeignKeySpec, site: bool) -> String {
    format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
        quote_ident(&fk.name),
        with_site(site, fk.columns.iter().map(|c| quote_ident(c))),
        quote_ident(&fk.parent_table),
        with_site(site, fk.parent_columns.iter().map(|c| quote_ident(c))),
        fk.on_delete,
        fk.on_update,
    )
}

/// The foreign keys of db_b's `table`: each one's name and the table it refers to.
pub async fn central_foreign_keys(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(CONSTRAINT_NAME AS CHAR), CAST(REFERENCED_TABLE_NAME AS CHAR) \
         FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

/// The DDL that moves a single-site copy of `spec` under `site_id`: first drop its foreign
/// keys (`drops`), then re-key every table (`rekeys`: `site_id` first in the primary key
/// and in every index, existing rows given `site_id`), then add the foreign keys back
/// with `site_id` (`adds`). Run all drops before any re-key: parents change their keys.
pub fn site_migration_sql(
    spec: &TableSpec,
    synced: &[String],
    fk_names: &[String],
    site_id: &str,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let table = quote_ident(&spec.name);
    let drops = fk_names
        .iter()
        .map(|fk| format!("ALTER TABLE {table} DROP FOREIGN KEY {}", quote_ident(fk)))
        .collect();
    let mut parts = vec![
        format!(
            "ADD COLUMN {} {SITE_DEFINITION} DEFAULT {} FIRST",
            quote_ident(SITE_COLUMN),
            crate::db::quote_literal(site_id)
        ),
        "DROP PRIMARY KEY".to_string(),
        format!(
            "ADD PRIMARY KEY ({})",
            with_site(true, spec.key.iter().map(|k| quote_ident(k)))
        ),
    ];
    for index in &spec.indexes {
        parts.push(format!("DROP INDEX {}", quote_ident(&index.name)));
        parts.push(format!("ADD {}", index_definition(index, true)));
    }
    let rekeys = vec![
        format!("ALTER TABLE {table} {}", parts.join(", ")),
        format!(
            "ALTER TABLE {table} ALTER COLUMN {} DROP DEFAULT",
            quote_ident(SITE_COLUMN)
        ),
    ];
    let adds = foreign_keys(spec, synced, true)
        .into_iter()
        .map(|fk| format!("ALTER TABLE {table} ADD {fk}"))
        .collect();
    (drops, rekeys, adds)
}

/// `CREATE TABLE IF NOT EXISTS` for db_b's copy of `spec`. Foreign keys are kept when their
/// parent table is synced too (`synced`), with `site_id` on both sides when `site`.
pub fn create_table_sql(spec: &TableSpec, synced: &[String], site: bool) -> String {
    let mut lines: Vec<String> = Vec::new();
    if site {
        lines.push(format!("{} {SITE_DEFINITION}", quote_ident(SITE_COLUMN)));
    }
    for column in &spec.columns {
        lines.push(format!(
            "{} {}",
            quote_ident(&column.name),
            column.explicit_definition()
        ));
    }
    lines.push(format!(
        "PRIMARY KEY ({})",
        with_site(site, spec.key.iter().map(|k| quote_ident(k)))
    ));
    for index in &spec.indexes {
        lines.push(index_definition(index, site));
    }
    lines.extend(foreign_keys(spec, synced, site));
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n  {}\n) {}",
        quote_ident(&spec.name),
        lines.join(",\n  "),
        spec.table_options
    )
}
