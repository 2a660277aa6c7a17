//! Commit order is not id order, and queues go backwards: nothing may be lost, rejected or
//! applied out of order because of either (docs/ordering.md).

use std::time::Duration;

use dbsync::domain::Outcome;
use sqlx::Connection;

use crate::helpers::{TestDb, stderr, stdout};

/// Waits until the run marks a batch and waits there for the row the test locked (a run
/// blocked where the test wants it).
async fn until_a_run_waits_for_a_lock(db: &TestDb) {
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
         WHERE DB = '{}' AND ID <> CONNECTION_ID() AND INFO LIKE 'UPDATE sync_queue SET sync_status = ''SYNCED''%'",
        db.config.local.database
    );
    for _ in 0..500 {
        if db.count(&db.local, &sql).await > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the run never blocked");
}

async fn assert_clean(db: &TestDb) {
    db.assert_converged().await;
    assert_eq!(db.total_retries().await, 0, "no change was blamed");
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'"
        )
        .await,
        0,
        "every change SYNCED"
    );
}

/// The run refuses (`rewound`) and `not_applied` counts no row in db_b; `dbsync rebase` then
/// brings db_b level with db_a.
async fn refused_as_rewound_then_rebased(db: &TestDb, not_applied: &str) {
    let report = db.engine().run().await.unwrap();
    assert_eq!(report.outcome, Outcome::Rewound, "{report}");
    assert_eq!(
        db.count(&db.central, not_applied).await,
        0,
        "nothing applied"
    );
    let out = db.cli(&["rebase"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_clean(db).await;
}

/// The case: a transaction holds its user open across a run, then inserts the
/// user's order and commits while the run is past the user's queue id.
#[tokio::test]
async fn a_transaction_open_across_a_run_is_never_applied_out_of_order() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "50"), ("SYNC_MAX_RETRIES", "1")]).await;
    let mut writer = db.local.acquire().await.unwrap();
    let mut open = writer.begin().await.unwrap();
    sqlx::query("INSERT INTO users (id, name, email) VALUES (50000, 'late', 'late@x.io')")
        .execute(&mut *open)
        .await
        .unwrap();
    db.insert_users(2000).await;
    // Block the run after its first batches: marking them waits for this lock.
    let mut blocker = db.local.acquire().await.unwrap();
    let mut block = blocker.begin().await.unwrap();
    sqlx::query("SELECT id FROM sync_queue WHERE id = 10 FOR UPDATE")
        .execute(&mut *block)
        .await
        .unwrap();
    let engine = db.engine();
    let run = tokio::spawn(async move { engine.run().await });
    until_a_run_waits_for_a_lock(&db).await;
    sqlx::query("INSERT INTO orders (id, user_id, amount) VALUES (900000, 50000, 1.00)")
        .execute(&mut *open)
        .await
        .unwrap();
    open.commit().await.unwrap();
    block.commit().await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert_eq!(
        (report.outcome, report.failed),
        (Outcome::Synced, 0),
        "{report}"
    );
    db.sync().await;
    assert_clean(&db).await;
}

/// A unique value freed by a late transaction and taken by another session meanwhile.
#[tokio::test]
async fn a_unique_value_freed_late_is_taken_without_a_clash() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "50"), ("SYNC_MAX_RETRIES", "1")]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'A', 'x@x.io'), (2, 'B', 'b@x.io')")
        .await;
    db.sync().await;
    let mut first = db.local.acquire().await.unwrap();
    let mut frees = first.begin().await.unwrap();
    sqlx::query("UPDATE users SET email = 'a-new@x.io' WHERE id = 1")
        .execute(&mut *frees)
        .await
        .unwrap();
    let rows: Vec<String> = (100..1100)
        .map(|i| format!("({i}, 'u{i}', 'u{i}@x.io')"))
        .collect();
    db.exec(&format!(
        "INSERT INTO users (id, name, email) VALUES {}",
        rows.join(",")
    ))
    .await;
    let mut blocker = db.local.acquire().await.unwrap();
    let mut block = blocker.begin().await.unwrap();
    sqlx::query("SELECT id FROM sync_queue WHERE id = 20 FOR UPDATE")
        .execute(&mut *block)
        .await
        .unwrap();
    let engine = db.engine();
    let run = tokio::spawn(async move { engine.run().await });
    until_a_run_waits_for_a_lock(&db).await;
    frees.commit().await.unwrap();
    db.exec("UPDATE users SET email = 'x@x.io' WHERE id = 2")
        .await;
    block.commit().await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.failed, 0, "{report}");
    db.sync().await;
    assert_clean(&db).await;
}

