//! What adversarial runs found: legacy data, hostile queue rows, runs that die, configured
//! extremes. Each test is one class of trouble (locks held in db_b: `holds`).

use std::time::{Duration, Instant};

use dbsync::domain::Outcome;
use serde_json::json;

use crate::helpers::{TestApp, TestDb, stderr, stdout};

/// Zero and partial dates, as a permissive `sql_mode` lets legacy tools store them, reach
/// db_b exactly, are compared by verify and shown by the API.
#[tokio::test]
async fn zero_and_partial_dates_sync_verify_and_show() {
    let db = TestDb::new(&[("SYNC_MAX_RETRIES", "1")]).await;
    let mut legacy = db.local.acquire().await.unwrap();
    sqlx::raw_sql("SET SESSION sql_mode = ''; \
        INSERT INTO users (id, name, email, updated_at) VALUES \
          (1, 'zero', 'zero@x.io', '0000-00-00 00:00:00'), \
          (2, 'partial day', 'day@x.io', '2025-05-00 10:00:00'), \
          (3, 'partial month', 'month@x.io', '2024-00-10 00:00:00'); \
        INSERT INTO orders (id, user_id, amount, status, updated_at) VALUES (1, 1, 1.00, 'pending', '0000-00-00 00:00:00'); \
        UPDATE users SET name = 'zero, renamed', updated_at = '0000-00-00 00:00:00' WHERE id = 1")
        .execute(&mut *legacy)
        .await
        .unwrap();
    let report = db.sync().await;
    assert_eq!(
        (report.outcome, report.failed),
        (Outcome::Synced, 0),
        "{report}"
    );
    let central: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, CAST(updated_at AS CHAR) FROM users ORDER BY id")
            .fetch_all(&db.central)
            .await
            .unwrap();
    assert_eq!(
        central[0],
        (
            1,
            "zero, renamed".into(),
            "0000-00-00 00:00:00.000000".into()
        )
    );
    assert_eq!(central[1].2, "2025-05-00 10:00:00.000000");
    assert_eq!(central[2].2, "2024-00-10 00:00:00.000000");
    db.assert_converged().await;
    db.exec_central("UPDATE users SET updated_at = '0000-00-00 00:00:01' WHERE id = 1")
        .await;
    let out = db.cli(&["verify"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify sees a zero date drift: {}",
        stdout(&out)
    );

    let app = TestApp::spawn(&db).await;
    let (status, user) = app.get("/users/1").await;
    assert_eq!(
        (status, user["updated_at"].as_str()),
        (200, Some("0000-00-00T00:00:00.000000"))
    );
    let (status, page) = app.get("/users").await;
    assert_eq!(
        (status, page["items"].as_array().map(Vec::len)),
        (200, Some(3))
    );
    let (status, _) = app.get("/orders").await;
    assert_eq!(status, 200);
    app.stop().await;
}

/// No content of a queue row stops other records, or makes the engine act on a record the
/// row does not name; bad rows are parked with a bounded error.
#[tokio::test]
async fn hostile_queue_rows_are_parked_and_nothing_else_waits() {
    let db = TestDb::new(&[("SYNC_MAX_RETRIES", "3")]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x.io'), (2, 'B', 'b@x.io')")
        .await;
    db.sync().await;
    let huge = "9".repeat(70_000);
    let image = |id: i64, name: &str| {
        format!(
            "{{\"id\": {id}, \"name\": \"{name}\", \"email\": \"e{id}@x.io\", \"updated_at\": \"2026-01-01 00:00:00\"}}"
        )
    };
    sqlx::query(
        "INSERT INTO sync_queue (table_name, record_id, operation, payload) VALUES \
         ('users', 1, 'UPDATE', '{not json'), ('users', 5, 'INSERT', ?), ('users', 1, 'DELETE', ?), \
         ('orders', 7, 'INSERT', '{\"id\": 7, \"user_id\": 1, \"amount\": \"12.345\", \"status\": \"pending\", \"updated_at\": \"2026-01-01 00:00:00\"}')",
    )
    .bind(image(5, &huge))
    .bind(image(2, "B"))
    .execute(&db.local)
    .await
    .unwrap();
    // A change whose counter is at its limit: parked, never wrapped negative.
    db.plant_central_clash().await;
    db.exec("INSERT INTO users (id, name, email) VALUES (3, 'clash', 'dup@x.io')")
        .await;
    db.exec("UPDATE sync_queue SET retry_count = 2147483647 WHERE record_id = 3")
        .await;
    db.exec("UPDATE users SET name = 'A, still syncing' WHERE id = 1")
        .await;
    db.exec("INSERT INTO users (id, name, email) VALUES (4, 'D', 'd@x.io')")
        .await;

    let report = db.sync().await;
    assert_eq!(report.failed, 5, "{report}");
    let queue = db.queue().await;
    let summary: Vec<(i64, String, i32, usize)> = queue
        .iter()
        .map(|r| {
            (
                r.id,
                r.status.clone(),
                r.retry_count,
                r.last_error.as_deref().map_or(0, |e| e.chars().count()),
            )
        })
        .collect();
    let failed: Vec<_> = queue.iter().filter(|r| r.status == "FAILED").collect();
    // User 1's unreadable update was closed by its later change, which went through (its
    // hostile delete stays FAILED: a delete is never closed so).
    let closed: Vec<_> = queue
        .iter()
        .filter(|r| {
            r.status == "SYNCED"
                && r.last_error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("superseded"))
        })
        .collect();
    assert_eq!(
        (failed.len(), closed.len()),
        (4, 1),
        "every hostile row parked at once: {summary:?}"
    );
    assert!(closed.iter().all(|r| r.record_id == 1), "{summary:?}");
    let failed: Vec<_> = failed.into_iter().chain(closed).collect();
    for row in queue.iter().filter(|r| r.last_error.is_some()) {
        let error = row.last_error.as_deref().unwrap_or_default();
        assert!(error.chars().count() <= 1001, "{summary:?}");
        assert!(row.retry_count > 0, "no counter wrapped: {summary:?}");
    }
    let errors: Vec<&str> = failed
        .iter()
        .filter_map(|r| r.last_error.as_deref())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("does not match")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("rounded")), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("does not fit (the column takes at most 100 characters)")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("dup@x.io") && e.contains("id=999")),
        "{errors:?}"
    );
    // The DELETE naming user 1 with user 2's image deleted neither.
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users WHERE id IN (1, 2)")
            .await,
        2
    );
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM orders WHERE id = 7")
            .await,
        0,
        "not rounded into db_b"
    );
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE id = 4 OR name = 'A, still syncing'"
        )
        .await,
        2,
        "other records and the next change of user 1 went through: {summary:?}"
    );
}

