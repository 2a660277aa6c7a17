//! The sync engine, one test (at least) per property of the design's "Sync semantics".

use std::time::Duration;

use dbsync::domain::Outcome;
use dbsync::services::sync::status::{self, CentralReach};
use dbsync::services::sync::{RunError, SyncEngine};
use dbsync::services::watchdog::STOP_GRACE;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::helpers::{CuttableProxy, TestApp, TestDb, cli_command, stderr, stdout};

/// (status, count) of the whole queue.
pub(crate) async fn statuses(db: &TestDb) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT CAST(sync_status AS CHAR), COUNT(*) FROM sync_queue GROUP BY sync_status ORDER BY 1")
        .fetch_all(&db.local)
        .await
        .expect("statuses")
}

pub(crate) async fn all_synced(db: &TestDb) {
    let counts = statuses(db).await;
    assert!(
        counts.iter().all(|(s, _)| s == "SYNCED"),
        "not all SYNCED: {counts:?}"
    );
}

/// One clean run: nothing rejected, db_b equal to db_a, every change SYNCED.
pub(crate) async fn converge(db: &TestDb) -> dbsync::services::sync::RunReport {
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    db.assert_converged().await;
    all_synced(db).await;
    report
}

/// Writes `n` users and `n` orders with plain SQL, then updates and deletes some (≈70/25/5).
pub(crate) async fn write_mix(db: &TestDb, n: usize) {
    db.insert_users(n).await;
    let orders: Vec<String> = (1..=n)
        .map(|i| format!("({i}, {}, {}.{:02}, 'pending')", i, i % 1000, i % 100))
        .collect();
    for chunk in orders.chunks(1000) {
        db.exec(&format!(
            "INSERT INTO orders (id, user_id, amount, status) VALUES {}",
            chunk.join(",")
        ))
        .await;
    }
    db.exec("UPDATE orders SET status = 'shipped' WHERE id % 3 = 0")
        .await;
    db.exec("UPDATE users SET name = CONCAT(name, ' (vip)') WHERE id % 5 = 0")
        .await;
    db.exec("DELETE FROM orders WHERE id % 10 = 0").await;
}

#[tokio::test]
async fn api_and_sql_changes_all_reach_central() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    let (status, user) = app
        .post(
            "/users",
            json!({"name": "Ana O'Brien \"Zoë\" \\ 🙂", "email": "ana@example.com"}),
        )
        .await;
    assert_eq!(status, 201);
    let user_id = user["id"].as_i64().unwrap();
    let (status, order) = app
        .post("/orders", json!({"user_id": user_id, "amount": "19.99"}))
        .await;
    assert_eq!(status, 201);
    app.put(
        &format!("/orders/{}", order["id"]),
        json!({"status": "shipped"}),
    )
    .await;
    app.stop().await;

    db.exec("INSERT INTO users (id, name, email) VALUES (100, 'Bo', 'bo@x.io'), (101, 'Cy', 'cy@x.io'), (102, 'Di', 'di@x.io')").await;
    db.exec("INSERT INTO orders (user_id, amount, status) VALUES (100, 0.10, 'pending'), (100, 0.20, 'delivered')").await;
    db.exec("UPDATE users SET name = 'Bo B.' WHERE id = 100")
        .await;
    db.exec("UPDATE users SET id = 200 WHERE id = 101").await;
    db.exec("DELETE FROM users WHERE id = 102").await;

    let report = db.sync().await;
    assert_eq!(report.failed, 0);
    assert_eq!(report.remaining, 0);
    db.assert_converged().await;
    all_synced(&db).await;
    let name: String = sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
        .bind(user_id)
        .fetch_one(&db.central)
        .await
        .unwrap();
    assert_eq!(
        name, "Ana O'Brien \"Zoë\" \\ 🙂",
        "the JSON image keeps every character"
    );
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE id IN (101, 102)"
        )
        .await,
        0
    );
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users WHERE id = 200")
            .await,
        1
    );

    // The CLI agrees.
    let out = db.cli(&["verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[tokio::test]
async fn email_swap_in_three_statements_converges() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x.io'), (2, 'B', 'b@x.io')")
        .await;
    db.sync().await;
    db.exec("UPDATE users SET email = 'swap@x.io' WHERE id = 1")
        .await;
    db.exec("UPDATE users SET email = 'a@x.io' WHERE id = 2")
        .await;
    db.exec("UPDATE users SET email = 'b@x.io' WHERE id = 1")
        .await;
    let report = db.sync().await;
    assert_eq!((report.applied, report.failed), (3, 0));
    db.assert_converged().await;
}

#[tokio::test]
async fn foreign_keys_hold_within_one_batch() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x.io')")
        .await;
    db.exec("INSERT INTO orders (id, user_id, amount) VALUES (1, 1, 5.00), (2, 1, 6.00)")
        .await;
    db.exec("DELETE FROM orders WHERE user_id = 1").await;
    db.exec("DELETE FROM users WHERE id = 1").await;
    db.exec("INSERT INTO users (id, name, email) VALUES (2, 'B', 'b@x.io')")
        .await;
    db.exec("INSERT INTO orders (id, user_id, amount) VALUES (3, 2, 7.00)")
        .await;
    converge(&db).await;
}

