//! The capture triggers, generated for any table from the templates in `sql/triggers/` and
//! the table's [`TableSpec`]. Table and column names come from `information_schema` and are
//! quoted; nothing else is pasted into the SQL.

use sqlx::mysql::{MySql, MySqlConnection};
use sqlx::{AssertSqlSafe, Executor, QueryBuilder};

use super::trigger_conditions::{changed_condition, key_matches_new, update_applied};
use crate::db::image::{self, RowRef};
use crate::db::{quote_ident, quote_literal};
use crate::domain::table::TableSpec;

const AFTER_INSERT: &str = include_str!("../../../sql/triggers/after_insert.sql");
const AFTER_UPDATE: &str = include_str!("../../../sql/triggers/after_update.sql");
const AFTER_DELETE: &str = include_str!("../../../sql/triggers/after_delete.sql");

/// The statement that creates a trigger or replaces one of the same name in one step.
///
/// MariaDB-only syntax (`CREATE OR REPLACE TRIGGER`): the replacement happens under the
/// table's exclusive metadata lock, so no write can fall between the old trigger and the
/// new one. On MySQL 8 this would be `LOCK TABLES t WRITE; DROP TRIGGER; CREATE TRIGGER;
/// UNLOCK TABLES`.
fn create_trigger_verb() -> &'static str {
    "CREATE OR REPLACE TRIGGER"
}

/// The events each synced table has a capture trigger for.
const EVENTS: [&str; 3] = ["insert", "update", "delete"];

/// The trigger's name: `<table>_after_<event>`, shortened with a hash when the table name is
/// too long for MySQL's 64-character limit.
pub fn trigger_name(table: &str, event: &str) -> String {
    let name = format!("{table}_after_{event}");
    if name.chars().count() <= 64 {
        return name;
    }
    let head: String = table.chars().take(40).collect();
    format!(
        "{head}_{:08x}_after_{event}",
        crc32fast::hash(table.as_bytes())
    )
}

/// `(trigger name, CREATE OR REPLACE TRIGGER …)` for the insert, update and delete triggers.
pub fn trigger_statements(spec: &TableSpec) -> Vec<(String, String)> {
    let table = quote_ident(&spec.name);
    let (new_id, new_key) = image::key_exprs(spec, RowRef::New);
    let (old_id, old_key) = image::key_exprs(spec, RowRef::Old);
    let changing = spec
        .image_columns()
        .filter(|c| !spec.is_key_column(&c.name) && !c.on_update_now);
    let stored_row_changed: Vec<String> = spec
        .image_columns()
        .filter(|c| c.on_update_now)
        .map(|c| {
            let column = quote_ident(&c.name);
            format!(
                "NOT (OLD.{column} <=> (SELECT {column} FROM {table} WHERE {}))",
                key_matches_new(spec)
            )
        })
        .collect();
    let mut values = vec![
        ("create_trigger", create_trigger_verb().to_string()),
        ("table_name", quote_literal(&spec.name)),
        ("new_record_id", new_id),
        ("new_record_key", new_key),
        ("old_record_id", old_id),
        ("old_record_key", old_key),
        ("new_image", image::image_expr(spec, RowRef::New)),
        ("old_image", image::image_expr(spec, RowRef::Old)),
        ("key_changed", changed_condition(spec.key_columns())),
        ("update_applied", update_applied(spec)),
        ("columns_changed", changed_condition(changing)),
        (
            "stored_row_changed",
            if stored_row_changed.is_empty() {
                "FALSE".to_string()
            } else {
                stored_row_changed.join(" OR ")
            },
        ),
        ("table", table.clone()),
        ("trigger", String::new()),
    ];
    [
        ("insert", AFTER_INSERT),
        ("update", AFTER_UPDATE),
        ("delete", AFTER_DELETE),
    ]
    .into_iter()
    .map(move |(event, template)| {
        let name = trigger_name(&spec.name, event);
        if let Some(slot) = values.iter_mut().find(|(k, _)| *k == "trigger") {
            slot.1 = quote_ident(&name);
        }
        (name, render(&strip_comments(template), &values))
    })
    .collect()
}

/// Fills each `{{name}}` of `template` in one pass, so a value that happens to contain
/// `{{…}}` (a column name can) is never expanded again.
fn render(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = &after[..end];
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, value)) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 4 + end]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Template comments document the file; the trigger body does not need them.
fn strip_comments(template: &str) -> String {
    template
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Creates or replaces the three triggers of `spec`'s table.
pub async fn install(conn: &mut MySqlConnection, spec: &TableSpec) -> Result<(), sqlx::Error> {
    for (_, sql) in trigger_statements(spec) {
        conn.execute(AssertSqlSafe(sql)).await?;
    }
    Ok(())
}

/// The condition that tells a capture trigger (one that writes queue rows) from any other
/// in `information_schema.TRIGGERS`: a trigger named like one of dbsync's may be a user's.
macro_rules! writes_queue_rows {
    () => {
        "ACTION_STATEMENT LIKE '%sync_queue%'"
    };
}

/// Whether `name` is one of the names of `table`'s capture triggers.
fn is_capture_name(name: &str, table: &str) -> bool {
    EVENTS
        .iter()
        .any(|event| name == trigger_name(table, event))
}

/// Every trigger on db_a that writes queue rows, with the table it is on.
async fn capture_triggers(
    conn: &mut MySqlConnection,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT CAST(TRIGGER_NAME AS CHAR), CAST(EVENT_OBJECT_TABLE AS CHAR) \
         FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND ",
        writes_queue_rows!()
    ))
    .fetch_all(conn)
    .await
}

