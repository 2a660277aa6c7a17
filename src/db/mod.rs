//! Database access: connection pools, session settings, and the SQL of each part of the
//! pipeline, one module each.
//!
//! - [`records`]: users and orders on db_a (the REST API's CRUD), on connections
//!   [`kept`] between requests.
//! - [`queue`]: `sync_queue` on db_a (read, mark, park, requeue, purge).
//! - [`runs`]: the run lock and `sync_runs` on db_a; [`identity`]: db_a's token, which
//!   site in db_b it owns.
//! - [`replica`]: db_b's apply statements; [`ledger`]: db_b's per-record ledger and
//!   per-site watermark; [`sites`]: `sync_sites`, each site's last run, on db_b.
//! - [`snapshot`]: a synced table read in key order on either database (the initial load,
//!   `verify`), with [`row_size`]; [`load`]: the initial load's progress on both.
//! - [`packet`]: how much one statement to db_b may carry; [`nodes`]: the Galera node a
//!   run works through.
//! - [`catalog`]: table definitions from `information_schema`; [`image`]: the SQL that
//!   writes and reads row images; [`schema`]: creating tables, triggers and migrations.
//! - [`error`]: MySQL error numbers by name and their [`error::Kind`].

pub mod catalog;
pub mod error;
pub mod identity;
pub mod image;
pub mod kept;
pub mod ledger;
pub mod load;
pub mod nodes;
pub mod packet;
pub mod queue;
pub mod records;
pub mod replica;
pub mod row_size;
pub mod runs;
pub mod schema;
pub mod sites;
pub mod snapshot;

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{ConnectOptions, Connection};

use crate::config::DbTarget;

/// Strict, so a bad value is an error instead of a silent truncation — but without
/// NO_ZERO_DATE / NO_ZERO_IN_DATE: legacy rows hold zero and partial dates, and db_b must
/// take exactly what db_a has. READ COMMITTED keeps the engine's reads and writes free of
/// gap locks that would hold up writers. sqlx sets `time_zone = '+00:00'` on both pools,
/// so DATETIME values and TIMESTAMP conversions read and write the same on both sides.
const SESSION_SETUP: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'; \
     SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

/// db_b sessions take what db_a stores: legacy writers under a permissive `sql_mode` store
/// zero and invalid dates and the ENUM error value, and db_b must hold exactly that, so its
/// sessions are not strict (values are checked against their column before they are sent,
/// and the clash guard does not rely on strict mode; see `replica`). `NO_AUTO_VALUE_ON_ZERO`
/// keeps a key of 0 a 0. They wait at most a second for a row lock — a row someone else
/// holds in db_b must delay only its own record's change (the engine holds that record
/// back) — and ten seconds for a table lock.
const CENTRAL_SESSION_SETUP: &str = "SET SESSION sql_mode = 'ALLOW_INVALID_DATES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', \
     SESSION innodb_lock_wait_timeout = 1, SESSION lock_wait_timeout = 10";

/// The row lock wait `CENTRAL_SESSION_SETUP` sets, in seconds (a run lowers it while it
/// looks for the rows locked in a batch, and sets it back).
pub const CENTRAL_LOCK_WAIT_SECONDS: u32 = 1;
/// The table lock wait `CENTRAL_SESSION_SETUP` sets, in seconds (lowered with the row's).
pub const CENTRAL_TABLE_LOCK_WAIT_SECONDS: u32 = 10;

/// Which database a connection is for, and the settings that name it (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Local,
    Central,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Local => "local (db_a)",
            Role::Central => "central (db_b)",
        }
    }

    fn settings(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Role::Local => ("DB_HOST/DB_PORT", "DB_USER/DB_PASSWORD", "DB_OFFLINE_DB"),
            Role::Central => (
                "DB_CENTRAL_HOST/DB_CENTRAL_PORT",
                "DB_CENTRAL_USER/DB_CENTRAL_PASSWORD",
                "DB_CENTRAL_DB",
            ),
        }
    }
}

/// A connection problem told in terms an operator can act on: what failed, and what to
/// check or run next. Never shows the password.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the {} database `{database}` at {host}:{port} as {user}: {reason}", role.label())]
pub struct ConnectError {
    pub role: Role,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub reason: String,
}

impl ConnectError {
    pub fn new(role: Role, target: &DbTarget, err: &sqlx::Error) -> Self {
        ConnectError {
            role,
            host: target.host.clone(),
            port: target.port,
            user: target.user.clone(),
            database: target.database.clone(),
            reason: connect_reason(role, target, err),
        }
    }
}

fn connect_reason(role: Role, target: &DbTarget, err: &sqlx::Error) -> String {
    use error::code;
    let (address, login, database) = role.settings();
    match err {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                format!("connection refused — is the server running, and is {address} right?")
            }
            std::io::ErrorKind::TimedOut => {
                format!("no answer in time — check {address} and the network or firewall")
            }
            _ if io.to_string().contains("failed to lookup address")
                || io.to_string().contains("Name or service not known") =>
            {
                format!("unknown host {:?} — check {address}", target.host)
            }
            _ => format!("{io} — check {address}"),
        },
        sqlx::Error::Database(db) => match error::number(err) {
            Some(code::BAD_DB) => format!(
                "database `{}` does not exist — run `dbsync init` to create it (or fix {database})",
                target.database
            ),
            Some(code::ACCESS_DENIED | code::DB_ACCESS_DENIED) => {
                format!("access denied — check {login}")
            }
            _ => db.message().to_string(),
        },
        sqlx::Error::PoolTimedOut => {
            format!("no answer in time — check {address} and the network or firewall")
        }
        sqlx::Error::Tls(_) => "TLS negotiation failed".to_string(),
        other => other.to_string(),
    }
}