/// A run whose process died stays `running` only until the next run; the run log stays
/// bounded however often runs are started.
#[tokio::test]
async fn abandoned_runs_are_closed_and_the_run_log_is_bounded() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO sync_runs (outcome) VALUES ('running')")
        .await;
    let old: Vec<&str> = vec!["('synced', NOW(6) - INTERVAL 30 DAY)"; 300];
    db.exec(&format!(
        "INSERT INTO sync_runs (outcome, started_at) VALUES {}",
        old.join(",")
    ))
    .await;
    db.sync().await;
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM sync_runs WHERE outcome = 'running'"
        )
        .await,
        0
    );
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM sync_runs WHERE id = 1 AND outcome = 'interrupted'"
        )
        .await,
        1
    );
    assert!(
        db.count(&db.local, "SELECT COUNT(*) FROM sync_runs").await <= 2,
        "runs older than the retention are purged"
    );
}

/// A run drains what was due when it started, even while writers keep adding changes.
#[tokio::test]
async fn a_run_ends_under_continuous_writes() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "20")]).await;
    db.insert_users(500).await;
    let pool = db.local.clone();
    let writer = tokio::spawn(async move {
        for i in 0..4000 {
            let _ = sqlx::query("INSERT INTO users (id, name, email) VALUES (?, 'w', ?)")
                .bind(10_000 + i)
                .bind(format!("w{i}@x.io"))
                .execute(&pool)
                .await;
        }
    });
    let report = tokio::time::timeout(Duration::from_secs(60), db.engine().run())
        .await
        .expect("the run ends")
        .unwrap();
    assert_eq!(report.outcome, Outcome::Synced, "{report}");
    writer.await.unwrap();
    db.sync().await;
    db.assert_converged().await;
}

