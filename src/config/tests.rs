use std::collections::HashMap;
use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;

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
    Config::from_lookup(|k| map.get(k).cloned(), "")
}

#[test]
fn defaults_and_central_fallbacks() {
    let c = config(&[("DB_PASSWORD", "s3cret"), ("API_TOKEN", "t0ken")]).unwrap();
    assert_eq!(
        c.api_token.as_ref().map(|t| t.0.expose_secret()),
        Some("t0ken")
    );
    assert!(!format!("{c:?}").contains("t0ken"));
    assert_eq!(c.port, 3000);
    assert_eq!(c.local.port, 3306);
    assert_eq!(c.central.host, "127.0.0.1");
    assert_eq!(c.central.password.expose_secret(), "s3cret");
    assert_eq!(c.sync.batch_size, DEFAULT_BATCH_SIZE);
    assert_eq!(c.sync.max_retries, 5);
    assert_eq!(c.sync.cron, DEFAULT_SYNC_CRON);
    assert_eq!(c.sync.retention, Duration::from_secs(7 * 86_400));
    assert_eq!(c.sync.tables, ["users", "orders"]);
    assert_eq!(c.sync.site_id, None);
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn bad_values_name_the_variable_and_the_accepted_forms() {
    for (name, value, words) in [
        ("IS_ONLINE", "maybe", "true or false"),
        ("IS_ONLINE", "yes", "true or false"),
        ("IS_ONLINE", "TRUE", "true or false"),
        ("PORT", "abc", "TCP port"),
        ("DB_OFFLINE_DB", "a`; DROP", "letters, digits"),
        ("DB_CENTRAL_DB", "db_a", "other than DB_OFFLINE_DB"),
        ("SYNC_BATCH_SIZE", "0", "1 to 10000"),
        ("SYNC_RETENTION", "100000000d", "3650d"),
        ("SYNC_RETRY_BACKOFF", "2h", "0 to 1h"),
        ("SYNC_CRON", "*/2 * * * *", "add the seconds first"),
        (
            "SYNC_TABLES",
            "users,`orders`",
            "comma-separated table names",
        ),
        ("SYNC_TABLES", "users;drop", "comma-separated table names"),
        ("SYNC_TABLES", "users,users", "comma-separated table names"),
        ("SYNC_TABLES", "users,sync_queue", "none of dbsync's own"),
        ("SYNC_TABLES", "SYNC_LEDGER", "none of dbsync's own"),
        ("SITE_ID", "shop 1", "1-32 letters"),
        ("LOG_FORMAT", "jsn", "pretty or json"),
        ("RUST_LOG", "verbose", "a level"),
    ] {
        let err = config(&[(name, value)]).unwrap_err().to_string();
        assert!(err.contains(name), "{name}={value}: {err}");
        assert!(err.contains(words), "{name}={value}: {err}");
    }
    assert_eq!(
        config(&[("DB_HOST", "")]).unwrap_err(),
        ConfigError::Missing {
            name: "DB_HOST",
            hint: String::new()
        }
    );
}

#[test]
fn good_values_are_taken() {
    let c = config(&[
        ("SYNC_TABLES", "users, orders,products"),
        ("SITE_ID", "shop-7_b"),
        ("RUST_LOG", "info,dbsync=debug"),
        ("SYNC_RETENTION", "0"),
        ("SYNC_RETRY_BACKOFF", "1h"),
    ])
    .unwrap();
    assert_eq!(c.sync.tables, ["users", "orders", "products"]);
    assert_eq!(c.sync.site_id.as_deref(), Some("shop-7_b"));
    assert!(c.sync.retention.is_zero());
}

#[test]
fn durations() {
    assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
    assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
    assert_eq!(parse_duration("7 days"), Some(Duration::from_secs(604_800)));
    assert_eq!(parse_duration("-1s"), None);
}

#[test]
fn central_node_lists() {
    let c = config(&[
        ("DB_CENTRAL_HOST", "h1:3307, h2,[::1]:3308"),
        ("DB_CENTRAL_PORT", "3310"),
    ])
    .unwrap();
    assert_eq!(
        c.central_nodes,
        [
            ("h1".to_string(), 3307),
            ("h2".to_string(), 3310),
            ("::1".to_string(), 3308)
        ]
    );
    assert_eq!((c.central.host.as_str(), c.central.port), ("h1", 3307));
    for bad in ["h1:abc", "h1,,h2", "h1:0", ":3306"] {
        let err = config(&[("DB_CENTRAL_HOST", bad)]).unwrap_err().to_string();
        assert!(err.contains("DB_CENTRAL_HOST"), "{bad}: {err}");
    }
}