/// How long a connection attempt may take before it counts as no answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Options for `target`; `with_database = false` connects to the server only (for
/// `CREATE DATABASE`).
pub fn connect_options(target: &DbTarget, with_database: bool) -> MySqlConnectOptions {
    let mut options = MySqlConnectOptions::new()
        .host(&target.host)
        .port(target.port)
        .username(&target.user)
        .charset("utf8mb4")
        // The engine logs its own timings; sqlx's "slow statement" warning would print
        // whole multi-row statements on an operator's terminal.
        .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(10));
    // An empty password must be sent as none at all, or the server sees "using password: YES".
    let password = target.password.expose_secret();
    if !password.is_empty() {
        options = options.password(password);
    }
    if with_database {
        options.database(&target.database)
    } else {
        options
    }
}

/// How a pool is sized, how long it waits for a connection, and how long its sessions wait
/// for a lock.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Seconds a session waits for a row or a table another session holds locked, after
    /// which the server ends the statement (and nothing of it stays); `None`: the server's.
    pub lock_wait_seconds: Option<u32>,
}

/// One connection with dbsync's session settings, outside any pool: it closes (and its
/// session locks go) when dropped.
pub async fn connect_one(
    role: Role,
    target: &DbTarget,
) -> Result<sqlx::MySqlConnection, ConnectError> {
    let attempt = async {
        let mut conn = connect_options(target, true).connect().await?;
        sqlx::raw_sql(SESSION_SETUP).execute(&mut conn).await?;
        if role == Role::Central {
            sqlx::raw_sql(CENTRAL_SESSION_SETUP)
                .execute(&mut conn)
                .await?;
        }
        Ok::<_, sqlx::Error>(conn)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result.map_err(|err| ConnectError::new(role, target, &err)),
        Err(_) => Err(ConnectError::new(role, target, &sqlx::Error::PoolTimedOut)),
    }
}

/// Opens a pool on `target` after one direct connection proves it answers, so a refused
/// port or a wrong password is reported at once, in its own words.
pub async fn connect_pool(
    role: Role,
    target: &DbTarget,
    settings: PoolSettings,
) -> Result<MySqlPool, ConnectError> {
    let probe = connect_one(role, target).await?;
    let _ = probe.close().await;
    Ok(lazy_pool(role, target, settings))
}

/// A pool that connects on first use: the service starts while db_b is away.
pub fn lazy_pool(role: Role, target: &DbTarget, settings: PoolSettings) -> MySqlPool {
    pool_options(role, settings).connect_lazy_with(connect_options(target, true))
}

/// How long a pooled connection may sit idle before it is pinged when handed out.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

fn pool_options(role: Role, settings: PoolSettings) -> MySqlPoolOptions {
    MySqlPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        // sqlx pings every connection it hands out: one more round trip per API request.
        // A connection used within the last second is as alive as a ping would say; one idle
        // longer (the server may have restarted meanwhile) is pinged, and replaced if dead.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < PING_WHEN_IDLE_FOR {
                    return Ok(true);
                }
                Ok(conn.ping().await.is_ok())
            })
        })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                sqlx::raw_sql(SESSION_SETUP).execute(&mut *conn).await?;
                if role == Role::Central {
                    sqlx::raw_sql(CENTRAL_SESSION_SETUP)
                        .execute(&mut *conn)
                        .await?;
                    nodes::read_causally(conn).await?;
                }
                if let Some(seconds) = settings.lock_wait_seconds {
                    set_lock_waits(conn, seconds, seconds).await?;
                }
                Ok(())
            })
        })
}

/// How long this session waits for a row lock and for a table's (`LOCK TABLES`, an
/// `ALTER`) before the server ends the statement; 0 fails at once.
pub async fn set_lock_waits(
    conn: &mut sqlx::MySqlConnection,
    row_seconds: u32,
    table_seconds: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query("SET SESSION innodb_lock_wait_timeout = ?, SESSION lock_wait_timeout = ?")
        .bind(row_seconds)
        .bind(table_seconds)
        .execute(conn)
        .await?;
    Ok(())
}

/// Quotes an identifier read from `information_schema` (or a checked configuration value)
/// for SQL: backticks, with any backtick doubled.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal for generated DDL, trigger bodies and names dbsync checked (a table, a
/// site); never for data: data is bound.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lock_wait_constants_are_the_ones_db_b_sessions_get() {
        let row = format!(
            "innodb_lock_wait_timeout = {},",
            super::CENTRAL_LOCK_WAIT_SECONDS
        );
        let table = format!(
            "SESSION lock_wait_timeout = {}",
            super::CENTRAL_TABLE_LOCK_WAIT_SECONDS
        );
        assert!(super::CENTRAL_SESSION_SETUP.contains(&row));
        assert!(super::CENTRAL_SESSION_SETUP.contains(&table));
    }
}
