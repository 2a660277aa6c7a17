//! `dbsync init`: both databases, db_a's own tables, and for every table in `SYNC_TABLES`
//! its capture triggers (generated from `information_schema`) and its copy in db_b —
//! created, or brought in line with an additive change. Safe to run again at any time,
//! also while writers are busy: triggers are replaced in one step, never dropped first.
//!
//! Every table is checked before anything is created or changed, so a bad table name or a
//! change that is not additive stops `init` with nothing done halfway.

use std::time::Duration;

use sqlx::mysql::MySqlConnection;
use sqlx::{ConnectOptions, Connection};

use crate::config::{Config, DbTarget};
use crate::db::catalog::CatalogError;
use crate::db::schema::triggers::{self, Installed};
use crate::db::schema::{self, central};
use crate::db::{self, ConnectError, PoolSettings, Role, load, queue};
use crate::domain::table::TableSpec;
use crate::services::load::cascades_from_unsynced;

mod checks;
mod copies;
mod plan;

#[derive(Debug, Default)]
pub struct InitReport {
    pub tables: Vec<String>,
    /// Tables whose triggers were (re)generated because they are new or changed.
    pub triggers_written: Vec<String>,
    /// DDL run on db_b (tables created, columns added or widened…), in words.
    pub central_changes: Vec<String>,
    /// Tables queued for copying again, with why: a column was added (rows written before
    /// the new triggers may carry values db_b never saw), their key changed, a table they
    /// refer to was copied anew under its new key, or a key that cascades links them to a
    /// table copied anew.
    pub reloads: Vec<(String, String)>,
    /// Unique keys db_b could not take yet, in words: its rows still lack changes queued
    /// before db_a gained the key (two rows hold the same value there for now).
    pub deferred: Vec<String>,
    /// Tables whose changes queued under the old definition no longer read as they meant
    /// (the primary key changed, a column narrowed…), with why and how many were set aside
    /// for the table's copy.
    pub rekeyed: Vec<(String, String, u64)>,
    /// Tables no longer in SYNC_TABLES whose triggers were dropped, with the changes of
    /// each still queued, now parked as FAILED (no run will apply them).
    pub dropped: Vec<(String, u64)>,
    /// Keys of synced tables that cascade or set NULL from a table not synced, in words.
    pub unsynced_cascades: Vec<String>,
    pub seeded: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("SYNC_TABLES: {0}")]
    Table(CatalogError),
    #[error(
        "db_a has a trigger named `{0}` that is not dbsync's, and dbsync's capture trigger needs that name: rename it (or merge it into another trigger), then run `dbsync init` again"
    )]
    TriggerNameTaken(String),
    #[error(
        "SYNC_TABLES: `orders` would be made as the sample table, which refers to `users` (`id` BIGINT), but db_a's `users` is of another shape: create your own `orders` first, or leave it out"
    )]
    SampleClash,
    #[error("db_b cannot follow db_a: {0}")]
    Refused(#[from] central::Refusal),
    #[error(
        "db_b cannot take {said}: {reason}. db_b's copy holds every site's rows, and this would change values there (other sites', or this site's changes not applied yet); nothing of it was done. Keep db_a's column able to hold them, or change db_b's column by hand once no row needs it, then run `dbsync init` again"
    )]
    WouldChangeValues { said: String, reason: String },
    #[error("setting up the {role} database `{database}` failed: {}", schema_failure(.source))]
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
        matches!(
            self,
            InitError::Table(_)
                | InitError::Refused(_)
                | InitError::TriggerNameTaken(_)
                | InitError::SampleClash
                | InitError::WouldChangeValues { .. }
        )
    }
}

const INIT_POOL: PoolSettings = PoolSettings {
    max_connections: 2,
    acquire_timeout: Duration::from_secs(10),
    lock_wait_seconds: None,
};