#[tokio::test]
async fn offline_changes_nothing_then_online_converges() {
    let db = TestDb::new(&[]).await;
    write_mix(&db, 50).await;
    let before = db.queue().await;
    let offline = db.engine_with(&db.config_with(&[("IS_ONLINE", "false")]));
    let report = offline.run().await.unwrap();
    assert_eq!(report.outcome, Outcome::Offline);
    assert_eq!(report.applied + report.failed, 0);
    let after = db.queue().await;
    assert_eq!(
        format!("{before:?}"),
        format!("{after:?}"),
        "the queue is untouched"
    );
    assert_eq!(db.count(&db.central, "SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(reach(&db, false).await, CentralReach::NotTried);
    // Switched on, before a run: the offline run told nothing of db_b.
    assert_eq!(reach(&db, true).await, CentralReach::Unknown);
    // Writes keep being captured while offline.
    db.exec("INSERT INTO users (id, name, email) VALUES (9999, 'late', 'late@x.io')")
        .await;
    db.sync().await;
    db.assert_converged().await;
}

#[tokio::test]
async fn unreachable_central_counts_as_offline() {
    let db = TestDb::new(&[]).await;
    write_mix(&db, 20).await;
    let engine = db.engine_with(&db.config_with(&[("DB_CENTRAL_PORT", "1")]));
    let report = engine.run().await.unwrap();
    assert_eq!(report.outcome, Outcome::Offline, "{report}");
    assert!(report.message.unwrap_or_default().contains("unreachable"));
    let queued = db.count(&db.local, "SELECT COUNT(*) FROM sync_queue").await;
    assert_eq!(statuses(&db).await, vec![("PENDING".to_string(), queued)]);
    assert_eq!(db.total_retries().await, 0, "no change was blamed");
    assert_eq!(reach(&db, true).await, CentralReach::Unreachable);
    db.sync().await;
    db.assert_converged().await;
    assert_eq!(reach(&db, true).await, CentralReach::Reachable);
}

/// What `status` says of db_b, with `IS_ONLINE` as given.
async fn reach(db: &TestDb, online: bool) -> CentralReach {
    status::status(&db.local, online, false)
        .await
        .unwrap()
        .central
}

/// db_b going silent right after the handshake, before it says whether it is a cluster
/// node: the run gives up within the connect timeout, `offline`, nobody blamed — it waited
/// for as long as db_b stayed silent, and every scheduled run after it was skipped.
#[tokio::test]
async fn a_db_b_silent_right_after_the_handshake_ends_the_run_offline_within_seconds() {
    let db = TestDb::new(&[]).await;
    let frozen = run_with_db_b_frozen_on(&db, "@@wsrep_on").await;
    let (report, proxy, engine) = (frozen.report, frozen.proxy, frozen.engine);
    assert_eq!(report.outcome, Outcome::Offline, "{report}");
    assert!(
        report
            .message
            .as_deref()
            .is_some_and(|m| m.contains("no answer in time")),
        "{report}"
    );
    assert!(frozen.took < Duration::from_secs(12), "{:?}", frozen.took);
    assert_eq!(db.total_retries().await, 0, "no change was blamed");
    assert_eq!(reach(&db, true).await, CentralReach::Unreachable);
    proxy.thaw();
    let report = engine.run().await.unwrap();
    assert_eq!(report.outcome, Outcome::Synced, "{report}");
    db.assert_converged().await;
}

/// A site's run reports itself to db_b's `sync_sites` at its end: a db_b that goes silent
/// right then holds the run's end for seconds, not until db_b answers again.
#[tokio::test]
async fn a_db_b_silent_while_a_site_reports_its_run_holds_it_for_seconds_only() {
    let db = TestDb::new(&[("SITE_ID", "shop-1")]).await;
    let frozen = run_with_db_b_frozen_on(&db, "INSERT INTO sync_sites").await;
    assert_eq!(frozen.report.outcome, Outcome::Synced, "{}", frozen.report);
    assert!(frozen.took < Duration::from_secs(20), "{:?}", frozen.took);
    frozen.proxy.thaw();
    db.assert_converged().await;
}

#[tokio::test]
async fn central_lost_mid_run_interrupts_without_blaming_changes() {
    let (db, proxy, run, _stop) = run_under_way(&[]).await;
    proxy.cut();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.outcome, Outcome::Interrupted, "{report}");
    assert!(
        report.remaining > 0,
        "the cut came before the end: {report}"
    );
    assert_eq!(reach(&db, true).await, CentralReach::Unreachable);
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE retry_count > 0 OR sync_status = 'FAILED'"
        )
        .await,
        0
    );
    proxy.restore();
    converge(&db).await;
}