/// Scripts and cron can tell outcomes apart by the exit code of `dbsync sync`.
#[tokio::test]
async fn sync_exit_codes_tell_the_outcome() {
    let db = TestDb::new(&[("SYNC_MAX_RETRIES", "2"), ("SYNC_RETRY_BACKOFF", "1h")]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x.io')")
        .await;
    let mut offline = db.env.clone();
    offline.insert("IS_ONLINE".into(), "false".into());
    assert_eq!(
        crate::helpers::run_cli(&offline, &["sync"]).status.code(),
        Some(5)
    );
    let mut unreachable = db.env.clone();
    unreachable.insert("DB_CENTRAL_PORT".into(), "1".into());
    let out = crate::helpers::run_cli(&unreachable, &["sync"]);
    assert_eq!(out.status.code(), Some(5), "{}", stdout(&out));
    assert_eq!(db.cli(&["sync"]).status.code(), Some(0));
    db.plant_central_clash().await;
    db.exec("INSERT INTO users (id, name, email) VALUES (2, 'P', 'dup@x.io')")
        .await;
    let out = db.cli(&["sync"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("partial") && stdout(&out).contains("waiting 1"),
        "{}",
        stdout(&out)
    );
}

/// A grant taken away in db_b is the account's trouble, not the data's: the run is
/// interrupted saying so, no change is blamed, and the run after the grant carries on.
#[tokio::test]
async fn a_privilege_missing_in_db_b_blames_no_change() {
    let db = TestDb::new(&[]).await;
    let central = db.config.central.database.clone();
    // Named after the databases: the harness drops it with them.
    let user = central.trim_end_matches("_b").to_string();
    db.exec_central(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'; \
         GRANT ALL ON `{}`.* TO '{user}'@'%'",
        db.config.local.database
    ))
    .await;
    // Everything in db_b but INSERT and UPDATE of users (table by table: a grant on the
    // database cannot be taken back for one table).
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
    )
    .bind(&central)
    .fetch_all(&db.central)
    .await
    .expect("db_b tables");
    for table in tables {
        let grant = if table == "users" {
            "SELECT, DELETE"
        } else {
            "ALL"
        };
        db.exec_central(&format!(
            "GRANT {grant} ON `{central}`.`{table}` TO '{user}'@'%'"
        ))
        .await;
    }
    let mut limited = db.env.clone();
    limited.insert("DB_CENTRAL_USER".into(), user.clone());
    limited.insert("DB_CENTRAL_PASSWORD".into(), "pw".into());
    db.insert_users(50).await;
    db.exec("INSERT INTO orders (user_id, amount, status) VALUES (1, 5.00, 'pending')")
        .await;
    let out = crate::helpers::run_cli(&limited, &["sync"]);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{said}{}", stderr(&out));
    assert!(said.contains("lacks a privilege"), "{said}");
    let blamed = "SELECT COUNT(*) FROM sync_queue WHERE retry_count > 0 OR sync_status = 'FAILED'";
    assert_eq!(db.count(&db.local, blamed).await, 0);
    db.exec_central(&format!(
        "GRANT INSERT, UPDATE ON `{central}`.`users` TO '{user}'@'%'"
    ))
    .await;
    let out = crate::helpers::run_cli(&limited, &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    db.assert_converged().await;
}

/// Before a change db_b refused on a unique key is blamed, the run checks whether the row
/// holding the value is past it (db_b's ledger); when that check itself cannot be made
/// (here the holder's ledger row is locked past db_b's lock wait), the change is held back
/// for the run, not blamed. Before, a failed check counted as "nothing supersedes it" and
/// the change used up a retry. Once the check can be made, the refusal is the change's own
/// and it is blamed as usual.
#[tokio::test]
async fn a_check_that_cannot_be_made_blames_no_change() {
    let db = TestDb::new(&[]).await;
    db.plant_central_clash().await;
    db.exec_central(
        "INSERT INTO sync_ledger (site_id, table_name, record_key, last_change_id) \
         VALUES ('', 'users', '999', 1)",
    )
    .await;
    db.exec("INSERT INTO users (id, name, email) VALUES (2, 'P', 'dup@x.io')")
        .await;
    let mut lock = db.central.begin().await.expect("a db_b transaction");
    sqlx::query("SELECT * FROM sync_ledger WHERE record_key = '999' FOR UPDATE")
        .execute(&mut *lock)
        .await
        .expect("the holder's ledger row locked");
    let report = db.sync().await;
    lock.rollback().await.expect("lock released");
    assert_eq!((report.held_back, report.failed), (1, 0), "{report}");
    let untouched =
        "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING' AND retry_count = 0";
    assert_eq!(
        db.count(&db.local, untouched).await,
        1,
        "{:?}",
        db.queue().await
    );

    let report = db.sync().await;
    assert_eq!(report.failed, 1, "{report}");
    let blamed =
        "SELECT COUNT(*) FROM sync_queue WHERE retry_count = 1 AND last_error LIKE '%dup@x.io%'";
    assert_eq!(
        db.count(&db.local, blamed).await,
        1,
        "{:?}",
        db.queue().await
    );
}

/// An account over its own limit (`MAX_USER_CONNECTIONS`) is db_a or db_b unable to take
/// work now — a run interrupted, an API request answered 503 — not a data error or a 500.
#[tokio::test]
async fn an_account_over_its_connection_limit_is_unavailable_not_broken() {
    use sqlx::ConnectOptions;
    let db = TestDb::new(&[]).await;
    // Named after the databases: the harness drops it with them.
    let user = db
        .config
        .central
        .database
        .trim_end_matches("_b")
        .to_string();
    db.exec(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'pw' WITH MAX_USER_CONNECTIONS 1; \
         GRANT ALL ON `{}`.* TO '{user}'@'%'",
        db.config.local.database
    ))
    .await;
    let options = dbsync::db::connect_options(&db.config.local, true)
        .username(&user)
        .password("pw");
    let _first = options
        .connect()
        .await
        .expect("the account's one connection");
    let refused = options
        .connect()
        .await
        .expect_err("a second one is over the limit");
    assert_eq!(
        dbsync::db::error::classify(&refused),
        dbsync::db::error::Kind::Connection,
        "{refused}"
    );
    let answer = dbsync::http::error::ApiError::from(dbsync::services::ServiceError::from(refused));
    assert_eq!((answer.status.as_u16(), answer.code), (503, "unavailable"));
}

