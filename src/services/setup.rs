//! `dbsync init`: both databases, their tables, the capture triggers and, on request, the
//! sample data. Safe to run again: it only creates what is missing.

use std::time::Duration;

use sqlx::{ConnectOptions, Connection};

use crate::config::{Config, DbTarget};
use crate::db::{self, ConnectError, PoolSettings, schema};

#[derive(Debug)]
pub struct InitReport {
    pub triggers_created: usize,
    pub seeded: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("setting up the {role} database `{database}` failed: {source}")]
    Schema {
        role: &'static str,
        database: String,
        source: sqlx::Error,
    },
}

const INIT_POOL: PoolSettings = PoolSettings {
    max_connections: 2,
    acquire_timeout: Duration::from_secs(10),
};

pub async fn init(config: &Config, seed: bool) -> Result<InitReport, InitError> {
    create_database("central (db_b)", &config.central).await?;
    create_database("local (db_a)", &config.local).await?;

    let central = db::connect_pool("central (db_b)", &config.central, INIT_POOL).await?;
    schema::apply_central_schema(&central)
        .await
        .map_err(|source| schema_error("central (db_b)", &config.central, source))?;
    central.close().await;

    let local = db::connect_pool("local (db_a)", &config.local, INIT_POOL).await?;
    let triggers_created = schema::apply_local_schema(&local)
        .await
        .map_err(|source| schema_error("local (db_a)", &config.local, source))?;
    let seeded = if seed {
        schema::load_sample_data(&local)
            .await
            .map_err(|source| schema_error("local (db_a)", &config.local, source))?
    } else {
        false
    };
    local.close().await;
    Ok(InitReport {
        triggers_created,
        seeded,
    })
}

async fn create_database(role: &'static str, target: &DbTarget) -> Result<(), InitError> {
    let mut conn = db::connect_options(target, false)
        .connect()
        .await
        .map_err(|err| ConnectError::new(role, target, &err))?;
    schema::create_database(&mut conn, target)
        .await
        .map_err(|source| schema_error(role, target, source))?;
    let _ = conn.close().await;
    Ok(())
}

fn schema_error(role: &'static str, target: &DbTarget, source: sqlx::Error) -> InitError {
    InitError::Schema {
        role,
        database: target.database.clone(),
        source,
    }
}