#[tokio::test]
async fn a_poison_change_retries_then_fails_alone_and_requeue_converges() {
    let db = TestDb::new(&[("SYNC_MAX_RETRIES", "3")]).await;
    // An email that exists only in db_b.
    db.plant_central_clash().await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'Poison', 'dup@x.io'), (2, 'Fine', 'fine@x.io')").await;
    db.exec("UPDATE users SET name = 'Poison 2' WHERE id = 1")
        .await;
    db.exec("INSERT INTO users (id, name, email) VALUES (3, 'Also fine', 'also@x.io')")
        .await;

    let report = db.sync().await;
    assert_eq!(report.failed, 1);
    let queue = db.queue().await;
    let insert = &queue[0];
    assert_eq!((insert.status.as_str(), insert.retry_count), ("PENDING", 1));
    assert!(
        insert
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("unique"),
        "{:?}",
        insert.last_error
    );
    // The later change of the same user waited behind it, untouched.
    let later = &queue[2];
    assert_eq!(
        (later.record_id, later.status.as_str(), later.retry_count),
        (1, "PENDING", 0)
    );
    // Everyone else is through.
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users WHERE id IN (2, 3)")
            .await,
        2
    );
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users WHERE id = 1")
            .await,
        0
    );
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE id = 999 AND name = 'central only'"
        )
        .await,
        1,
        "the clashing row is not overwritten"
    );

    db.sync().await;
    db.sync().await;
    let queue = db.queue().await;
    assert_eq!(
        (queue[0].status.as_str(), queue[0].retry_count),
        ("FAILED", 3)
    );

    // An operator fixes db_b and requeues: everything converges.
    db.remove_central_clash().await;
    let out = db.cli(&["requeue", "--all-failed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    db.sync().await;
    for _ in 0..3 {
        if db
            .count(
                &db.local,
                "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'",
            )
            .await
            == 0
        {
            break;
        }
        let _ = db.cli(&["requeue", "--all-failed"]);
        db.sync().await;
    }
    db.assert_converged().await;
    all_synced(&db).await;
    // The poison change's old error went once it was applied.
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE last_error IS NOT NULL"
        )
        .await,
        0
    );
}

