//! Configuration: the environment (and `.env`, read by `main` with dotenvy) turned into one
//! typed [`Config`]. Every problem is a [`ConfigError`] that names the variable.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// Where one database lives. `Debug` hides the password so a config dump never leaks it.
#[derive(Clone)]
pub struct DbTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .field("database", &self.database)
            .finish()
    }
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
}

/// The bearer token the API asks for; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(pub String);

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<hidden>)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind_addr: IpAddr,
    pub port: u16,
    /// When set, every request but /health, /metrics and the status page's HTML needs
    /// `Authorization: Bearer <token>`.
    pub api_token: Option<ApiToken>,
    pub local: DbTarget,
    pub central: DbTarget,
    pub is_online: bool,
    pub sync: SyncSettings,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("configuration: {0} is not set (see .env.example)")]
    Missing(&'static str),
    #[error("configuration: {name}={value:?} is invalid: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

pub const DEFAULT_SYNC_CRON: &str = "0 */2 * * * *";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can supply a map instead of the
    /// process environment. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let local = DbTarget {
            host: vars.required("DB_HOST")?,
            port: vars.parsed("DB_PORT", 3306, "a TCP port number (1-65535)", |v| {
                v.parse::<u16>().ok().filter(|p| *p > 0)
            })?,
            user: vars.required("DB_USER")?,
            password: vars.raw("DB_PASSWORD").unwrap_or_default(),
            database: vars.database_name("DB_OFFLINE_DB")?,
        };
        let central = DbTarget {
            host: vars
                .raw("DB_CENTRAL_HOST")
                .unwrap_or_else(|| local.host.clone()),
            port: vars.parsed(
                "DB_CENTRAL_PORT",
                local.port,
                "a TCP port number (1-65535)",
                |v| v.parse::<u16>().ok().filter(|p| *p > 0),
            )?,
            user: vars
                .raw("DB_CENTRAL_USER")
                .unwrap_or_else(|| local.user.clone()),
            password: vars
                .raw("DB_CENTRAL_PASSWORD")
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
                expected: "a database other than DB_OFFLINE_DB on the same server",
            });
        }
        let is_online = match vars.raw("IS_ONLINE") {
            None => return Err(ConfigError::Missing("IS_ONLINE")),
            Some(v) => parse_bool(&v).ok_or(ConfigError::Invalid {
                name: "IS_ONLINE",
                value: v,
                expected: "true or false",
            })?,
        };
        let sync = SyncSettings {
            cron: vars
                .raw("SYNC_CRON")
                .unwrap_or_else(|| DEFAULT_SYNC_CRON.to_string()),
            batch_size: vars.parsed(
                "SYNC_BATCH_SIZE",
                500,
                "a whole number from 1 to 10000",
                |v| v.parse::<u32>().ok().filter(|n| (1..=10_000).contains(n)),
            )?,
            max_retries: vars.parsed(
                "SYNC_MAX_RETRIES",
                5,
                "a whole number from 1 to 1000",
                |v| v.parse::<u32>().ok().filter(|n| (1..=1000).contains(n)),
            )?,
            retry_backoff: vars.parsed(
                "SYNC_RETRY_BACKOFF",
                Duration::from_secs(30),
                "a duration such as 30s, 5m, 1h (0 retries at the next run)",
                parse_duration,
            )?,
            retention: vars.parsed(
                "SYNC_RETENTION",
                Duration::from_secs(7 * 24 * 3600),
                "a duration such as 7d, 12h, 30m (0 keeps SYNCED rows forever)",
                parse_duration,
            )?,
        };
        Ok(Config {
            bind_addr: vars.parsed(
                "BIND_ADDR",
                IpAddr::from([127, 0, 0, 1]),
                "an IP address",
                |v| v.parse().ok(),
            )?,
            port: vars.parsed("PORT", 3000, "a TCP port number (0-65535)", |v| {
                v.parse().ok()
            })?,
            api_token: vars.raw("API_TOKEN").map(ApiToken),
            local,
            central,
            is_online,
            sync,
        })
    }
}

struct Vars<'a, L: Fn(&str) -> Option<String>>(&'a L);

impl<L: Fn(&str) -> Option<String>> Vars<'_, L> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.raw(name).ok_or(ConfigError::Missing(name))
    }

    fn parsed<T>(
        &self,
        name: &'static str,
        default: T,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ConfigError> {
        match self.raw(name) {
            None => Ok(default),
            Some(value) => parse(&value).ok_or(ConfigError::Invalid {
                name,
                value,
                expected,
            }),
        }
    }

    /// Database names are pasted into `CREATE DATABASE`, so only plain identifiers pass.
    fn database_name(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.required(name)?;
        if is_plain_identifier(&value) {
            Ok(value)
        } else {
            Err(ConfigError::Invalid {
                name,
                value,
                expected: "1-64 letters, digits or underscores",
            })
        }
    }
}

pub fn is_plain_identifier(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `90`, `90s`, `15m`, `12h`, `7d`.
pub fn parse_duration(value: &str) -> Option<Duration> {
    let (digits, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => value.split_at(at),
        None => (value, "s"),
    };
    let amount: u64 = digits.parse().ok()?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    amount.checked_mul(seconds).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = [
            ("DB_HOST", "127.0.0.1"),
            ("DB_USER", "root"),
            ("DB_OFFLINE_DB", "db_a"),
            ("DB_CENTRAL_DB", "db_b"),
            ("IS_ONLINE", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            map.insert(k.to_string(), v.to_string());
        }
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_central_fallbacks() {
        let c = config(&[("DB_PASSWORD", "s3cret"), ("API_TOKEN", "t0ken")]).unwrap();
        assert_eq!(c.api_token, Some(ApiToken("t0ken".into())));
        assert!(!format!("{c:?}").contains("t0ken"));
        assert_eq!(c.port, 3000);
        assert_eq!(c.local.port, 3306);
        assert_eq!(c.central.host, "127.0.0.1");
        assert_eq!(c.central.password, "s3cret");
        assert_eq!(c.sync.batch_size, 500);
        assert_eq!(c.sync.max_retries, 5);
        assert_eq!(c.sync.cron, DEFAULT_SYNC_CRON);
        assert_eq!(c.sync.retention, Duration::from_secs(7 * 86_400));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("IS_ONLINE", "maybe")]).unwrap_err();
        assert!(err.to_string().contains("IS_ONLINE"), "{err}");
        let err = config(&[("PORT", "abc")]).unwrap_err();
        assert!(err.to_string().contains("PORT"), "{err}");
        let err = config(&[("DB_OFFLINE_DB", "a`; DROP")]).unwrap_err();
        assert!(err.to_string().contains("DB_OFFLINE_DB"), "{err}");
        let err = config(&[("DB_CENTRAL_DB", "db_a")]).unwrap_err();
        assert!(err.to_string().contains("DB_CENTRAL_DB"), "{err}");
        let err = config(&[("SYNC_BATCH_SIZE", "0")]).unwrap_err();
        assert!(err.to_string().contains("SYNC_BATCH_SIZE"), "{err}");
        assert_eq!(
            config(&[("DB_HOST", "")]).unwrap_err(),
            ConfigError::Missing("DB_HOST")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("7 days"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}
