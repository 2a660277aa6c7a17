//! db_b's copies of the synced tables: created from db_a's definitions (same columns, key,
//! unique keys and foreign keys among synced tables; no AUTO_INCREMENT, no triggers), or
//! compared with them and changed where the change is additive. With a site id, every key
//! starts with `site_id`, so rows of different sites never collide.

use sqlx::mysql::MySqlConnection;

use crate::db::quote_ident;
use crate::domain::table::{IndexSpec, TableSpec};

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
}

pub async fn central_columns(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<Vec<CentralColumn>, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(COLUMN_TYPE AS CHAR) AS column_type, \
           IS_NULLABLE = 'YES' AS nullable, \
           (COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%GENERATED%') AS has_default \
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
        format!(
            "KEY {} ({})",
            quote_ident(&index.name),
            index_columns(index).collect::<Vec<_>>().join(", ")
        )
    }
}

/// The foreign keys of `spec` whose parent is synced too, as constraint definitions.
fn foreign_keys(spec: &TableSpec, synced: &[String], site: bool) -> Vec<String> {
    spec.foreign_keys
        .iter()
        .filter(|fk| synced.contains(&fk.parent_table))
        .map(|fk| {
            format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
                quote_ident(&fk.name),
                with_site(site, fk.columns.iter().map(|c| quote_ident(c))),
                quote_ident(&fk.parent_table),
                with_site(site, fk.parent_columns.iter().map(|c| quote_ident(c))),
                fk.on_delete,
                fk.on_update,
            )
        })
        .collect()
}

