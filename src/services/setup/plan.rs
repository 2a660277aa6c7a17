//! `init`'s DDL for db_b, a step at a time with what each does in words: a table's copy
//! created or brought in line with db_a's, the foreign keys of a table no longer synced
//! dropped.

use sqlx::mysql::MySqlConnection;

use super::InitError;
use crate::db::schema::central::{self, Phase};
use crate::db::{self, Role};
use crate::domain::table::TableSpec;

/// One DDL statement for db_b (none for a note of what was left as it is), what it does
/// in words, and when it runs among every table's steps.
pub(super) struct Step {
    pub(super) sql: Option<String>,
    pub(super) said: String,
    pub(super) phase: Phase,
}

impl Step {
    fn alter(phase: Phase, sql: String) -> Self {
        Step {
            said: sql.replacen("ALTER TABLE ", "", 1),
            sql: Some(sql),
            phase,
        }
    }
}

/// DDL plans for db_b, a table's steps each.
pub(super) type Plans = Vec<Vec<Step>>;

fn central_err(source: sqlx::Error) -> InitError {
    InitError::Schema {
        role: Role::Central.label(),
        database: String::new(),
        source,
    }
}

/// The DDL for db_b's copy of `spec`, or why there is none.
pub(super) async fn plan_table(
    conn: &mut MySqlConnection,
    spec: &TableSpec,
    previous: Option<&TableSpec>,
    synced: &[String],
    site: bool,
) -> Result<Vec<Step>, InitError> {
    let columns = central::central_columns(conn, &spec.name)
        .await
        .map_err(central_err)?;
    if columns.is_empty() {
        return Ok(vec![Step {
            sql: Some(central::create_table_sql(spec, synced, site)),
            said: format!("created table `{}`", spec.name),
            phase: Phase::Columns,
        }]);
    }
    let table = central::CentralTable {
        columns,
        key: central::central_key(conn, &spec.name)
            .await
            .map_err(central_err)?,
        index_names: central::central_index_names(conn, &spec.name)
            .await
            .map_err(central_err)?,
        foreign_keys: central::central_foreign_keys(conn, &spec.name)
            .await
            .map_err(central_err)?,
    };
    let planned = central::plan_changes(spec, previous, &table, synced, site)?;
    let notes = planned.notes.into_iter().map(|said| Step {
        sql: None,
        said,
        phase: Phase::Columns,
    });
    Ok(planned
        .steps
        .into_iter()
        .map(|(phase, sql)| Step::alter(phase, sql))
        .chain(notes)
        .collect())
}

/// A table no longer synced keeps its db_b copy as it is, but not its foreign keys: they
/// would hold up the synced tables it refers to (a parent's delete refused for good).
pub(super) async fn drop_foreign_keys(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<Vec<Step>, InitError> {
    let keys = central::central_foreign_keys(conn, table)
        .await
        .map_err(central_err)?;
    Ok(keys
        .into_iter()
        .map(|(key, _)| {
            Step::alter(
                Phase::DropKeys,
                format!(
                    "ALTER TABLE {} DROP FOREIGN KEY {}",
                    db::quote_ident(table),
                    db::quote_ident(&key)
                ),
            )
        })
        .collect())
}