pub async fn init(config: &Config, seed: bool) -> Result<InitReport, InitError> {
    let central_node = first_central_node(config).await?;
    let samples = checks::check_local_tables(config, seed).await?;
    let made = [(Role::Central, &central_node), (Role::Local, &config.local)];
    let mut made_databases = Vec::new();
    for (role, target) in made {
        if create_database(role, target).await? {
            made_databases.push((role, target));
        }
    }
    let local = db::connect_pool(Role::Local, &config.local, INIT_POOL).await?;
    let central = db::connect_pool(Role::Central, &central_node, INIT_POOL).await?;
    let local_err = |source| schema_error(Role::Local, &config.local, source);
    let central_err = |source| schema_error(Role::Central, &config.central, source);
    // The sample tables the configuration lists are read like the user's own below.
    schema::apply_sample_tables(&local, &samples)
        .await
        .map_err(local_err)?;

    let mut conn = local.acquire().await.map_err(local_err)?;
    let mut central_conn = central.acquire().await.map_err(central_err)?;
    let mut report = InitReport {
        tables: config.sync.tables.clone(),
        ..InitReport::default()
    };
    // Check everything first: a refusal leaves dbsync's own tables uncreated on a first
    // `init`, and nothing of db_b's changed.
    let checked = match checks::check_tables(&mut conn, &mut central_conn, config).await {
        Ok(checked) => checked,
        Err(err) => {
            drop(conn);
            drop(central_conn);
            local.close().await;
            central.close().await;
            undo_made(config, &samples, &made_databases).await;
            return Err(err);
        }
    };
    let checks::Checked {
        specs,
        captured,
        plans,
        unreadable,
    } = checked;
    for table in unreadable
        .into_iter()
        .filter(|t| specs.iter().any(|s| &s.name == t))
    {
        let why = "its recorded definition could not be read: what changed since is not known";
        report.reloads.push((table, why.to_string()));
    }
    schema::apply_central_schema(&central)
        .await
        .map_err(central_err)?;
    schema::apply_local_schema(&local)
        .await
        .map_err(local_err)?;
    let all: Vec<&TableSpec> = specs.iter().collect();
    for (table, key, parent) in cascades_from_unsynced(&all) {
        report.unsynced_cascades.push(format!(
            "`{table}`'s foreign key `{key}` to `{parent}`, which is not synced, cascades or sets NULL: db_a changes `{table}`'s rows when `{parent}`'s rows go or change key, without queuing a change, and db_b, with no `{parent}`, does not follow. Add `{parent}` to SYNC_TABLES, or run `dbsync resync --table {table}` after such changes"
        ));
    }
    let site = config.sync.site_id.is_some();
    plan::run(&mut central_conn, plans, site, &mut report)
        .await
        .map_err(|err| err.or_schema(central_err))?;
    capture_tables(
        &mut conn,
        &specs,
        &captured,
        &config.sync.tables,
        &mut report,
    )
    .await
    .map_err(local_err)?;
    drop(conn);
    drop(central_conn);
    if seed {
        report.seeded = schema::load_sample_data(&local).await.map_err(local_err)?;
    }
    local.close().await;
    central.close().await;
    Ok(report)
}