/// Names of the foreign keys of db_b's `table`.
pub async fn central_foreign_keys(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(CONSTRAINT_NAME AS CHAR) FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

/// The DDL that moves a single-site copy of `spec` under `site_id`: first drop its foreign
/// keys (`drops`), then re-key every table (`rekeys`: `site_id` first in the primary key
/// and in every unique key, existing rows given `site_id`), then add the foreign keys back
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
    for index in spec.indexes.iter().filter(|i| i.unique) {
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
            column.definition
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

/// The `ALTER TABLE` statements that bring an existing db_b table in line with db_a's
/// `live` definition, or why that cannot be done automatically. `captured` is the
/// definition `init` last recorded (to tell a column db_a dropped from one db_b has of
/// its own).
pub fn plan_changes(
    live: &TableSpec,
    captured: Option<&TableSpec>,
    columns: &[CentralColumn],
    key: &[String],
    index_names: &[String],
    site: bool,
) -> Result<Vec<String>, Refusal> {
    let refuse = |column: Option<&str>, message: String| Refusal {
        table: live.name.clone(),
        column: column.map(str::to_string),
        message,
    };
    let expected_key: Vec<String> = site
        .then(|| SITE_COLUMN.to_string())
        .into_iter()
        .chain(live.key.iter().cloned())
        .collect();
    if key != expected_key {
        return Err(refuse(
            None,
            format!(
                "db_b's primary key is ({}) but db_a's is ({}); a key change is not automatic: \
                 drop db_b's table (or rename it), run `dbsync init`, then `dbsync resync`",
                key.join(", "),
                expected_key.join(", ")
            ),
        ));
    }
    let table = quote_ident(&live.name);
    let mut changes = Vec::new();
    for column in &live.columns {
        let definition = format!("{} {}", quote_ident(&column.name), column.definition);
        match columns.iter().find(|c| c.name == column.name) {
            None => changes.push(format!("ALTER TABLE {table} ADD COLUMN {definition}")),
            Some(central) if same_type(&central.column_type, &column.column_type) => {
                if !central.nullable && column.nullable {
                    changes.push(format!("ALTER TABLE {table} MODIFY COLUMN {definition}"));
                }
            }
            Some(central) if is_widening(&central.column_type, &column.column_type) => {
                changes.push(format!("ALTER TABLE {table} MODIFY COLUMN {definition}"));
            }
            Some(central) => {
                return Err(refuse(
                    Some(&column.name),
                    format!(
                        "db_b has {} and db_a has {}, which is not a widening; change db_b's \
                         column by hand (ALTER TABLE … MODIFY) and run `dbsync init` again",
                        central.column_type, column.column_type
                    ),
                ));
            }
        }
    }
    for central in columns {
        if central.name == SITE_COLUMN && site || live.column(&central.name).is_some() {
            continue;
        }
        let dropped_from_a = captured.is_some_and(|c| c.column(&central.name).is_some());
        if dropped_from_a {
            changes.push(format!(
                "ALTER TABLE {table} DROP COLUMN {}",
                quote_ident(&central.name)
            ));
        } else if !central.nullable && !central.has_default {
            return Err(refuse(
                Some(&central.name),
                "db_b has this NOT NULL column without a default and db_a does not have it, \
                 so no row from db_a could be written; give it a default or drop it"
                    .to_string(),
            ));
        }
    }
    for index in &live.indexes {
        if !index_names.contains(&index.name) {
            changes.push(format!(
                "ALTER TABLE {table} ADD {}",
                index_definition(index, site)
            ));
        }
    }
    if let Some(captured) = captured {
        for index in captured.indexes.iter().filter(|i| i.unique) {
            let gone = !live.indexes.iter().any(|i| i.name == index.name);
            if gone && index_names.contains(&index.name) {
                changes.push(format!(
                    "ALTER TABLE {table} DROP INDEX {}",
                    quote_ident(&index.name)
                ));
            }
        }
    }
    Ok(changes)
}

/// Integer display widths differ between servers (`int(11)` / `int`): not a difference.
fn normalize(column_type: &str) -> String {
    let t = column_type.to_ascii_lowercase();
    for int in ["tinyint", "smallint", "mediumint", "int", "bigint"] {
        if let Some(rest) = t.strip_prefix(int)
            && rest.starts_with('(')
            && let Some(close) = rest.find(')')
        {
            return format!("{int}{}", &rest[close + 1..]);
        }
    }
    t
}

fn same_type(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

/// Parses `name(args) rest` into (`name`, args, `rest`).
fn split_type(t: &str) -> (String, Vec<String>, String) {
    let t = normalize(t);
    match (t.find('('), t.find(')')) {
        (Some(open), Some(close)) if open < close => (
            t[..open].to_string(),
            t[open + 1..close]
                .split(',')
                .map(|s| s.trim().to_string())
                .collect(),
            t[close + 1..].trim().to_string(),
        ),
        _ => {
            let mut parts = t.splitn(2, ' ');
            let name = parts.next().unwrap_or_default().to_string();
            (
                name,
                Vec::new(),
                parts.next().unwrap_or_default().trim().to_string(),
            )
        }
    }
}

/// True when every value of type `old` fits in `new` unchanged: a longer string, a larger
/// integer of the same signedness, more decimal digits on both sides of the point, more
/// fraction digits, an ENUM or SET with values added at the end, FLOAT to DOUBLE.
pub fn is_widening(old: &str, new: &str) -> bool {
    const INTS: [&str; 5] = ["tinyint", "smallint", "mediumint", "int", "bigint"];
    const TEXTS: [&str; 4] = ["tinytext", "text", "mediumtext", "longtext"];
    const BLOBS: [&str; 4] = ["tinyblob", "blob", "mediumblob", "longblob"];
    let (old_name, old_args, old_rest) = split_type(old);
    let (new_name, new_args, new_rest) = split_type(new);
    let rank = |list: &[&str], name: &str| list.iter().position(|n| *n == name);
    let number = |args: &[String], i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    match (old_name.as_str(), new_name.as_str()) {
        (o, n) if rank(&INTS, o).is_some() && rank(&INTS, n).is_some() => {
            old_rest == new_rest && rank(&INTS, o) <= rank(&INTS, n)
        }
        ("varchar" | "char", "varchar")
        | ("char", "char")
        | ("varbinary" | "binary", "varbinary") => {
            old_rest == new_rest && number(&old_args, 0) <= number(&new_args, 0)
        }
        ("varchar" | "char", n) if rank(&TEXTS, n).is_some() => old_rest == new_rest,
        (o, n) if rank(&TEXTS, o).is_some() && rank(&TEXTS, n).is_some() => {
            old_rest == new_rest && rank(&TEXTS, o) <= rank(&TEXTS, n)
        }
        ("varbinary" | "binary", n) if rank(&BLOBS, n).is_some() => true,
        (o, n) if rank(&BLOBS, o).is_some() && rank(&BLOBS, n).is_some() => {
            rank(&BLOBS, o) <= rank(&BLOBS, n)
        }
        ("decimal", "decimal") => {
            let (p0, s0) = (
                number(&old_args, 0).unwrap_or(10),
                number(&old_args, 1).unwrap_or(0),
            );
            let (p1, s1) = (
                number(&new_args, 0).unwrap_or(10),
                number(&new_args, 1).unwrap_or(0),
            );
            old_rest == new_rest && s1 >= s0 && p1.saturating_sub(s1) >= p0.saturating_sub(s0)
        }
        ("float", "double") => old_rest == new_rest,
        ("datetime", "datetime") | ("time", "time") | ("timestamp", "timestamp") => {
            number(&old_args, 0).unwrap_or(0) <= number(&new_args, 0).unwrap_or(0)
        }
        ("enum", "enum") | ("set", "set") => {
            old_rest == new_rest && new_args.starts_with(&old_args)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_widening;

    #[test]
    fn widenings_and_not() {
        for (old, new) in [
            ("varchar(100)", "varchar(200)"),
            ("int(11)", "bigint(20)"),
            ("int(10) unsigned", "bigint(20) unsigned"),
            ("decimal(10,2)", "decimal(12,2)"),
            ("decimal(10,2)", "decimal(12,4)"),
            ("datetime", "datetime(6)"),
            ("enum('a','b')", "enum('a','b','c')"),
            ("varchar(10)", "text"),
            ("float", "double"),
            ("int(11)", "int"),
        ] {
            assert!(is_widening(old, new), "{old} -> {new}");
        }
        for (old, new) in [
            ("varchar(200)", "varchar(100)"),
            ("bigint(20)", "int(11)"),
            ("int(11)", "int(10) unsigned"),
            ("decimal(10,2)", "decimal(10,3)"),
            ("enum('a','b')", "enum('b','a')"),
            ("text", "varchar(10)"),
            ("int(11)", "varchar(20)"),
        ] {
            assert!(!is_widening(old, new), "{old} -> {new}");
        }
    }
}
