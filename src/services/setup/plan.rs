//! `init`'s DDL for db_b, a step at a time with what each does in words: a table's copy
//! created or brought in line with db_a's, the foreign keys of a table no longer synced
//! dropped.

use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Executor};

use super::{InitError, InitReport};
use crate::db::error::{self, Kind};
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

/// What a step failed with: db_b refusing it, or the error to report as it is.
pub(super) enum StepError {
    Refused(InitError),
    Database(sqlx::Error),
}

impl StepError {
    pub(super) fn or_schema(self, schema: impl FnOnce(sqlx::Error) -> InitError) -> InitError {
        match self {
            StepError::Refused(err) => err,
            StepError::Database(err) => schema(err),
        }
    }
}

impl From<sqlx::Error> for StepError {
    fn from(err: sqlx::Error) -> Self {
        StepError::Database(err)
    }
}

/// Runs every table's steps on db_b, phase by phase (see [`Phase`]), in table order within
/// one, saying each in `report`.
pub(super) async fn run(
    conn: &mut MySqlConnection,
    plans: Plans,
    site: bool,
    report: &mut InitReport,
) -> Result<(), StepError> {
    // A foreign key db_a gained is added to db_b without checking db_b's rows, which may
    // still lack changes queued before it; and tables refer to each other in any order.
    conn.execute("SET SESSION foreign_key_checks = 0").await?;
    if site {
        // Other sites' values in db_b: a column change that would alter one (a character
        // set without its characters) fails instead of writing `?` over it.
        conn.execute("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES')")
            .await?;
    }
    let mut steps: Vec<Step> = plans.into_iter().flatten().collect();
    steps.sort_by_key(|step| step.phase);
    for step in steps {
        let Some(sql) = step.sql else {
            report.central_changes.push(step.said);
            continue;
        };
        match conn.execute(AssertSqlSafe(sql.clone())).await {
            Ok(_) => report.central_changes.push(step.said),
            // The rest goes on: once runs have brought db_b's rows up to date, `init` adds
            // the key (it compares db_b's indexes with db_a's every time).
            Err(err)
                if central::adds_unique_key(&sql)
                    && error::number(&err) == Some(error::code::DUP_ENTRY) =>
            {
                report.deferred.push(format!(
                    "{} not added yet: db_b's rows hold a value twice ({}), as changes queued before db_a gained the key are not applied yet; run `dbsync sync`, then `dbsync init` again (should it fail again, db_b holds such rows of its own: `dbsync verify` names them)",
                    step.said,
                    error::describe(&err)
                ));
            }
            Err(err) if site && error::classify(&err) == Kind::Data => {
                return Err(StepError::Refused(InitError::WouldChangeValues {
                    said: step.said,
                    reason: error::describe(&err),
                }));
            }
            Err(err) => return Err(StepError::Database(err)),
        }
    }
    Ok(())
}