/// After a requeue, a freshly synced low-id row does not stop the purge of older rows.
#[tokio::test]
async fn purge_steps_over_a_recently_synced_low_id() {
    let db = TestDb::new(&[("SYNC_RETENTION", "1d")]).await;
    db.insert_users(40).await;
    db.sync().await;
    db.exec("UPDATE sync_queue SET last_updated_at = CURRENT_TIMESTAMP(6) - INTERVAL 2 DAY WHERE id > 1").await;
    db.exec("INSERT INTO users (id, name, email) VALUES (100, 'n', 'n@x.io')")
        .await;
    db.sync().await;
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE id BETWEEN 2 AND 40"
        )
        .await,
        0,
        "old rows behind a young one are purged"
    );
    assert_eq!(
        db.count(&db.local, "SELECT COUNT(*) FROM sync_queue WHERE id = 1")
            .await,
        1
    );
}

/// Two db_a whose names share a long prefix have run locks of their own.
#[tokio::test]
async fn run_locks_of_long_database_names_do_not_collide() {
    let prefix = format!("dbsync_long_{}", "x".repeat(40));
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let first = TestDb::new(&[
        ("DB_OFFLINE_DB", &format!("{prefix}_{}_a", &tag[..5])),
        ("DB_CENTRAL_DB", &format!("dbsync_t_{}_b1", &tag[..8])),
    ])
    .await;
    let second = TestDb::new(&[
        ("DB_OFFLINE_DB", &format!("{prefix}_{}_b", &tag[..5])),
        ("DB_CENTRAL_DB", &format!("dbsync_t_{}_b2", &tag[..8])),
    ])
    .await;
    let mut holder = first.local.acquire().await.unwrap();
    let name = dbsync::db::runs::lock_name(&mut holder).await.unwrap();
    let got: i64 = sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
        .bind(&name)
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    assert_eq!(got, 1);
    second.insert_users(3).await;
    let report = second
        .engine()
        .run()
        .await
        .expect("not blocked by the other database's lock");
    assert_eq!(report.applied, 3);
}

/// Ids zero and below are valid SQL: replicated, listed, verified.
#[tokio::test]
async fn ids_of_zero_and_below_are_first_class() {
    let db = TestDb::new(&[]).await;
    // Id 0 needs NO_AUTO_VALUE_ON_ZERO, as legacy tools set it.
    db.exec("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO'); \
        INSERT INTO users (id, name, email) VALUES (-5, 'minus', 'm@x.io'), (0, 'zero', 'z@x.io'), (7, 'seven', 's@x.io')").await;
    db.sync().await;
    db.assert_converged().await;
    db.exec_central("UPDATE users SET name = 'tampered' WHERE id = -5")
        .await;
    let out = db.cli(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("users: 1 differing id(s): -5"),
        "{}",
        stdout(&out)
    );
    let app = TestApp::spawn(&db).await;
    let (_, page) = app.get("/users?limit=2").await;
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        (ids, page["next_after_id"].as_i64()),
        (vec![-5, 0], Some(0))
    );
    let (_, page) = app.get("/users?after_id=-5").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.get("/users/-5").await.0, 200);
    app.stop().await;
}

