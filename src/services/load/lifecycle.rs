//! Starting a load, starting it again when db_b lost what it copied, and whether one is
//! due: db_a's `sync_load` beside db_b's `sync_load_marks`.

use sqlx::mysql::MySqlConnection;

use crate::db::{load, snapshot};
use crate::services::sync::tables::Tables;

/// Starts a new load of every synced table, forgetting an earlier one; or, with `only`
/// naming some of them, a new load of those, leaving the other tables' progress as it is.
pub async fn start(
    local: &mut MySqlConnection,
    pool: &sqlx::MySqlPool,
    tables: &Tables,
    only: &[String],
) -> Result<(), sqlx::Error> {
    let mut estimates = Vec::new();
    for spec in tables.iter().filter(|spec| copies(only, &spec.name)) {
        estimates.push((
            spec.name.clone(),
            snapshot::estimated_rows(local, &spec.name).await?,
        ));
    }
    if only.is_empty() {
        return load::reset(pool, &estimates).await;
    }
    for (table, estimate) in &estimates {
        load::restart_table(local, table, *estimate).await?;
    }
    Ok(())
}

/// Whether a load of `only` (every synced table when it is empty) copies `table`.
pub fn copies(only: &[String], table: &str) -> bool {
    only.is_empty() || only.iter().any(|t| t == table)
}

/// Starts the load again, every synced table from its first row, when db_b no longer
/// holds a copy db_a's `sync_load` says was made: the table's mark in db_b (`central`, read
/// by the caller) is missing, names another copy or counts fewer chunks — db_b was
/// restored from an older backup or recreated. Then changes applied since that backup are
/// gone too, in any table, so every table is copied again. Returns the tables whose copy
/// was lost (empty when none was).
pub async fn restart_lost_copies(
    local: &mut MySqlConnection,
    central: &[load::CentralMark],
    tables: &Tables,
) -> Result<Vec<String>, sqlx::Error> {
    let mut lost = Vec::new();
    for state in load::states(local).await? {
        // A copy made by an earlier version has no token: nothing to check it by.
        let Some(token) = state.token.as_deref() else {
            continue;
        };
        if state.chunks == 0 || tables.find(&state.table_name).is_none() {
            continue;
        }
        let intact = central
            .iter()
            .find(|mark| mark.table_name == state.table_name)
            .is_some_and(|mark| mark.token == token && mark.chunks >= state.chunks);
        if !intact {
            lost.push(state.table_name);
        }
    }
    if !lost.is_empty() {
        for spec in tables.iter() {
            let estimate = snapshot::estimated_rows(local, &spec.name).await?;
            load::restart_table(local, &spec.name, estimate).await?;
        }
    }
    Ok(lost)
}

/// True while a load has tables left to copy.
pub async fn unfinished(local: &mut MySqlConnection) -> Result<bool, sqlx::Error> {
    Ok(load::states(local)
        .await?
        .iter()
        .any(|s| s.finished_at.is_none()))
}