/// dbsync's capture triggers on tables that are no longer synced: they write queue rows
/// into `sync_queue` and have one of dbsync's names.
pub async fn stale_triggers(
    conn: &mut MySqlConnection,
    synced: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    Ok(capture_triggers(conn)
        .await?
        .into_iter()
        .filter(|(name, table)| !synced.contains(table) && is_capture_name(name, table))
        .map(|(name, _)| name)
        .collect())
}

/// dbsync's capture triggers named for one of `synced` but on another table: a table
/// swapped for a copy (`RENAME TABLE t TO t_old, t_new TO t`) takes its triggers along, and
/// there they queue the old table's writes as `t`'s changes and keep `t`'s names taken.
pub async fn misplaced(
    conn: &mut MySqlConnection,
    synced: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    Ok(capture_triggers(conn)
        .await?
        .into_iter()
        .filter(|(name, on)| {
            synced
                .iter()
                .any(|table| table != on && is_capture_name(name, table))
        })
        .map(|(name, _)| name)
        .collect())
}

/// Of `tables`, those missing one of their three capture triggers (a db_a restored from a
/// dump taken without triggers, a trigger dropped by hand, or replaced by one of the same
/// name that queues nothing): their writes go uncaptured.
pub async fn missing(
    conn: &mut MySqlConnection,
    tables: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    // Only these tables' trigger files are read.
    let mut query = QueryBuilder::<MySql>::new(concat!(
        "SELECT CAST(TRIGGER_NAME AS CHAR), CAST(EVENT_OBJECT_TABLE AS CHAR) \
         FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND ",
        writes_queue_rows!(),
        " AND EVENT_OBJECT_TABLE IN ("
    ));
    let mut list = query.separated(", ");
    for table in tables {
        list.push_bind(*table);
    }
    query.push(")");
    let found: Vec<(String, String)> = query.build_query_as().fetch_all(conn).await?;
    // Each on its own table: two synced tables that swapped names keep each other's
    // triggers, which queue one table's writes as the other's.
    let on = |table: &str, name: &str| found.iter().any(|(n, t)| n == name && t == table);
    Ok(tables
        .iter()
        .filter(|table| {
            EVENTS
                .iter()
                .any(|event| !on(table, &trigger_name(table, event)))
        })
        .map(|table| table.to_string())
        .collect())
}

/// Triggers on db_a that have the name of a capture trigger of one of `tables` but are not
/// dbsync's (they write no queue row): `init` would replace them.
pub async fn foreign_namesakes(
    conn: &mut MySqlConnection,
    tables: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    let names: Vec<String> = tables
        .iter()
        .flat_map(|table| EVENTS.map(|event| trigger_name(table, event)))
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = QueryBuilder::<MySql>::new(concat!(
        "SELECT CAST(TRIGGER_NAME AS CHAR) FROM information_schema.TRIGGERS \
         WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND NOT (",
        writes_queue_rows!(),
        ") AND TRIGGER_NAME IN ("
    ));
    let mut list = query.separated(", ");
    for name in &names {
        list.push_bind(name.as_str());
    }
    query.push(") ORDER BY TRIGGER_NAME");
    query.build_query_scalar().fetch_all(conn).await
}

/// How `spec`'s three capture triggers stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// The ones this version makes.
    Current,
    /// All there, but one is not what this version makes (one of an earlier version images
    /// some value another way): `init` replaces them.
    Outdated,
    /// One or more is gone (dropped by hand, or the table swapped for a copy by an online
    /// schema change tool): writes went uncaptured.
    Missing,
}

pub async fn installed(
    conn: &mut MySqlConnection,
    spec: &TableSpec,
) -> Result<Installed, sqlx::Error> {
    let installed: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(TRIGGER_NAME AS CHAR), CAST(ACTION_STATEMENT AS CHAR) \
         FROM information_schema.TRIGGERS \
         WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ?",
    )
    .bind(&spec.name)
    .fetch_all(conn)
    .await?;
    let ours = trigger_statements(spec);
    if ours
        .iter()
        .any(|(name, _)| !installed.iter().any(|(there, _)| there == name))
    {
        return Ok(Installed::Missing);
    }
    let outdated = ours.iter().any(|(name, sql)| {
        let body = sql
            .split_once("FOR EACH ROW")
            .map_or("", |(_, body)| body.trim());
        !installed
            .iter()
            .any(|(installed, stored)| installed == name && stored.trim() == body)
    });
    Ok(if outdated {
        Installed::Outdated
    } else {
        Installed::Current
    })
}

pub async fn drop_trigger(conn: &mut MySqlConnection, name: &str) -> Result<(), sqlx::Error> {
    let sql = format!("DROP TRIGGER IF EXISTS {}", quote_ident(name));
    conn.execute(AssertSqlSafe(sql)).await?;
    Ok(())
}
