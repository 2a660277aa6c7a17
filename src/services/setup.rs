//! `dbsync init`: both databases, db_a's own tables, and for every table in `SYNC_TABLES`
//! its capture triggers (generated from `information_schema`) and its copy in db_b —
//! created, or brought in line with an additive change. Safe to run again at any time,
//! also while writers are busy: triggers are replaced in one step, never dropped first.
//!
//! Every table is checked before anything is created or changed, so a bad table name or a
//! change that is not additive stops `init` with nothing done halfway.

use std::time::Duration;

use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

use crate::config::{Config, DbTarget};
use crate::db::catalog::{self, CatalogError};
use crate::db::schema::{self, central, triggers};
use crate::db::{self, ConnectError, PoolSettings, Role, load};
use crate::domain::table::TableSpec;
use crate::services::sync::tables::differences;

#[derive(Debug, Default)]
pub struct InitReport {
    pub tables: Vec<String>,
    /// Tables whose triggers were (re)generated because they are new or changed.
    pub triggers_written: Vec<String>,
    /// DDL run on db_b (tables created, columns added or widened…), in words.
    pub central_changes: Vec<String>,
    /// Tables queued for copying again (a column was added: rows written before the new
    /// triggers may carry values db_b never saw).
    pub reloads: Vec<String>,
    pub seeded: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("SYNC_TABLES: {0}")]
    Table(CatalogError),
    #[error("db_b cannot follow db_a: {0}")]
    Refused(#[from] central::Refusal),
    #[error("setting up the {role} database `{database}` failed: {source}")]
    Schema {
        role: &'static str,
        database: String,
        source: sqlx::Error,
    },
}

impl InitError {
    /// A problem with what the operator configured or changed (exit 2), rather than with
    /// reaching or using the servers.
    pub fn is_configuration(&self) -> bool {
        matches!(self, InitError::Table(_) | InitError::Refused(_))
    }
}

const INIT_POOL: PoolSettings = PoolSettings {
    max_connections: 2,
    acquire_timeout: Duration::from_secs(10),
};

pub async fn init(config: &Config, seed: bool) -> Result<InitReport, InitError> {
    let central_node = first_central_node(config).await?;
    create_database(Role::Central, &central_node).await?;
    create_database(Role::Local, &config.local).await?;
    let local = db::connect_pool(Role::Local, &config.local, INIT_POOL).await?;
    let central = db::connect_pool(Role::Central, &central_node, INIT_POOL).await?;
    let local_err = |source| schema_error(Role::Local, &config.local, source);
    let central_err = |source| schema_error(Role::Central, &config.central, source);

    schema::apply_central_schema(&central)
        .await
        .map_err(central_err)?;
    schema::apply_local_schema(&local)
        .await
        .map_err(local_err)?;
    let site = config.sync.site_id.is_some();
    let synced = &config.sync.tables;

    // Check everything first: nothing is created halfway.
    let mut conn = local.acquire().await.map_err(local_err)?;
    let mut specs = Vec::new();
    for name in synced {
        specs.push(
            catalog::table_spec(&mut conn, name)
                .await
                .map_err(|err| match err {
                    CatalogError::Database(source) => local_err(source),
                    other => InitError::Table(other),
                })?,
        );
    }
    let captured = schema::captured_specs(&mut conn).await.map_err(local_err)?;
    let mut plans = Vec::new();
    let mut central_conn = central.acquire().await.map_err(central_err)?;
    for spec in &specs {
        let previous = captured.iter().find(|c| c.name == spec.name);
        plans.push(plan_table(&mut central_conn, spec, previous, synced, site).await?);
    }

    let mut report = InitReport {
        tables: synced.clone(),
        ..InitReport::default()
    };
    for (statements, description) in plans {
        for sql in statements {
            central_conn
                .execute(AssertSqlSafe(sql))
                .await
                .map_err(central_err)?;
        }
        report.central_changes.extend(description);
    }
    for spec in &specs {
        let previous = captured.iter().find(|c| c.name == spec.name);
        let stale = previous.is_none_or(|p| p != spec);
        if stale
            || !triggers::installed(&mut conn, &spec.name)
                .await
                .map_err(local_err)?
        {
            triggers::install(&mut conn, spec)
                .await
                .map_err(local_err)?;
            report.triggers_written.push(spec.name.clone());
        }
        if previous.is_some_and(|p| differences(p, spec).iter().any(|d| d.contains("added"))) {
            report.reloads.push(spec.name.clone());
        }
    }
    for stale in triggers::stale_triggers(&mut conn, synced)
        .await
        .map_err(local_err)?
    {
        triggers::drop_trigger(&mut conn, &stale)
            .await
            .map_err(local_err)?;
    }
    schema::record_specs(&mut conn, &specs)
        .await
        .map_err(local_err)?;
    for table in &report.reloads {
        let estimate = crate::db::snapshot::estimated_rows(&mut conn, table)
            .await
            .map_err(local_err)?;
        load::restart_table(&mut conn, table, estimate)
            .await
            .map_err(local_err)?;
    }
    drop(conn);
    drop(central_conn);
    if seed {
        report.seeded = schema::load_sample_data(&local).await.map_err(local_err)?;
    }
    local.close().await;
    central.close().await;
    Ok(report)
}

/// The DDL for db_b's copy of `spec` (and what it does, in words), or why there is none.
async fn plan_table(
    conn: &mut sqlx::MySqlConnection,
    spec: &TableSpec,
    previous: Option<&TableSpec>,
    synced: &[String],
    site: bool,
) -> Result<(Vec<String>, Vec<String>), InitError> {
    let central_err = |source| InitError::Schema {
        role: Role::Central.label(),
        database: String::new(),
        source,
    };
    let columns = central::central_columns(conn, &spec.name)
        .await
        .map_err(central_err)?;
    if columns.is_empty() {
        return Ok((
            vec![central::create_table_sql(spec, synced, site)],
            vec![format!("created table `{}`", spec.name)],
        ));
    }
    let key = central::central_key(conn, &spec.name)
        .await
        .map_err(central_err)?;
    let indexes = central::central_index_names(conn, &spec.name)
        .await
        .map_err(central_err)?;
    let statements = central::plan_changes(spec, previous, &columns, &key, &indexes, site)?;
    let described = statements
        .iter()
        .map(|sql| sql.replacen("ALTER TABLE ", "", 1))
        .collect();
    Ok((statements, described))
}

/// The first db_b node that answers and is ready. Readiness needs a connection to the
/// database itself, which may not exist yet: then the first node that answers at all.
async fn first_central_node(config: &Config) -> Result<DbTarget, InitError> {
    match db::nodes::connect_ready(&config.central, &config.central_nodes).await {
        Ok((conn, node)) => {
            let _ = conn.close().await;
            Ok(node)
        }
        Err(_) => Ok(config.central.clone()),
    }
}

async fn create_database(role: Role, target: &DbTarget) -> Result<(), InitError> {
    let mut conn = db::connect_options(target, false)
        .connect()
        .await
        .map_err(|err| ConnectError::new(role, target, &err))?;
    schema::create_database(&mut conn, &target.database)
        .await
        .map_err(|source| schema_error(role, target, source))?;
    let _ = conn.close().await;
    Ok(())
}

fn schema_error(role: Role, target: &DbTarget, source: sqlx::Error) -> InitError {
    InitError::Schema {
        role: role.label(),
        database: target.database.clone(),
        source,
    }
}