/// A FAILED change is closed once a later change of its record is applied: an image is the
/// whole row, so the FAILED one has nothing left for db_b (requeued, it would be skipped).
/// A FAILED change of another record, or one whose later change fails too, stays FAILED.
#[tokio::test]
async fn a_failed_change_is_closed_once_a_later_change_of_its_record_applies() {
    let mut db = TestDb::with_table(
        "CREATE TABLE products (sku VARCHAR(32) PRIMARY KEY, label VARCHAR(40) NOT NULL UNIQUE, \
         note VARCHAR(40))",
        "products",
    )
    .await;
    db.set("SYNC_MAX_RETRIES", "1");
    db.exec_central(
        "INSERT INTO products VALUES ('b-held', 'taken', NULL), ('c-held', 'also taken', NULL)",
    )
    .await;
    db.exec(
        "INSERT INTO products VALUES ('A-1', 'taken', NULL), ('A-2', 'also taken', NULL), \
         ('A-3', 'free', NULL)",
    )
    .await;
    assert_eq!(db.sync().await.failed, 2);
    // A-1 gets a label db_b takes; A-2 keeps the one db_b refuses.
    db.exec(
        "UPDATE products SET label = 'renamed' WHERE sku = 'A-1'; \
         UPDATE products SET note = 'later' WHERE sku = 'A-2'",
    )
    .await;
    db.sync().await;
    let queue = db.queue().await;
    let of = |sku: &str| -> Vec<(String, String)> {
        queue
            .iter()
            .filter(|r| {
                let image = r.payload.as_deref().unwrap_or_default();
                image.contains(&format!("\"sku\": \"{sku}\""))
            })
            .map(|r| (r.status.clone(), r.last_error.clone().unwrap_or_default()))
            .collect()
    };
    let first = of("A-1");
    assert_eq!(first.len(), 2, "{queue:?}");
    assert_eq!(first[0].0, "SYNCED");
    assert!(
        first[0]
            .1
            .starts_with("superseded: a later change of the record was applied")
            && first[0].1.contains("unique"),
        "{}",
        first[0].1
    );
    assert_eq!(first[1], ("SYNCED".to_string(), String::new()));
    assert_eq!(
        of("A-2").iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["FAILED", "FAILED"]
    );
    let label = "SELECT COUNT(*) FROM products WHERE sku = 'A-1' AND label = 'renamed'";
    assert_eq!(db.count(&db.central, label).await, 1);
}

/// Only a change written to db_b closes an earlier FAILED one: a change passed over for a
/// later one (db_b lacks its parent, a later change of the record is queued) does not, nor
/// does the refused later one. A FAILED delete stays FAILED when the row is made again.
#[tokio::test]
async fn a_failed_change_stays_failed_until_a_later_change_reaches_db_b() {
    let db = TestDb::new(&[("SYNC_MAX_RETRIES", "1")]).await;
    db.exec(
        "SET SESSION foreign_key_checks = 0; \
         INSERT INTO orders (id, user_id, amount, status) VALUES (100, 999, 1.00, 'pending')",
    )
    .await;
    assert_eq!(db.sync().await.failed, 1);
    db.exec(
        "SET SESSION foreign_key_checks = 0; \
         UPDATE orders SET user_id = 998 WHERE id = 100; \
         UPDATE orders SET user_id = 997 WHERE id = 100",
    )
    .await;
    let report = db.engine().run().await.expect("sync run");
    assert_eq!(report.failed, 1, "{report}");
    let first = &db.queue().await[0];
    assert_eq!(first.status, "FAILED", "{first:?}");

    // A delete db_b refuses (a child db_a does not have holds the row there), then the row
    // made again in db_a: its insert is applied, the delete stays FAILED.
    db.insert_users(1).await;
    db.sync().await;
    db.exec_central(
        "INSERT INTO orders (id, user_id, amount, status, updated_at) \
         VALUES (500, 1, 2.00, 'pending', NOW(6))",
    )
    .await;
    db.exec(
        "DELETE FROM users WHERE id = 1; \
         INSERT INTO users (id, name, email) VALUES (1, 'again', 'again@x.io')",
    )
    .await;
    for _ in 0..2 {
        db.engine().run().await.expect("sync run");
    }
    let again = "SELECT COUNT(*) FROM users WHERE id = 1 AND name = 'again'";
    assert_eq!(db.count(&db.central, again).await, 1);
    let deletes = "SELECT COUNT(*) FROM sync_queue WHERE operation = 'DELETE' \
                   AND sync_status = 'FAILED' AND record_id = 1 AND table_name = 'users'";
    assert_eq!(db.count(&db.local, deletes).await, 1);
}

