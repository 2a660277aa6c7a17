//! Many sites, one central: moving a single-site deployment under a `SITE_ID`
//! (`dbsync migrate-site`), and head office's view of every site (`dbsync sites`).

use sqlx::mysql::MySqlPool;
use sqlx::{AssertSqlSafe, Executor};

use crate::config::Config;
use crate::db::catalog;
use crate::db::schema::{self, central};
use crate::db::{ConnectError, identity, queue};

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("db_a: {}", crate::db::error::describe(.0))]
    Local(sqlx::Error),
    #[error("db_b: {} (the tables changed so far stay changed; fix the cause and run migrate-site again)", crate::db::error::describe(.0))]
    Central(sqlx::Error),
}

/// Tables moved under the site, in order.
#[derive(Debug, Default)]
pub struct MigrationReport {
    pub site_id: String,
    pub tables: Vec<String>,
}

/// Moves db_b's copies of the synced tables (and this site's ledger and watermark) from
/// the single-site layout to `SITE_ID`'s: `site_id` first in every key, existing rows
/// tagged with this site. Needs a drained queue (nothing PENDING): the moved rows must be
/// exactly this site's. Tables already moved are left alone, so it can run again.
pub async fn migrate(
    local: &MySqlPool,
    central_pool: &MySqlPool,
    config: &Config,
) -> Result<MigrationReport, MigrationError> {
    let site_id = config.sync.site_id.clone().ok_or_else(|| {
        MigrationError::Refused("set SITE_ID first (the id this site will have in db_b)".into())
    })?;
    let mut conn = local.acquire().await.map_err(MigrationError::Local)?;
    let specs: Vec<_> = schema::captured_specs(&mut conn)
        .await
        .map_err(MigrationError::Local)?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|unreadable| {
            MigrationError::Refused(format!("{unreadable}; run `dbsync init` first"))
        })?
        .into_iter()
        .filter(|s| config.sync.tables.contains(&s.name))
        .collect();
    let mut central_conn = central_pool
        .acquire()
        .await
        .map_err(MigrationError::Central)?;
    // The rows to move are the single site's: only the db_a that writes it may move them.
    let token = identity::token(&mut conn)
        .await
        .map_err(MigrationError::Local)?;
    let owner = identity::owner(&mut central_conn, "")
        .await
        .map_err(MigrationError::Central)?;
    if owner.is_some_and(|owner| owner != token) {
        return Err(MigrationError::Refused(identity::refusal("")));
    }
    // db_b's copy needs `site_id` for itself (a table that has one of its own would pass
    // below as already moved), and never NULL.
    catalog::check_site_layout(&specs)
        .map_err(|taken| MigrationError::Refused(taken.to_string()))?;
    let mut plans = Vec::new();
    for spec in &specs {
        let columns = central::central_columns(&mut central_conn, &spec.name)
            .await
            .map_err(MigrationError::Central)?;
        if columns.is_empty() || columns.iter().any(|c| c.name == central::SITE_COLUMN) {
            continue;
        }
        let fks: Vec<String> = central::central_foreign_keys(&mut central_conn, &spec.name)
            .await
            .map_err(MigrationError::Central)?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        plans.push((
            spec.name.clone(),
            central::site_migration_sql(spec, &config.sync.tables, &fks, &site_id),
        ));
    }
    // Checked once the tables to move are known: a site already moved has nothing to do,
    // and its pending changes are for `dbsync sync` under its SITE_ID.
    let pending = queue::pending_count(&mut conn)
        .await
        .map_err(MigrationError::Local)?;
    if pending > 0 && !plans.is_empty() {
        return Err(MigrationError::Refused(format!(
            "{pending} change(s) are still PENDING: run `dbsync sync` (without SITE_ID) until none is, then migrate"
        )));
    }
    let stages = [
        plans
            .iter()
            .flat_map(|(_, (drops, _, _))| drops)
            .collect::<Vec<_>>(),
        plans
            .iter()
            .flat_map(|(_, (_, rekeys, _))| rekeys)
            .collect(),
        plans.iter().flat_map(|(_, (_, _, adds))| adds).collect(),
    ];
    for sql in stages.into_iter().flatten() {
        central_conn
            .execute(AssertSqlSafe(sql.clone()))
            .await
            .map_err(MigrationError::Central)?;
    }
    for sql in [
        "UPDATE sync_ledger SET site_id = ? WHERE site_id = ''",
        "UPDATE IGNORE sync_watermark SET site_id = ? WHERE site_id = ''",
        "UPDATE IGNORE sync_load_marks SET site_id = ? WHERE site_id = ''",
    ] {
        sqlx::query(sql)
            .bind(&site_id)
            .execute(&mut *central_conn)
            .await
            .map_err(MigrationError::Central)?;
    }
    tracing::info!(site = %site_id, tables = plans.len(), "db_b's rows moved under the site");
    Ok(MigrationReport {
        site_id,
        tables: plans.into_iter().map(|(name, _)| name).collect(),
    })
}

pub use crate::db::sites::SiteRow;

/// Every site's line in db_b's `sync_sites`.
pub async fn sites(central_pool: &MySqlPool) -> Result<Vec<SiteRow>, sqlx::Error> {
    crate::db::sites::all(central_pool).await
}
