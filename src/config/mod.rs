//! Configuration: the environment (and `.env`, see [`env_file`]) turned into one typed
//! [`Config`]. Every value is checked; a problem is a [`ConfigError`] that names the
//! variable and the forms it accepts.

pub mod env_file;
mod values;

use std::net::IpAddr;
use std::time::Duration;

use secrecy::SecretString;

pub use values::{is_plain_identifier, parse_duration};

/// Where one database lives. The password is a [`SecretString`]: `Debug` never shows it.
#[derive(Debug, Clone)]
pub struct DbTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: SecretString,
    pub database: String,
}

/// How the sync engine behaves.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Six-field cron expression (with seconds) for the scheduled run.
    pub cron: String,
    /// Queue changes read and applied per db_b transaction.
    pub batch_size: u32,
    /// Failed attempts after which a change is parked as FAILED.
    pub max_retries: u32,
    /// First retry delay; doubles with every further failure, capped at one hour.
    pub retry_backoff: Duration,
    /// SYNCED queue rows older than this are purged; zero keeps them forever.
    pub retention: Duration,
    /// A run whose work does not move on for this long (db_b silent) is cut off.
    pub stall_timeout: Duration,
    /// The tables of db_a that are captured and replayed.
    pub tables: Vec<String>,
    /// This site's id in a central shared by many sites; `None` for a single site.
    pub site_id: Option<String>,
}

/// The bearer token the API asks for; `Debug` never shows it.
#[derive(Debug, Clone)]
pub struct ApiToken(pub SecretString);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind_addr: IpAddr,
    pub port: u16,
    /// When set, every request but /health, /metrics and the status page's HTML needs
    /// `Authorization: Bearer <token>`.
    pub api_token: Option<ApiToken>,
    pub local: DbTarget,
    /// db_b on its first node (the others are in `central_nodes`).
    pub central: DbTarget,
    /// Every db_b node, in the order runs try them: `DB_CENTRAL_HOST` may list a Galera
    /// cluster's nodes (`h1:3306,h2:3306,h3:3306`); one entry for a single server.
    pub central_nodes: Vec<(String, u16)>,
    pub is_online: bool,
    pub sync: SyncSettings,
    pub log_format: LogFormat,
    /// `RUST_LOG`, checked.
    pub log_filter: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("configuration: {name} is not set{hint}")]
    Missing { name: &'static str, hint: String },
    #[error("configuration: {name}={value:?} is invalid: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: String,
    },
}

pub const DEFAULT_SYNC_CRON: &str = "0 */2 * * * *";
/// Changes per db_b transaction. Measured on 2 cores: 2 000 drained 100 000 changes about
/// a sixth faster than 500 (fewer statements and commits on both databases) and as fast as
/// 3 000–4 000, for about 2.5 MiB more memory.
pub const DEFAULT_BATCH_SIZE: u32 = 2000;
pub const DEFAULT_TABLES: &str = "users,orders";
pub const DEFAULT_LOG_FILTER: &str = "info,tokio_cron_scheduler=warn";

/// Every variable dbsync reads (for "did you mean" hints).
pub const KNOWN_VARIABLES: &[&str] = &[
    "PORT",
    "BIND_ADDR",
    "API_TOKEN",
    "DB_HOST",
    "DB_PORT",
    "DB_USER",
    "DB_PASSWORD",
    "DB_OFFLINE_DB",
    "DB_CENTRAL_DB",
    "DB_CENTRAL_HOST",
    "DB_CENTRAL_PORT",
    "DB_CENTRAL_USER",
    "DB_CENTRAL_PASSWORD",
    "IS_ONLINE",
    "SYNC_CRON",
    "SYNC_BATCH_SIZE",
    "SYNC_MAX_RETRIES",
    "SYNC_RETRY_BACKOFF",
    "SYNC_RETENTION",
    "SYNC_TABLES",
    "SITE_ID",
    "RUST_LOG",
    "LOG_FORMAT",
];

