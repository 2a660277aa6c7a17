//! The command line: init, configuration errors, connection errors.

use crate::helpers::{TestDb, run_cli, server_env, stderr, stdout};
use std::collections::HashMap;

#[tokio::test]
async fn init_twice_keeps_one_set_of_triggers_and_seed_loads_once() {
    let db = TestDb::new(&[]).await;
    for _ in 0..2 {
        let out = db.cli(&["init", "--seed"]);
        assert!(out.status.success(), "init failed: {}", stderr(&out));
    }
    let triggers = db
        .count(
            &db.local,
            "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
        )
        .await;
    assert_eq!(triggers, 6);
    assert_eq!(db.count(&db.local, "SELECT COUNT(*) FROM users").await, 12);
    assert_eq!(db.count(&db.local, "SELECT COUNT(*) FROM orders").await, 30);
    assert_eq!(
        db.count(&db.local, "SELECT COUNT(DISTINCT status) FROM orders")
            .await,
        4
    );
    assert_eq!(
        db.count(&db.local, "SELECT COUNT(*) FROM sync_queue").await,
        42,
        "the seed is captured like any write"
    );
    let out = db.cli(&["init"]);
    assert!(
        stdout(&out).contains("0 trigger(s) created"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn init_recreates_a_missing_central_database() {
    let db = TestDb::new(&[]).await;
    db.exec(&format!("DROP DATABASE {}", db.config.central.database))
        .await;
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tables = db
        .count(
            &db.local,
            &format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}'",
                db.config.central.database
            ),
        )
        .await;
    assert_eq!(
        tables, 6,
        "users, orders, sync_ledger, sync_watermark, sync_sites, sync_load_marks"
    );
}

/// A binary upgraded before `init` ran again meets dbsync's tables of the earlier version
/// (here `sync_load` without `rows_checked`): each command that reads them fails saying to
/// run `dbsync init`, and after it the waiting changes sync.
#[tokio::test]
async fn an_upgrade_before_init_says_to_run_init() {
    let db = TestDb::new(&[]).await;
    db.insert_users(2).await;
    db.exec("ALTER TABLE sync_load DROP COLUMN rows_checked")
        .await;
    for command in ["sync", "status"] {
        let out = db.cli(&[command]);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(1), "{command}: {text}");
        assert!(
            text.contains("Unknown column 'rows_checked'") && text.contains("run `dbsync init`"),
            "{command}: {text}"
        );
    }
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = db.cli(&["sync"]);
    assert!(stdout(&out).contains("applied 2,"), "{}", stdout(&out));
    assert_eq!(db.count(&db.central, "SELECT COUNT(*) FROM users").await, 2);
}

fn base_env() -> HashMap<String, String> {
    let mut env: HashMap<String, String> = server_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.insert("DB_OFFLINE_DB".into(), "dbsync_cfg_a".into());
    env.insert("DB_CENTRAL_DB".into(), "dbsync_cfg_b".into());
    env.insert("IS_ONLINE".into(), "false".into());
    env
}

#[test]
fn config_errors_exit_2_naming_the_variable() {
    let cases: [(&str, Option<&str>); 4] = [
        ("DB_OFFLINE_DB", None),
        ("IS_ONLINE", Some("maybe")),
        ("PORT", Some("abc")),
        ("SYNC_MAX_RETRIES", Some("-3")),
    ];
    for (name, value) in cases {
        let mut env = base_env();
        match value {
            Some(v) => env.insert(name.to_string(), v.to_string()),
            None => env.remove(name),
        };
        let out = run_cli(&env, &["status"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}={value:?}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(err.contains(name), "message must name {name}: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "one line, no backtrace: {err}"
        );
    }
}

#[test]
fn a_bad_schedule_stops_serve_with_exit_2() {
    let mut env = base_env();
    env.insert("SYNC_CRON".into(), "every two minutes".into());
    let out = run_cli(&env, &["serve"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("SYNC_CRON"), "{}", stderr(&out));
}

#[test]
fn an_unreachable_server_is_one_clear_line() {
    let mut env = base_env();
    env.insert("DB_HOST".into(), "127.0.0.1".into());
    env.insert("DB_PORT".into(), "1".into());
    let out = run_cli(&env, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn bad_arguments_are_rejected() {
    let out = run_cli(&base_env(), &["requeue"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run_cli(&base_env(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