#[tokio::test]
async fn backoff_delays_the_next_attempt() {
    let db = TestDb::new(&[("SYNC_RETRY_BACKOFF", "1h")]).await;
    db.plant_central_clash().await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'P', 'dup@x.io')")
        .await;
    db.sync().await;
    db.sync().await;
    let queue = db.queue().await;
    assert_eq!(queue[0].retry_count, 1, "not retried before its time");
    let waits = db
        .count(&db.local, "SELECT TIMESTAMPDIFF(MINUTE, CURRENT_TIMESTAMP(6), next_attempt_at) FROM sync_queue WHERE id = 1")
        .await;
    assert!(
        (58..=60).contains(&waits),
        "next attempt in about an hour, got {waits} min"
    );
}

#[tokio::test]
async fn a_hand_written_queue_row_cannot_inject_sql() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x.io')")
        .await;
    db.exec(
        "INSERT INTO sync_queue (table_name, record_id, operation, payload) VALUES \
         ('users; DROP TABLE users', 1, 'INSERT', '{\"id\": 1}'), \
         ('users', 1, 'UPDATE', '{\"id\": 1, \"name\": 5}')",
    )
    .await;
    db.exec("INSERT INTO users (id, name, email) VALUES (2, 'B', 'b@x.io')")
        .await;
    let report = db.sync().await;
    assert_eq!(report.failed, 2);
    let queue = db.queue().await;
    assert_eq!(queue[1].status, "FAILED");
    assert!(
        queue[1]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("unknown table_name")
    );
    assert_eq!(queue[2].status, "FAILED");
    assert!(
        queue[2]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("unreadable")
    );
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users").await,
        2,
        "users still there, both synced"
    );
}

#[tokio::test]
async fn killing_the_sync_process_mid_run_loses_and_duplicates_nothing() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "100")]).await;
    write_mix(&db, 4000).await;
    let dir = std::env::temp_dir();
    for round in 0..3 {
        let mut child = cli_command(&db.env, &["sync"], &dir)
            .spawn()
            .expect("spawn sync");
        let target = 1000 * (round + 1);
        for _ in 0..2000 {
            if db
                .count(
                    &db.local,
                    "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'SYNCED'",
                )
                .await
                >= target
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }
    let out = db.cli(&["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("synced"), "{}", stdout(&out));
    db.assert_converged().await;
    all_synced(&db).await;
    assert_eq!(db.total_retries().await, 0, "no change was blamed");
}

#[tokio::test]
async fn one_run_at_a_time_across_processes() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "50")]).await;
    write_mix(&db, 1000).await;
    // Another process holds the run lock: a run does not start and touches nothing.
    let mut holder = db.local.acquire().await.unwrap();
    let lock_name = dbsync::db::runs::lock_name(&mut holder).await.unwrap();
    let got: i64 = sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
        .bind(&lock_name)
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    assert_eq!(got, 1);
    let out = db.cli(&["sync"]);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("another sync run is in progress"),
        "{}",
        stdout(&out)
    );
    assert!(matches!(
        db.engine().run().await,
        Err(RunError::AlreadyRunning)
    ));
    let queued = db.count(&db.local, "SELECT COUNT(*) FROM sync_queue").await;
    assert_eq!(statuses(&db).await, vec![("PENDING".to_string(), queued)]);
    sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(&lock_name)
        .execute(&mut *holder)
        .await
        .unwrap();

    // Two processes at once: one runs, the other waits its turn or skips; all converges.
    let dir = std::env::temp_dir();
    let first = cli_command(&db.env, &["sync"], &dir).spawn().unwrap();
    let second = cli_command(&db.env, &["sync"], &dir).spawn().unwrap();
    for child in [first, second] {
        assert!(child.wait_with_output().unwrap().status.success());
    }
    converge(&db).await;
    assert_eq!(db.total_retries().await, 0, "no change was blamed");
}