/// The safety net: a change that appears below the run's position (an id handed out
/// before others but written after them) makes the run step back instead of blaming the
/// change that needs it.
#[tokio::test]
async fn a_change_appearing_below_the_run_is_applied_first_and_nobody_is_blamed() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "50"), ("SYNC_MAX_RETRIES", "1")]).await;
    db.insert_users(59).await;
    // A rolled-back write leaves queue id 60 unused.
    let mut conn = db.local.acquire().await.unwrap();
    let mut rolled_back = conn.begin().await.unwrap();
    sqlx::query("INSERT INTO users (id, name, email) VALUES (60, 'ghost', 'ghost@x.io')")
        .execute(&mut *rolled_back)
        .await
        .unwrap();
    rolled_back.rollback().await.unwrap();
    let rows: Vec<String> = (61..=400)
        .map(|i| format!("({i}, 'u{i}', 'u{i}@x.io')"))
        .collect();
    db.exec(&format!(
        "INSERT INTO users (id, name, email) VALUES {}",
        rows.join(",")
    ))
    .await;
    db.exec("INSERT INTO users (id, name, email) VALUES (5000, 'late', 'late@x.io')")
        .await;
    db.exec("INSERT INTO orders (id, user_id, amount) VALUES (9000, 5000, 2.50)")
        .await;
    let late: (i64, String) = sqlx::query_as(
        "SELECT id, payload FROM sync_queue WHERE table_name = 'users' AND record_id = 5000",
    )
    .fetch_one(&db.local)
    .await
    .unwrap();
    db.exec(&format!("DELETE FROM sync_queue WHERE id = {}", late.0))
        .await;

    let mut blocker = db.local.acquire().await.unwrap();
    let mut block = blocker.begin().await.unwrap();
    sqlx::query("SELECT id FROM sync_queue WHERE id = 10 FOR UPDATE")
        .execute(&mut *block)
        .await
        .unwrap();
    let engine = db.engine();
    let run = tokio::spawn(async move { engine.run().await });
    until_a_run_waits_for_a_lock(&db).await;
    sqlx::query("INSERT INTO sync_queue (id, table_name, record_id, operation, payload) VALUES (60, 'users', 5000, 'INSERT', ?)")
        .bind(&late.1)
        .execute(&db.local)
        .await
        .unwrap();
    block.commit().await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert_eq!(
        (report.outcome, report.failed),
        (Outcome::Synced, 0),
        "{report}"
    );
    assert_clean(&db).await;
}

/// A change held back (its db_b row locked) in a batch that then steps back for a late
/// commit is read again: it stays held once. Before, the run counted it held back twice
/// and held two copies of it.
#[tokio::test]
async fn a_change_held_back_before_a_step_back_is_held_once() {
    let db = TestDb::new(&[]).await;
    db.exec(
        "INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x.io'); \
         INSERT INTO orders (id, user_id, amount) VALUES (10, 1, 1.00)",
    )
    .await;
    db.sync().await;
    // User 5's insert takes a queue id below the two changes after it, and commits last.
    let mut conn = db.local.acquire().await.unwrap();
    let mut late = conn.begin().await.unwrap();
    sqlx::query("INSERT INTO users (id, name, email) VALUES (5, 'late', 'late@x.io')")
        .execute(&mut *late)
        .await
        .unwrap();
    db.exec(
        "UPDATE orders SET amount = 3.00 WHERE id = 10; SET foreign_key_checks = 0; \
         INSERT INTO orders (id, user_id, amount) VALUES (1, 5, 2.50); SET foreign_key_checks = 1",
    )
    .await;
    let lock = db
        .hold_in_central(&["SELECT id FROM orders WHERE id = 10 FOR UPDATE"])
        .await;
    let engine = db.engine();
    let run = tokio::spawn(async move { engine.run().await });
    // The run has read its batch (without user 5) once db_b makes it wait for the row.
    let waiting = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
         WHERE DB = '{}' AND ID <> CONNECTION_ID() AND INFO LIKE 'INSERT INTO `orders`%'",
        db.config.central.database
    );
    let mut polls = 0;
    while db.count(&db.central, &waiting).await == 0 {
        polls += 1;
        assert!(polls < 2000, "the run never waited for the locked row");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    late.commit().await.unwrap();
    let report = run.await.unwrap().unwrap();
    lock.rollback().await.unwrap();
    assert_eq!(
        (report.outcome, report.held_back, report.failed),
        (Outcome::Partial, 1, 0),
        "{report}"
    );
    let order = "SELECT COUNT(*) FROM orders WHERE id = 1 AND user_id = 5";
    assert_eq!(
        db.count(&db.central, order).await,
        1,
        "applied after the step back"
    );
    db.sync().await;
    assert_clean(&db).await;
}

