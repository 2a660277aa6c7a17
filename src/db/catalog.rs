//! Table definitions read from `information_schema`: the columns, key, indexes and foreign
//! keys of a table, classified into a [`TableSpec`]. This is where table and column names
//! come from before they reach SQL (always quoted with [`super::quote_ident`]).

use std::collections::BTreeMap;

use sqlx::mysql::MySqlConnection;

use crate::db::schema::central::SITE_COLUMN;
use crate::domain::table::{ColumnSpec, IndexSpec, TableSpec, ValueClass, is_geometry_type};

mod foreign_keys;

/// The size of `sync_queue.record_key` (sql/schema/local.sql).
pub const RECORD_KEY_BYTES: usize = 2048;

/// Why a configured table cannot be synced.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("table `{0}` does not exist in the database")]
    NoSuchTable(String),
    #[error("table `{0}` has no primary key: every synced table needs one")]
    NoPrimaryKey(String),
    #[error(
        "table `{table}`: column `{column}` has type {column_type}, which dbsync cannot copy exactly"
    )]
    UnsupportedType {
        table: String,
        column: String,
        column_type: String,
    },
    #[error(
        "table `{0}`: its primary key can be longer than the {RECORD_KEY_BYTES} bytes the queue keeps for a key (a long binary or case-sensitive text key); shorten the key column"
    )]
    KeyTooLong(String),
    #[error("`{table}` is a {kind}, not a plain table: dbsync syncs plain (base) tables only")]
    NotAPlainTable { table: String, kind: String },
    #[error("table `{0}` is not an InnoDB table: capture triggers need transactions")]
    NotTransactional(String),
    #[error(
        "table `{0}` has an application-time period (PERIOD FOR): `UPDATE`/`DELETE … FOR PORTION OF` split its rows with inserts its triggers cannot order; dbsync does not sync such tables"
    )]
    ApplicationPeriod(String),
    #[error(
        "table `{0}` has a column named `{SITE_COLUMN}`, which db_b's copy needs to tell the sites apart (SITE_ID is set): rename that column in db_a"
    )]
    SiteColumnTaken(String),
    #[error(
        "table `{table}`: foreign key `{key}` sets NULL, which db_b's copy cannot do with SITE_ID set (the key starts with site_id, never NULL there): make it CASCADE or RESTRICT on db_a, or leave one of its tables out of SYNC_TABLES"
    )]
    SiteSetNull { table: String, key: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// With `SITE_ID`, refuses what db_b's per-site copies cannot hold: a table with a column of
/// its own named like db_b's site column (the copy needs that name to tell the sites apart),
/// a foreign key between synced tables that sets NULL.
pub fn check_site_layout(specs: &[TableSpec]) -> Result<(), CatalogError> {
    if let Some(spec) = specs.iter().find(|s| s.has_column_named(SITE_COLUMN)) {
        return Err(CatalogError::SiteColumnTaken(spec.name.clone()));
    }
    // db_b's copy of a key between synced tables starts with `site_id`, never NULL.
    let synced = |name: &str| specs.iter().any(|s| s.name == name);
    for spec in specs {
        let sets_null = spec.foreign_keys.iter().find(|fk| {
            synced(&fk.parent_table) && (fk.on_delete == "SET NULL" || fk.on_update == "SET NULL")
        });
        if let Some(fk) = sets_null {
            return Err(CatalogError::SiteSetNull {
                table: spec.name.clone(),
                key: fk.name.clone(),
            });
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ColumnRow {
    name: String,
    data_type: String,
    column_type: String,
    is_nullable: String,
    extra: String,
    precision: Option<u64>,
    scale: Option<u64>,
    fraction: Option<u64>,
    collation: Option<String>,
}

#[derive(sqlx::FromRow)]
struct IndexRow {
    index_name: String,
    non_unique: i64,
    column_name: String,
    sub_part: Option<i64>,
}

/// The definition of `table` in the connection's current database.
pub async fn table_spec(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<TableSpec, CatalogError> {
    let table_options = table_options(conn, table).await?;
    let columns = columns(conn, table).await?;
    let (key, indexes) = indexes(conn, table).await?;
    if key.is_empty() {
        return Err(CatalogError::NoPrimaryKey(table.to_string()));
    }
    let spec = TableSpec {
        name: table.to_string(),
        columns,
        key,
        indexes,
        foreign_keys: foreign_keys::foreign_keys(conn, table).await?,
        table_options,
    };
    if spec
        .max_record_key_bytes()
        .is_none_or(|bytes| bytes > RECORD_KEY_BYTES)
    {
        return Err(CatalogError::KeyTooLong(table.to_string()));
    }
    Ok(spec)
}

/// `ENGINE=InnoDB DEFAULT CHARSET=… COLLATE=…`; refuses a missing or non-InnoDB table.
async fn table_options(conn: &mut MySqlConnection, table: &str) -> Result<String, CatalogError> {
    type Options = (String, Option<String>, Option<String>, Option<String>);
    let options: Option<Options> = sqlx::query_as(
        "SELECT CAST(TABLE_TYPE AS CHAR), CAST(ENGINE AS CHAR), CAST(TABLE_COLLATION AS CHAR), \
           CAST(CCSA.CHARACTER_SET_NAME AS CHAR) \
         FROM information_schema.TABLES T \
         LEFT JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY CCSA \
           ON CCSA.COLLATION_NAME = T.TABLE_COLLATION \
         WHERE T.TABLE_SCHEMA = DATABASE() AND T.TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((kind, engine, collation, charset)) = options else {
        return Err(CatalogError::NoSuchTable(table.to_string()));
    };
    if kind != "BASE TABLE" {
        let kind = match kind.as_str() {
            "SYSTEM VERSIONED" => "system-versioned table".to_string(),
            other => other.to_lowercase(),
        };
        return Err(CatalogError::NotAPlainTable {
            table: table.to_string(),
            kind,
        });
    }
    let engine = engine.unwrap_or_default();
    if !engine.eq_ignore_ascii_case("InnoDB") {
        return Err(CatalogError::NotTransactional(table.to_string()));
    }
    let mut table_options = "ENGINE=InnoDB".to_string();
    if let (Some(charset), Some(collation)) = (charset, collation) {
        table_options.push_str(&format!(" DEFAULT CHARSET={charset} COLLATE={collation}"));
    }
    Ok(table_options)
}

async fn columns(conn: &mut MySqlConnection, table: &str) -> Result<Vec<ColumnSpec>, CatalogError> {
    let rows: Vec<ColumnRow> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(DATA_TYPE AS CHAR) AS data_type, \
           CAST(COLUMN_TYPE AS CHAR) AS column_type, CAST(IS_NULLABLE AS CHAR) AS is_nullable, \
           CAST(EXTRA AS CHAR) AS extra, CAST(NUMERIC_PRECISION AS UNSIGNED) AS `precision`, \
           CAST(NUMERIC_SCALE AS UNSIGNED) AS scale, \
           CAST(DATETIME_PRECISION AS UNSIGNED) AS fraction, \
           CAST(COLLATION_NAME AS CHAR) AS collation \
         FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let (definitions, period) = column_definitions(conn, table).await?;
    if period {
        return Err(CatalogError::ApplicationPeriod(table.to_string()));
    }
    let mut columns = Vec::with_capacity(rows.len());
    for row in rows {
        let class = classify(&row).ok_or_else(|| CatalogError::UnsupportedType {
            table: table.to_string(),
            column: row.name.clone(),
            column_type: row.column_type.clone(),
        })?;
        let extra = row.extra.to_ascii_lowercase();
        let definition = definitions
            .iter()
            .find(|(name, _)| *name == row.name)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| row.column_type.clone());
        columns.push(ColumnSpec {
            definition,
            // MySQL 8 prints DEFAULT_GENERATED for expression defaults: not a generated column.
            generated: [
                "virtual generated",
                "stored generated",
                "persistent generated",
            ]
            .iter()
            .any(|g| extra.contains(g)),
            on_update_now: extra.contains("on update"),
            nullable: row.is_nullable == "YES",
            collation: row.collation,
            name: row.name,
            column_type: row.column_type,
            class,
        });
    }
    Ok(columns)
}

/// The primary key's columns, and the secondary indexes.
async fn indexes(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<(Vec<String>, Vec<IndexSpec>), sqlx::Error> {
    let rows: Vec<IndexRow> = sqlx::query_as(
        "SELECT CAST(INDEX_NAME AS CHAR) AS index_name, CAST(NON_UNIQUE AS SIGNED) AS non_unique, \
           CAST(COLUMN_NAME AS CHAR) AS column_name, CAST(SUB_PART AS SIGNED) AS sub_part \
         FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX",
    )
    .bind(table)
    .fetch_all(conn)
    .await?;
    let mut key = Vec::new();
    let mut by_name: BTreeMap<String, IndexSpec> = BTreeMap::new();
    for row in rows {
        if row.index_name == "PRIMARY" {
            key.push(row.column_name);
            continue;
        }
        by_name
            .entry(row.index_name.clone())
            .or_insert_with(|| IndexSpec {
                name: row.index_name.clone(),
                unique: row.non_unique == 0,
                columns: Vec::new(),
            })
            .columns
            .push((row.column_name, row.sub_part.map(|p| p as u32)));
    }
    Ok((key, by_name.into_values().collect()))
}

/// Each column's definition text from `SHOW CREATE TABLE`: one column per line, starting
/// with its quoted name. `AUTO_INCREMENT` is dropped. And whether the table has an
/// application-time period (a line of its own; `information_schema` has no word of it
/// before MariaDB 11.4).
async fn column_definitions(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<(Vec<(String, String)>, bool), sqlx::Error> {
    let sql = format!("SHOW CREATE TABLE {}", super::quote_ident(table));
    let (_, create): (String, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_one(conn)
        .await?;
    let period = create.lines().any(|line| line.starts_with("  PERIOD FOR "));
    Ok((
        create.lines().filter_map(parse_column_line).collect(),
        period,
    ))
}

/// `  `name` int(11) NOT NULL AUTO_INCREMENT,` → (`name`, `int(11) NOT NULL`).
fn parse_column_line(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("  `")?;
    // The name ends at the first backtick not doubled.
    let mut name = String::new();
    let mut chars = rest.char_indices().peekable();
    let end = loop {
        let (at, c) = chars.next()?;
        if c == '`' {
            if rest[at + 1..].starts_with('`') {
                name.push('`');
                chars.next();
                continue;
            }
            break at + 1;
        }
        name.push(c);
    };
    let definition = rest[end..]
        .trim()
        .trim_end_matches(',')
        .replace(" AUTO_INCREMENT", "");
    Some((name, definition))
}

/// How a column's values travel, by its server type; `None` for types dbsync does not copy.
fn classify(row: &ColumnRow) -> Option<ValueClass> {
    let fraction = row.fraction.unwrap_or(0) as u32;
    let zerofill = row.column_type.to_ascii_lowercase().contains("zerofill");
    Some(match row.data_type.to_ascii_lowercase().as_str() {
        // ZEROFILL integers print with leading zeros, which is not a JSON number.
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" if zerofill => ValueClass::CastText,
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => ValueClass::Integer,
        "decimal" => ValueClass::Decimal {
            precision: row.precision.unwrap_or(10) as u32,
            scale: row.scale.unwrap_or(0) as u32,
        },
        "float" => ValueClass::Float,
        "double" => ValueClass::Double,
        "bit" => ValueClass::Bit,
        // YEAR prints as `0000` for zero, which is not a JSON number either: cast to text.
        "year" => ValueClass::CastText,
        "date" | "datetime" | "time" => ValueClass::Temporal {
            fraction_digits: fraction,
        },
        "timestamp" => ValueClass::Timestamp {
            fraction_digits: fraction,
        },
        // An ENUM or SET of CHARACTER SET binary holds bytes: in a JSON image it would turn
        // the whole image binary (and the writer's INSERT would fail).
        "enum" | "set" if row.collation.as_deref() == Some("binary") => return None,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "enum" | "set" => {
            ValueClass::Text
        }
        "longtext" | "json" => ValueClass::CastText,
        "inet4" | "inet6" | "uuid" => ValueClass::CastText,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            ValueClass::Binary
        }
        geometry if is_geometry_type(geometry) => ValueClass::Binary,
        _ => return None,
    })
}

/// Names of the base tables in the connection's current database.
pub async fn table_names(conn: &mut MySqlConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    )
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::parse_column_line;

    #[test]
    fn column_lines_of_show_create_table() {
        assert_eq!(
            parse_column_line("  `id` bigint(20) NOT NULL AUTO_INCREMENT,"),
            Some(("id".into(), "bigint(20) NOT NULL".into()))
        );
        assert_eq!(
            parse_column_line("  `we``ird` varchar(10) DEFAULT 'a,b'"),
            Some(("we`ird".into(), "varchar(10) DEFAULT 'a,b'".into()))
        );
        assert_eq!(parse_column_line("  PRIMARY KEY (`id`),"), None);
    }
}