/// The queue is read by key ranges: PENDING changes scattered among long stretches of
/// SYNCED and FAILED history (wider than a read's window) are all read, in id order, once.
#[tokio::test]
async fn pending_changes_are_read_across_long_stretches_of_history() {
    let db = TestDb::new(&[]).await;
    db.insert_users(300).await;
    // PENDING: ids 1, 2, 50, 51, 52, 290 and the last one; everything else history.
    db.exec(
        "UPDATE sync_queue SET sync_status = IF(id % 7 = 0, 'FAILED', 'SYNCED') \
         WHERE id NOT IN (1, 2, 50, 51, 52, 290) AND id < (SELECT m FROM (SELECT MAX(id) AS m FROM sync_queue) x)",
    )
    .await;
    let expected: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM sync_queue WHERE sync_status = 'PENDING' ORDER BY id")
            .fetch_all(&db.local)
            .await
            .unwrap();
    assert_eq!(expected.len(), 7);
    let mut conn = db.local.acquire().await.unwrap();
    for limit in [1u32, 2, 3, 500] {
        let mut read = Vec::new();
        let mut after = i64::MIN;
        loop {
            let rows = dbsync::db::queue::pending_changes(&mut conn, after, i64::MAX, limit)
                .await
                .unwrap();
            let Some(last) = rows.last() else { break };
            assert!(rows.len() <= limit as usize);
            after = last.id;
            read.extend(rows.iter().map(|r| r.id));
        }
        assert_eq!(read, expected, "limit {limit}");
    }
    // Bounded above: nothing past `up_to`.
    let rows = dbsync::db::queue::pending_changes(&mut conn, 0, 51, 500)
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        [1, 2, 50, 51]
    );
}

/// A change backing off early in the queue: the next run skips the long SYNCED stretch
/// after it and applies what came later.
#[tokio::test]
async fn a_run_finds_new_changes_past_history_behind_a_backing_off_change() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "5"), ("SYNC_RETRY_BACKOFF", "3600")]).await;
    db.plant_central_clash().await;
    db.exec("INSERT INTO users (id, name, email) VALUES (9000, 'Poison', 'dup@x.io')")
        .await;
    db.insert_users(200).await;
    let first = db.sync().await;
    assert_eq!(first.failed, 1, "{first}");
    db.exec("INSERT INTO users (id, name, email) VALUES (5001, 'Late', 'late@x.io')")
        .await;
    db.sync().await;
    let late = db
        .count(&db.central, "SELECT COUNT(*) FROM users WHERE id = 5001")
        .await;
    assert_eq!(late, 1, "the change after the history reached db_b");
    assert_eq!(
        statuses(&db).await,
        vec![("PENDING".to_string(), 1), ("SYNCED".to_string(), 201)]
    );
}

/// Waits until more than `n` changes are SYNCED.
async fn wait_synced_over(db: &TestDb, n: i64) {
    for _ in 0..2000 {
        let sql = "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'SYNCED'";
        if db.count(&db.local, sql).await > n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("fewer than {n} changes synced after 10 s");
}

/// A run of 2 000 changes in batches of 20 through a proxy to db_b, with some batches in
/// already: for a test to cut, freeze or stop it mid-run. `settings` go to the engine.
async fn run_under_way(
    settings: &[(&str, &str)],
) -> (
    TestDb,
    CuttableProxy,
    tokio::task::JoinHandle<Result<dbsync::services::sync::RunReport, RunError>>,
    CancellationToken,
) {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "20")]).await;
    write_mix(&db, 2000).await;
    let proxy = db.central_proxy().await;
    let (engine, stop) = engine_through(&db, &proxy, settings);
    let run = tokio::spawn(async move { engine.run().await });
    wait_synced_over(&db, 100).await;
    (db, proxy, run, stop)
}

/// A run on db_b through `proxy` with these settings, and a stop of its own.
/// What [`run_with_db_b_frozen_on`] leaves to look at.
struct FrozenRun {
    report: dbsync::services::sync::RunReport,
    took: Duration,
    proxy: CuttableProxy,
    engine: std::sync::Arc<SyncEngine>,
    _stop: CancellationToken,
}

/// One run over a mix of changes, through a proxy that freezes db_b on the first statement
/// containing `text`; the run must end within 40 s.
async fn run_with_db_b_frozen_on(db: &TestDb, text: &str) -> FrozenRun {
    write_mix(db, 20).await;
    let proxy = db.central_proxy().await;
    proxy.freeze_on(text);
    let (engine, _stop) = engine_through(db, &proxy, &[]);
    let started = std::time::Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(40), engine.run())
        .await
        .expect("the run ended")
        .unwrap();
    FrozenRun {
        report,
        took: started.elapsed(),
        proxy,
        engine,
        _stop,
    }
}

