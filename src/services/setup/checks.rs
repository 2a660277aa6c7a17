//! What `init` checks on db_a before it creates anything.

use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Connection};

use super::plan::{self, Plans};
use super::{InitError, connect_server, schema_error};
use crate::config::Config;
use crate::db::catalog::{self, CatalogError};
use crate::db::schema::{self, triggers, types};
use crate::db::{self, Role, error};
use crate::domain::table::TableSpec;

/// Every configured table checked on db_a before anything is created: a table that is
/// missing (the database too, even), has no primary key or a type db_b cannot hold stops
/// `init` with nothing created (`check_tables` checks again, with db_b's side, once the
/// sample tables exist). Returns the sample tables to make: those listed (or all, to
/// `seed`) that db_a lacks, `users` with `orders`.
pub(super) async fn check_local_tables(
    config: &Config,
    seed: bool,
) -> Result<Vec<&'static str>, InitError> {
    let local_err = |source| schema_error(Role::Local, &config.local, source);
    let mut conn = connect_server(Role::Local, &config.local).await?;
    let exists: Option<String> = sqlx::query_scalar(
        "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    )
    .bind(&config.local.database)
    .fetch_optional(&mut conn)
    .await
    .map_err(local_err)?;
    if exists.is_some() {
        let sql = format!("USE {}", db::quote_ident(&config.local.database));
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .map_err(local_err)?;
    }
    let mut specs = Vec::new();
    for name in &config.sync.tables {
        let spec = match exists {
            Some(_) => catalog::table_spec(&mut conn, name).await,
            None => Err(CatalogError::NoSuchTable(name.clone())),
        };
        match spec {
            Ok(spec) => specs.push(spec),
            // `init` creates these itself.
            Err(CatalogError::NoSuchTable(_))
                if schema::SAMPLE_TABLE_NAMES.contains(&name.as_str()) => {}
            Err(CatalogError::Database(source)) => return Err(local_err(source)),
            Err(other) => return Err(InitError::Table(other)),
        }
    }
    if config.sync.site_id.is_some() {
        catalog::check_site_layout(&specs).map_err(InitError::Table)?;
    }
    let names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
    let taken = triggers::foreign_namesakes(&mut conn, &names)
        .await
        .map_err(local_err)?;
    if let Some(trigger) = taken.into_iter().next() {
        return Err(InitError::TriggerNameTaken(trigger));
    }
    let existing = match exists {
        Some(_) => catalog::table_names(&mut conn).await.map_err(local_err)?,
        None => Vec::new(),
    };
    let samples = samples_to_make(config, seed, &existing);
    // `orders` refers to `users (id)`: one of db_a's own of another shape would fail it.
    if samples.contains(&"orders") && existing.iter().any(|t| t == "users") {
        let users = catalog::table_spec(&mut conn, "users").await;
        let sample_like = users.is_ok_and(|users| {
            users.key == ["id"]
                && users
                    .column("id")
                    .is_some_and(|id| types::same_type(&id.column_type, "bigint(20)"))
        });
        if !sample_like {
            return Err(InitError::SampleClash);
        }
    }
    let _ = conn.close().await;
    Ok(samples)
}

/// The sample tables db_a lacks that `init` makes: those SYNC_TABLES lists (all of them to
/// `seed`), and `users` for an `orders` made.
fn samples_to_make(config: &Config, seed: bool, existing: &[String]) -> Vec<&'static str> {
    let wanted = |name: &str| seed || config.sync.tables.iter().any(|t| t == name);
    let missing = |name: &str| !existing.iter().any(|t| t == name);
    let orders = wanted("orders") && missing("orders");
    schema::SAMPLE_TABLE_NAMES
        .into_iter()
        .filter(|name| missing(name) && (wanted(name) || (*name == "users" && orders)))
        .collect()
}

/// Every configured table's live definition, the definitions `init` captured before, and
/// db_b's DDL plan for each — or the first reason a table cannot be synced.
pub(super) async fn check_tables(
    local: &mut MySqlConnection,
    central: &mut MySqlConnection,
    config: &Config,
) -> Result<Checked, InitError> {
    let local_err = |source| schema_error(Role::Local, &config.local, source);
    let mut specs = Vec::new();
    for name in &config.sync.tables {
        specs.push(
            catalog::table_spec(local, name)
                .await
                .map_err(|err| match err {
                    CatalogError::Database(source) => local_err(source),
                    other => InitError::Table(other),
                })?,
        );
    }
    let site = config.sync.site_id.is_some();
    if site {
        catalog::check_site_layout(&specs).map_err(InitError::Table)?;
    }
    // None before the first `init` made `sync_tables`.
    let captured = match schema::captured_specs(local).await {
        Err(err) if error::number(&err) == Some(error::code::NO_SUCH_TABLE) => Vec::new(),
        other => other.map_err(local_err)?,
    };
    // One that does not read is recorded anew, and its table copied: what changed since
    // (a column its old triggers did not image) cannot be told.
    let mut unreadable = Vec::new();
    let captured: Vec<_> = captured
        .into_iter()
        .filter_map(|spec| {
            spec.inspect_err(|bad| {
                tracing::warn!(table = %bad.table, reason = %bad.reason, "the recorded definition of a synced table cannot be read; it is recorded anew and the table copied");
                unreadable.push(bad.table.clone());
            })
            .ok()
        })
        .collect();
    let mut plans = Vec::new();
    for spec in &specs {
        let previous = captured.iter().find(|c| c.name == spec.name);
        plans.push(plan::plan_table(central, spec, previous, &config.sync.tables, site).await?);
    }
    // With many sites, db_b's tables are every site's: another site may still sync it.
    for gone in captured
        .iter()
        .filter(|c| !site && !config.sync.tables.contains(&c.name))
    {
        plans.push(plan::drop_foreign_keys(central, &gone.name).await?);
    }
    Ok(Checked {
        specs,
        captured,
        plans,
        unreadable,
    })
}

/// What `check_tables` found: the tables as they are and as last captured, db_b's changes,
/// and the tables whose captured definition did not read.
pub(super) struct Checked {
    pub(super) specs: Vec<TableSpec>,
    pub(super) captured: Vec<TableSpec>,
    pub(super) plans: Plans,
    pub(super) unreadable: Vec<String>,
}