/// Writers racing the engine with multi-statement transactions (some rolled back), two
/// runners at once: no change db_a committed is ever rejected, and all converges.
#[tokio::test]
async fn concurrent_writers_and_two_runners_never_cause_a_rejection() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "40"), ("SYNC_MAX_RETRIES", "1")]).await;
    db.insert_users(200).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..6u64 {
        let pool = db.local.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut round = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                round += 1;
                let _ = crate::stress::one_transaction(&pool, w, round).await;
            }
        }));
    }
    let mut runners = Vec::new();
    for _ in 0..2 {
        let engine = db.engine();
        let stop = stop.clone();
        runners.push(tokio::spawn(async move {
            let mut rejected = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(report) = engine.run().await {
                    rejected += report.failed;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            rejected
        }));
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    for runner in runners {
        assert_eq!(runner.await.unwrap(), 0, "a runner rejected a change");
    }
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    assert_clean(&db).await;
}

/// After `TRUNCATE sync_queue` new changes get ids db_b already counts as applied: the run
/// refuses before applying anything, and `dbsync rebase` repairs it.
#[tokio::test]
async fn a_truncated_queue_is_refused_and_rebased() {
    let db = TestDb::new(&[]).await;
    db.insert_users(30).await;
    db.sync().await;
    db.exec("TRUNCATE sync_queue").await;
    db.exec("UPDATE users SET name = 'after truncate' WHERE id <= 3")
        .await;
    db.exec("INSERT INTO users (id, name, email) VALUES (31, 'new', 'new31@x.io')")
        .await;
    let out = db.cli(&["sync"]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("rewound") && stdout(&out).contains("dbsync rebase"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE name = 'after truncate'"
        )
        .await,
        0,
        "nothing applied"
    );
    assert_eq!(db.total_retries().await, 0);

    let out = db.cli(&["rebase"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_clean(&db).await;
    db.exec("UPDATE users SET name = 'later' WHERE id = 4")
        .await;
    db.sync().await;
    assert_clean(&db).await;
}

/// After an initial load, db_b's ledger holds the load's queue position for records whose
/// changes were still queued, and no change has been applied yet. A queue that goes back
/// and then reaches that position again must still be refused: its new changes would be
/// skipped as superseded by the load.
#[tokio::test]
async fn a_queue_truncated_after_a_load_is_refused() {
    let db = TestDb::new(&[]).await;
    db.insert_users(3).await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    db.exec("TRUNCATE sync_queue").await;
    db.exec("UPDATE users SET name = 'after truncate' WHERE id <= 3")
        .await;
    let after_truncate = "SELECT COUNT(*) FROM users WHERE name = 'after truncate'";
    refused_as_rewound_then_rebased(&db, after_truncate).await;
    assert_eq!(db.count(&db.central, after_truncate).await, 3);
}

/// The same after db_a is restored from a dump older than the load: the restored queue's
/// new changes reuse ids up to the load's position.
#[tokio::test]
async fn a_db_a_restored_from_before_a_load_is_refused() {
    let db = TestDb::new(&[]).await;
    let dump = crate::stress::dump(&db);
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x.io'), (2, 'b', 'b@x.io')")
        .await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    crate::stress::restore(&db, &dump);
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'new a', 'na@x.io'), (2, 'new b', 'nb@x.io')")
        .await;
    refused_as_rewound_then_rebased(&db, "SELECT COUNT(*) FROM users WHERE name LIKE 'new%'").await;
}

/// db_a restored from a dump taken earlier: its queue ids are reused by new, different
/// changes. Refused, then rebased: db_b ends equal to the restored db_a.
#[tokio::test]
async fn a_db_a_restored_from_an_older_dump_is_refused_and_rebased() {
    let db = TestDb::new(&[]).await;
    db.insert_users(20).await;
    db.sync().await;
    let dump = crate::stress::dump(&db);
    db.exec("UPDATE users SET name = 'lost with the disk' WHERE id <= 10")
        .await;
    db.exec("INSERT INTO users (id, name, email) VALUES (21, 'gone', 'gone@x.io')")
        .await;
    db.sync().await;
    crate::stress::restore(&db, &dump);
    db.exec("UPDATE users SET email = CONCAT('re-', email) WHERE id IN (1, 2, 3, 4, 5)")
        .await;
    refused_as_rewound_then_rebased(&db, "SELECT COUNT(*) FROM users WHERE email LIKE 're-%'")
        .await;
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users WHERE id = 21")
            .await,
        0
    );
}