/// Triggers for tables that are new or changed (or lost theirs), none for tables no longer
/// synced, the captured definitions recorded, and a copy queued for tables that need one
/// (see [`copies`]).
async fn capture_tables(
    conn: &mut MySqlConnection,
    specs: &[TableSpec],
    captured: &[TableSpec],
    synced: &[String],
    report: &mut InitReport,
) -> Result<(), sqlx::Error> {
    // Decided before anything changes: an `init` stopped part way (kill -9) leaves the
    // captured definitions as they were, and the next one decides the same again.
    let mut rewrite = Vec::new();
    let mut rekeyed = Vec::new();
    for spec in specs {
        let previous = captured.iter().find(|c| c.name == spec.name);
        let installed = triggers::installed(conn, spec).await?;
        if previous.is_none_or(|p| p != spec) || installed != Installed::Current {
            rewrite.push(spec);
        }
        let missing = installed == Installed::Missing;
        if let Some(copy) = previous.and_then(|p| copies::copy_needed(p, spec, missing)) {
            if copy.supersedes {
                rekeyed.push((spec.name.clone(), copy.why.clone()));
            }
            report.reloads.push((spec.name.clone(), copy.why));
        }
    }
    let anew: Vec<&str> = rekeyed.iter().map(|(t, _)| t.as_str()).collect();
    let along = copies::taken_along(specs, &anew, &report.reloads);
    report.reloads.extend(along);
    // The copies are queued first: triggers put back before an `init` stopped would look
    // current to the next one, which would then queue no copy of what they missed.
    for (table, _) in &report.reloads {
        let estimate = crate::db::snapshot::estimated_rows(conn, table).await?;
        load::restart_table(conn, table, estimate).await?;
    }
    for misplaced in triggers::misplaced(conn, synced).await? {
        tracing::warn!(trigger = %misplaced, "dropped a capture trigger a table swapped for a copy took along to the old table");
        triggers::drop_trigger(conn, &misplaced).await?;
    }
    for spec in rewrite {
        triggers::install(conn, spec).await?;
        report.triggers_written.push(spec.name.clone());
    }
    for (table, why) in rekeyed {
        // Queued under the old definition, a change names its record or spells a value in
        // a way the new one reads otherwise (under a new key, values that now mean another
        // row: a delete would remove the wrong one): the table's copy replaces them all.
        // The old triggers wrote their last row before the new ones replaced them (under
        // the table's lock); a change of the new ones marked here too is in the copy,
        // which reads db_a after this.
        let note = format!(
            "superseded: {why} (`{table}`); the table's copy after `dbsync init` holds this change"
        );
        let superseded = queue::supersede_table(conn, &table, &note).await?;
        report.rekeyed.push((table, why, superseded));
    }
    for stale in triggers::stale_triggers(conn, synced).await? {
        triggers::drop_trigger(conn, &stale).await?;
    }
    // After the triggers are gone, so nothing of them is queued behind the parking.
    for gone in captured.iter().filter(|c| !synced.contains(&c.name)) {
        let reason = format!(
            "`{}` is no longer in SYNC_TABLES; to sync it again, add it back, run `dbsync init`, \
             `dbsync requeue --all-failed` and `dbsync resync`",
            gone.name
        );
        let parked = queue::park_table(conn, &gone.name, &reason).await?;
        // Its load, if one was under way, is no one's to carry on.
        load::forget_table(conn, &gone.name).await?;
        report.dropped.push((gone.name.clone(), parked));
    }
    schema::record_specs(conn, specs).await?;
    Ok(())
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

/// A connection to `target`'s server, in no database (it may not exist yet).
pub(super) async fn connect_server(
    role: Role,
    target: &DbTarget,
) -> Result<MySqlConnection, InitError> {
    // Bounded like every connect: a server that accepts the TCP connection and then says
    // nothing (frozen, or behind a network dropping packets) would hold `init` for ever.
    let options = db::connect_options(target, false);
    let conn = tokio::time::timeout(db::CONNECT_TIMEOUT, options.connect())
        .await
        .unwrap_or_else(|_| Err(db::error::no_answer_in_time()))
        .map_err(|err| ConnectError::new(role, target, &err))?;
    Ok(conn)
}

/// Whether the database was made now.
async fn create_database(role: Role, target: &DbTarget) -> Result<bool, InitError> {
    let mut conn = connect_server(role, target).await?;
    let made = schema::create_database(&mut conn, &target.database)
        .await
        .map_err(|source| schema_error(role, target, source))?;
    let _ = conn.close().await;
    Ok(made)
}

/// Removes what `init` made before its checks refused — the sample tables, then the
/// databases left empty — so a refused `init` leaves the servers as it found them. Best
/// effort: the refusal is what the operator must read.
async fn undo_made(config: &Config, samples: &[&str], databases: &[(Role, &DbTarget)]) {
    let undo = async {
        if !samples.is_empty() {
            let local = db::connect_pool(Role::Local, &config.local, INIT_POOL).await?;
            schema::drop_sample_tables(&local, samples)
                .await
                .map_err(|source| schema_error(Role::Local, &config.local, source))?;
            local.close().await;
        }
        for (role, target) in databases {
            let mut conn = connect_server(*role, target).await?;
            schema::drop_empty_database(&mut conn, &target.database)
                .await
                .map_err(|source| schema_error(*role, target, source))?;
            let _ = conn.close().await;
        }
        Ok::<_, InitError>(())
    };
    if let Err(err) = undo.await {
        tracing::warn!(error = %err, "removing what the refused init made failed");
    }
}

/// A failed set-up statement, with what to do where another `init` got there first.
fn schema_failure(err: &sqlx::Error) -> String {
    let said = crate::db::error::describe(err);
    match crate::db::error::number(err) {
        Some(number) if crate::db::error::code::DDL_RACES.contains(&number) => format!(
            "{said} (another `dbsync init` changed it at the same time? run `dbsync init` again)"
        ),
        _ => said,
    }
}

pub(super) fn schema_error(role: Role, target: &DbTarget, source: sqlx::Error) -> InitError {
    InitError::Schema {
        role: role.label(),
        database: target.database.clone(),
        source,
    }
}