fn engine_through(
    db: &TestDb,
    proxy: &CuttableProxy,
    settings: &[(&str, &str)],
) -> (std::sync::Arc<SyncEngine>, CancellationToken) {
    let port = proxy.port.to_string();
    let mut changes = vec![("DB_CENTRAL_PORT", port.as_str())];
    changes.extend_from_slice(settings);
    let stop = CancellationToken::new();
    let engine = SyncEngine::new(
        db.local.clone(),
        &db.config_with(&changes),
        stop.clone(),
        std::sync::Arc::new(dbsync::metrics::Metrics::new().expect("metrics")),
    );
    (engine, stop)
}

async fn nobody_blamed(db: &TestDb) {
    let sql = "SELECT COUNT(*) FROM sync_queue WHERE retry_count > 0 OR sync_status = 'FAILED'";
    assert_eq!(db.count(&db.local, sql).await, 0, "no change was blamed");
}

/// A network that goes silent mid-run (every packet dropped, the connection left open) is
/// given up after SYNC_STALL_TIMEOUT: the run ends `interrupted`, blaming nothing, instead
/// of waiting for ever and skipping every run after it. The next run carries on.
#[tokio::test]
async fn a_db_b_gone_silent_mid_run_is_given_up_after_the_stall_timeout() {
    let (db, proxy, run, _stop) = run_under_way(&[("SYNC_STALL_TIMEOUT", "15s")]).await;
    proxy.freeze();
    let frozen_at = std::time::Instant::now();
    let report = run.await.unwrap().unwrap();
    let waited = frozen_at.elapsed();
    assert_eq!(report.outcome, Outcome::Interrupted, "{report}");
    let note = report.message.clone().unwrap_or_default();
    assert!(note.contains("did not answer for 15 s"), "{note}");
    assert!(
        waited < Duration::from_secs(22),
        "given up {waited:?} after db_b went silent"
    );
    assert!(
        report.remaining > 0,
        "the silence came before the end: {report}"
    );
    // Every change the cut-off run marked SYNCED is counted, the batch marked while db_b
    // went silent too.
    let synced = db
        .count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'SYNCED'",
        )
        .await;
    assert_eq!(report.applied, synced as u64, "{report}");
    assert_eq!(reach(&db, true).await, CentralReach::Unreachable);
    nobody_blamed(&db).await;
    // db_b still holds the cut-off session, silent, with its transaction's locks (changes
    // of those rows are held back meanwhile, their children retried): it drops it once idle
    // for the stall timeout and a margin, and runs go through again.
    let given_up = std::time::Instant::now();
    let report = loop {
        let report = db.engine().run().await.unwrap();
        if report.outcome == Outcome::Synced {
            break report;
        }
        assert!(
            given_up.elapsed() < Duration::from_secs(60),
            "runs still held up a minute after the cut (db_b keeps it 15 + 15 s): {report}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    eprintln!(
        "synced again {:?} after the cut: {report}",
        given_up.elapsed()
    );
    db.assert_converged().await;
}

/// A stop asked while db_b is silent ends the run within the grace, not when db_b answers.
#[tokio::test]
async fn a_stop_while_db_b_is_silent_ends_the_run_within_the_grace() {
    let (db, proxy, run, stop) = run_under_way(&[]).await;
    proxy.freeze();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();
    let stopped_at = std::time::Instant::now();
    let report = run.await.unwrap().unwrap();
    let waited = stopped_at.elapsed();
    assert_eq!(report.outcome, Outcome::Interrupted, "{report}");
    let note = report.message.clone().unwrap_or_default();
    assert!(note.contains("shutdown requested"), "{note}");
    assert!(
        waited >= STOP_GRACE && waited < STOP_GRACE + Duration::from_secs(5),
        "the run ended {waited:?} after the stop"
    );
    nobody_blamed(&db).await;
    proxy.thaw();
    converge(&db).await;
}
