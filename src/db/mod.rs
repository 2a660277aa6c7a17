//! Database access: connection pools and the SQL, one module per database.
//!
//! - [`local`]: db_a — users, orders, the sync queue and the run log.
//! - [`central`]: db_b — the apply statements and the per-record ledger.
//! - [`schema`]: creating both databases, their tables and the capture triggers.

pub mod central;
pub mod local;
pub mod schema;

use std::time::Duration;

use sqlx::Executor;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};

use crate::config::DbTarget;

/// Every session runs in strict mode, so bad data is an error instead of a silent truncation,
/// and in UTC (sqlx's default), so both pools read and write `updated_at` the same way.
const SESSION_SQL_MODE: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";

/// A connection problem, told in terms an operator can act on (host, port, user, cause),
/// never with the password or a stack of driver internals.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the {role} database `{database}` at {host}:{port} as {user}: {cause}")]
pub struct ConnectError {
    pub role: &'static str,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub cause: String,
}

impl ConnectError {
    pub fn new(role: &'static str, target: &DbTarget, err: &sqlx::Error) -> Self {
        ConnectError {
            role,
            host: target.host.clone(),
            port: target.port,
            user: target.user.clone(),
            database: target.database.clone(),
            cause: describe_connect_error(err),
        }
    }
}

fn describe_connect_error(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::PoolTimedOut => "no answer in time".to_string(),
        sqlx::Error::Tls(_) => "TLS negotiation failed".to_string(),
        other => other.to_string(),
    }
}

/// Options for `target`; `with_database = false` connects to the server only (for
/// `CREATE DATABASE`).
pub fn connect_options(target: &DbTarget, with_database: bool) -> MySqlConnectOptions {
    let mut options = MySqlConnectOptions::new()
        .host(&target.host)
        .port(target.port)
        .username(&target.user)
        .charset("utf8mb4");
    // An empty password must be sent as none at all, or the server sees "using password: YES".
    if !target.password.is_empty() {
        options = options.password(&target.password);
    }
    if with_database {
        options.database(&target.database)
    } else {
        options
    }
}

/// How a pool is sized and how long it waits for a connection.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

/// Opens a pool on `target` and checks that it answers.
pub async fn connect_pool(
    role: &'static str,
    target: &DbTarget,
    settings: PoolSettings,
) -> Result<MySqlPool, ConnectError> {
    pool_options(settings)
        .connect_with(connect_options(target, true))
        .await
        .map_err(|err| ConnectError::new(role, target, &err))
}

/// A pool that connects on first use: the service starts while db_b is away.
pub fn lazy_pool(target: &DbTarget, settings: PoolSettings) -> MySqlPool {
    pool_options(settings).connect_lazy_with(connect_options(target, true))
}

fn pool_options(settings: PoolSettings) -> MySqlPoolOptions {
    MySqlPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(SESSION_SQL_MODE).await?;
                Ok(())
            })
        })
}

/// True when the error means the connection itself is gone or unusable (as opposed to the
/// server rejecting one statement): the work in hand should stop and be retried later.
pub fn is_connection_error(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => matches!(
            mysql_error_number(db.as_ref()),
            // server shutdown, gone away, lost, read-only, killed
            Some(1053 | 2006 | 2013 | 1290 | 1317 | 1927)
        ),
        _ => false,
    }
}

/// True for errors that a retry of the same statement may not hit again
/// (deadlock, lock wait timeout).
pub fn is_transient_error(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            matches!(mysql_error_number(db.as_ref()), Some(1205 | 1213))
        }
        _ => false,
    }
}

pub fn mysql_error_number(err: &dyn sqlx::error::DatabaseError) -> Option<u16> {
    err.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .map(|e| e.number())
}