impl Config {
    /// Reads the process environment; `missing_hint` is added to "is not set" messages
    /// (where `.env` was looked for).
    pub fn from_env(missing_hint: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok(), missing_hint)
    }

    /// Reads configuration through `lookup`, so tests can supply a map instead of the
    /// process environment. Empty values count as unset.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        missing_hint: &str,
    ) -> Result<Self, ConfigError> {
        let vars = values::Vars::new(&lookup, missing_hint);
        let port_rule = "a TCP port number (1-65535)";
        let local = DbTarget {
            host: vars.required("DB_HOST")?,
            port: vars.parsed("DB_PORT", 3306, port_rule, values::port)?,
            user: vars.required("DB_USER")?,
            password: SecretString::from(vars.raw("DB_PASSWORD").unwrap_or_default()),
            database: vars.database_name("DB_OFFLINE_DB")?,
        };
        let central_port = vars.parsed("DB_CENTRAL_PORT", local.port, port_rule, values::port)?;
        let central_nodes = match vars.raw("DB_CENTRAL_HOST") {
            None => vec![(local.host.clone(), central_port)],
            Some(list) => values::node_list(&list, central_port).ok_or(ConfigError::Invalid {
                name: "DB_CENTRAL_HOST",
                value: list,
                expected: "a host, or comma-separated host:port entries such as h1:3306,h2:3306"
                    .into(),
            })?,
        };
        let central = DbTarget {
            host: central_nodes[0].0.clone(),
            port: central_nodes[0].1,
            user: vars
                .raw("DB_CENTRAL_USER")
                .unwrap_or_else(|| local.user.clone()),
            password: vars
                .raw("DB_CENTRAL_PASSWORD")
                .map(SecretString::from)
                .unwrap_or_else(|| local.password.clone()),
            database: vars.database_name("DB_CENTRAL_DB")?,
        };
        if central.host == local.host
            && central.port == local.port
            && central.database == local.database
        {
            return Err(ConfigError::Invalid {
                name: "DB_CENTRAL_DB",
                value: central.database,
                expected: "a database other than DB_OFFLINE_DB on the same server".into(),
            });
        }
        let is_online = match vars.raw("IS_ONLINE") {
            None => return Err(vars.missing("IS_ONLINE")),
            Some(v) => values::boolean(&v).ok_or(ConfigError::Invalid {
                name: "IS_ONLINE",
                value: v,
                expected: "true or false".into(),
            })?,
        };
        Ok(Config {
            bind_addr: vars.parsed("BIND_ADDR", IpAddr::from([127, 0, 0, 1]), "an IP address such as 127.0.0.1 or 0.0.0.0", |v| v.parse().ok())?,
            port: vars.parsed("PORT", 3000, "a TCP port number (0-65535; 0 picks a free one)", |v| v.parse().ok())?,
            api_token: vars.raw("API_TOKEN").map(|t| ApiToken(SecretString::from(t))),
            local,
            central,
            central_nodes,
            is_online,
            sync: sync_settings(&vars)?,
            log_format: vars.parsed("LOG_FORMAT", LogFormat::Pretty, "pretty or json", |v| match v {
                "pretty" => Some(LogFormat::Pretty),
                "json" => Some(LogFormat::Json),
                _ => None,
            })?,
            log_filter: vars.parsed(
                "RUST_LOG",
                DEFAULT_LOG_FILTER.to_string(),
                "a level (error, warn, info, debug, trace, off) or target=level pairs, e.g. info,dbsync=debug",
                values::log_filter,
            )?,
        })
    }
}

fn sync_settings(vars: &values::Vars<'_>) -> Result<SyncSettings, ConfigError> {
    Ok(SyncSettings {
        cron: vars.parsed("SYNC_CRON", DEFAULT_SYNC_CRON.to_string(), values::CRON_RULE, values::cron)
            .map_err(values::cron_hint)?,
        batch_size: vars.parsed("SYNC_BATCH_SIZE", DEFAULT_BATCH_SIZE, "a whole number from 1 to 10000", |v| {
            v.parse::<u32>().ok().filter(|n| (1..=10_000).contains(n))
        })?,
        max_retries: vars.parsed("SYNC_MAX_RETRIES", 5, "a whole number from 1 to 1000", |v| {
            v.parse::<u32>().ok().filter(|n| (1..=1000).contains(n))
        })?,
        retry_backoff: vars.parsed(
            "SYNC_RETRY_BACKOFF",
            Duration::from_secs(30),
            "a duration from 0 to 1h such as 30s or 5m (0 retries at the next run)",
            |v| parse_duration(v).filter(|d| *d <= Duration::from_secs(3600)),
        )?,
        retention: vars.parsed(
            "SYNC_RETENTION",
            Duration::from_secs(7 * 24 * 3600),
            "0 (keep SYNCED rows forever) or a duration from 1m to 3650d such as 7d or 12h",
            |v| {
                parse_duration(v).filter(|d| {
                    d.is_zero() || (Duration::from_secs(60)..=Duration::from_secs(3650 * 86_400)).contains(d)
                })
            },
        )?,
        stall_timeout: vars.parsed(
            "SYNC_STALL_TIMEOUT",
            Duration::from_secs(300),
            // Above db_b's own waits (a row lock 1 s, a table lock 10 s): a db_b that answers
            // late with an error is not a silent one.
            "a duration from 15s to 1h such as 5m",
            |v| {
                parse_duration(v)
                    .filter(|d| (Duration::from_secs(15)..=Duration::from_secs(3600)).contains(d))
            },
        )?,
        tables: vars.parsed(
            "SYNC_TABLES",
            values::table_list(DEFAULT_TABLES).unwrap_or_default(),
            &format!(
                "comma-separated table names (letters, digits, _ or $; each at most 64; none of dbsync's own: {}), e.g. users,orders",
                values::OWN_TABLES.join(", ")
            ),
            values::table_list,
        )?,
        site_id: match vars.raw("SITE_ID") {
            None => None,
            Some(v) => Some(values::site_id(&v).ok_or(ConfigError::Invalid {
                name: "SITE_ID",
                value: v,
                expected: "1-32 letters, digits, - or _".into(),
            })?),
        },
    })
}

#[cfg(test)]
mod tests;