/// HEAD answers like GET, without a body.
#[tokio::test]
async fn head_is_answered_on_every_get_route() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    for path in [
        "/",
        "/health",
        "/users",
        "/orders",
        "/sync/status",
        "/sync/history",
        "/openapi.json",
        "/metrics",
    ] {
        let response = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "HEAD {path}");
    }
    let response = app
        .client
        .head(app.url("/users/12345"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    app.stop().await;
}

/// Configured extremes are refused with exit 2 before anything runs; none can panic a run.
#[tokio::test]
async fn configured_extremes_are_refused_up_front() {
    let db = TestDb::new(&[]).await;
    for (name, value) in [
        ("SYNC_RETENTION", "100000000d"),
        ("SYNC_RETRY_BACKOFF", "100000000d"),
        ("SYNC_BATCH_SIZE", "4294967296"),
    ] {
        let mut env = db.env.clone();
        env.insert(name.into(), value.into());
        let out = crate::helpers::run_cli(&env, &["sync"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}={value}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(name));
    }
    let report = db.sync().await;
    assert_eq!(report.outcome, Outcome::Synced);
}

/// Ordinary CRUD from many clients at once, deletes racing creates and updates on the same
/// rows: conflicts are 4xx, deadlocks are retried, nothing is a 5xx.
#[tokio::test]
async fn concurrent_api_clients_never_get_a_5xx() {
    let db = TestDb::new(&[]).await;
    db.insert_users(20).await;
    let app = std::sync::Arc::new(TestApp::spawn(&db).await);
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut clients = Vec::new();
    for c in 0..32i64 {
        let app = app.clone();
        clients.push(tokio::spawn(async move {
            let mut server_errors = Vec::new();
            let mut n = 0i64;
            while Instant::now() < deadline {
                n += 1;
                let user = 1 + (c + n) % 20;
                let (status, body) = match n % 5 {
                    0 => {
                        app.post("/orders", json!({"user_id": user, "amount": "1.50"}))
                            .await
                    }
                    1 => {
                        app.put(
                            &format!("/users/{user}"),
                            json!({"email": format!("e{}@x.io", (c * n) % 7)}),
                        )
                        .await
                    }
                    2 => {
                        let (_, page) = app.get(&format!("/orders?user_id={user}&limit=1")).await;
                        match page["items"][0]["id"].as_i64() {
                            Some(order) => app.delete(&format!("/orders/{order}")).await,
                            None => (200, json!({})),
                        }
                    }
                    3 => {
                        app.post(
                            "/users",
                            json!({"name": "n", "email": format!("c{c}n{n}@x.io")}),
                        )
                        .await
                    }
                    _ => {
                        app.put(&format!("/orders/{}", user), json!({"status": "shipped"}))
                            .await
                    }
                };
                if status >= 500 {
                    server_errors.push(body);
                }
            }
            server_errors
        }));
    }
    for client in clients {
        let errors = client.await.unwrap();
        assert!(errors.is_empty(), "5xx answers: {errors:?}");
    }
}

/// db_b takes images in a permissive session, where a date out of range is stored as a zero
/// date in silence: such a value (only a hand-made row can hold one) parks its change.
#[tokio::test]
async fn dates_out_of_range_in_a_queue_row_are_parked_not_zeroed() {
    let db = TestDb::new(&[]).await;
    let image = |id: i64, at: &str| {
        format!(
            "{{\"id\": {id}, \"name\": \"u{id}\", \"email\": \"e{id}@x.io\", \"updated_at\": \"{at}\"}}"
        )
    };
    for (id, at) in [
        (1, "2026-13-01 00:00:00"),
        (2, "2026-01-01 25:00:00"),
        (3, "2026-01-32 00:00:00"),
        (4, "2026-01-01 00:00:00.5"),
    ] {
        sqlx::query(
            "INSERT INTO sync_queue (table_name, record_id, operation, payload) VALUES ('users', ?, 'INSERT', ?)",
        )
        .bind(id)
        .bind(image(id, at))
        .execute(&db.local)
        .await
        .unwrap();
    }
    let report = db.sync().await;
    assert_eq!(report.failed, 3, "{report}");
    let queue = db.queue().await;
    for row in &queue[..3] {
        assert_eq!(row.status, "FAILED", "{queue:?}");
        let error = row.last_error.as_deref().unwrap_or_default();
        assert!(
            error.contains("updated_at") && error.contains("a date and time"),
            "{error}"
        );
    }
    assert_eq!(queue[3].status, "SYNCED", "{queue:?}");
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users").await,
        1,
        "only the good row reached db_b"
    );
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE updated_at = '2026-01-01 00:00:00.5'"
        )
        .await,
        1
    );
}
