//! Reading and checking single configuration values.

use std::time::Duration;

use super::ConfigError;

pub(super) struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    missing_hint: &'a str,
}

impl<'a> Vars<'a> {
    pub(super) fn new(lookup: &'a dyn Fn(&str) -> Option<String>, missing_hint: &'a str) -> Self {
        Vars {
            lookup,
            missing_hint,
        }
    }

    pub(super) fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn missing(&self, name: &'static str) -> ConfigError {
        ConfigError::Missing {
            name,
            hint: self.missing_hint.to_string(),
        }
    }

    pub(super) fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.raw(name).ok_or_else(|| self.missing(name))
    }

    pub(super) fn parsed<T>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ConfigError> {
        match self.raw(name) {
            None => Ok(default),
            Some(value) => parse(&value).ok_or_else(|| ConfigError::Invalid {
                name,
                value,
                expected: expected.to_string(),
            }),
        }
    }

    /// Database names are pasted into `CREATE DATABASE`, so only plain identifiers pass.
    pub(super) fn database_name(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.required(name)?;
        if is_plain_identifier(&value) {
            Ok(value)
        } else {
            Err(ConfigError::Invalid {
                name,
                value,
                expected: "1-64 letters, digits or underscores".into(),
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

pub(super) fn port(value: &str) -> Option<u16> {
    value.parse::<u16>().ok().filter(|p| *p > 0)
}

/// Exactly `true` or `false`, as the documentation says.
pub(super) fn boolean(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// `0`, or a duration such as `90s`, `15m`, `12h`, `7d` (a bare number is seconds).
pub fn parse_duration(value: &str) -> Option<Duration> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    humantime::parse_duration(value).ok()
}

pub(super) const CRON_RULE: &str = "six fields with seconds first (sec min hour day month weekday), e.g. \"0 */2 * * * *\" for every 2 minutes";

pub(super) fn cron(value: &str) -> Option<String> {
    let fields = value.split_whitespace().count();
    (fields == 6 && cron_parses(value)).then(|| value.to_string())
}

fn cron_parses(value: &str) -> bool {
    tokio_cron_scheduler::Job::new_async(value, |_, _| Box::pin(async {})).is_ok()
}

/// A five-field expression is the common mistake: say which field is missing.
pub(super) fn cron_hint(err: ConfigError) -> ConfigError {
    match err {
        ConfigError::Invalid {
            name,
            value,
            expected,
        } if value.split_whitespace().count() == 5 => ConfigError::Invalid {
            expected: format!(
                "{expected} (this one has five fields: add the seconds first, e.g. \"0 {value}\")"
            ),
            name,
            value,
        },
        other => other,
    }
}

/// Table names as plain identifiers (letters, digits, `_`, `$`), no duplicates.
/// dbsync's own tables on db_a and db_b: syncing the queue through itself would capture
/// every mark of a change as another change, without end.
pub const OWN_TABLES: [&str; 9] = [
    "sync_queue",
    "sync_identity",
    "sync_runs",
    "sync_tables",
    "sync_load",
    "sync_ledger",
    "sync_watermark",
    "sync_sites",
    "sync_load_marks",
];

pub(super) fn table_list(value: &str) -> Option<Vec<String>> {
    let names: Vec<String> = value.split(',').map(|n| n.trim().to_string()).collect();
    let valid = names.iter().all(|n| {
        (1..=64).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
            && !OWN_TABLES.iter().any(|own| own.eq_ignore_ascii_case(n))
    });
    let distinct = names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n));
    (valid && distinct).then_some(names)
}

pub(super) fn site_id(value: &str) -> Option<String> {
    ((1..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| value.to_string())
}

/// `RUST_LOG`: comma-separated directives, each a level or `target=level`. A bare word
/// that is not a level is refused: it would silently switch every other log off.
pub(super) fn log_filter(value: &str) -> Option<String> {
    const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
    let level = |l: &str| LEVELS.contains(&l.to_ascii_lowercase().as_str());
    let valid = value
        .split(',')
        .all(|directive| match directive.trim().split_once('=') {
            None => level(directive.trim()),
            Some((target, lvl)) => !target.trim().is_empty() && level(lvl.trim()),
        });
    (valid && tracing_subscriber::EnvFilter::try_new(value).is_ok()).then(|| value.to_string())
}

/// `h1:3306,h2,[::1]:3307`: hosts with an optional port (`default_port` otherwise); at
/// least one, none empty.
pub(super) fn node_list(value: &str, default_port: u16) -> Option<Vec<(String, u16)>> {
    value
        .split(',')
        .map(|entry| {
            let entry = entry.trim();
            let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
                let (host, after) = rest.split_once(']')?;
                match after.strip_prefix(':') {
                    Some(port) => (host, port.parse().ok().filter(|p| *p > 0)?),
                    None if after.is_empty() => (host, default_port),
                    None => return None,
                }
            } else {
                match entry.rsplit_once(':') {
                    Some((host, port)) => (host, port.parse().ok().filter(|p| *p > 0)?),
                    None => (entry, default_port),
                }
            };
            (!host.is_empty() && !host.contains(char::is_whitespace))
                .then(|| (host.to_string(), port))
        })
        .collect()
}
