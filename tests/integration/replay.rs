//! Replays, requeues and resyncs: nothing moves a record back, nothing is applied twice, and
//! the history and the status commands tell the truth afterwards.

use dbsync::domain::Outcome;

use crate::helpers::{TestDb, run_cli, stderr, stdout};
use crate::sync::{all_synced, converge, write_mix};

#[tokio::test]
async fn requeued_old_change_never_moves_a_record_back() {
    let db = TestDb::new(&[("SYNC_MAX_RETRIES", "1")]).await;
    db.plant_central_clash().await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'old', 'dup@x.io')")
        .await;
    db.sync().await;
    assert_eq!(db.queue().await[0].status, "FAILED");
    db.remove_central_clash().await;
    db.exec("UPDATE users SET name = 'new', email = 'new@x.io' WHERE id = 1")
        .await;
    db.sync().await;
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE id = 1 AND name = 'new'"
        )
        .await,
        1
    );
    // The FAILED change was closed by the later one; left FAILED (by an earlier version),
    // requeueing it must not move the record back either.
    let first = &db.queue().await[0];
    assert_eq!(first.status, "SYNCED");
    assert!(
        first
            .last_error
            .as_deref()
            .unwrap_or_default()
            .starts_with("superseded"),
        "{:?}",
        first.last_error
    );
    db.exec(&format!(
        "UPDATE sync_queue SET sync_status = 'FAILED' WHERE id = {}",
        first.id
    ))
    .await;

    let out = db.cli(&["requeue", "--id", "999999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no FAILED change with id 999999"),
        "{}",
        stderr(&out)
    );
    let out = db.cli(&["requeue", "--id", &db.queue().await[0].id.to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    db.sync().await;
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE id = 1 AND name = 'new'"
        )
        .await,
        1,
        "still the newer state"
    );
    db.assert_converged().await;
    all_synced(&db).await;
}

#[tokio::test]
async fn replaying_synced_changes_is_idempotent() {
    let db = TestDb::new(&[]).await;
    write_mix(&db, 100).await;
    db.sync().await;
    // As if the process died after db_b committed but before the queue was marked.
    db.exec("UPDATE sync_queue SET sync_status = 'PENDING'")
        .await;
    converge(&db).await;
}

#[tokio::test]
async fn a_replayed_older_change_never_overwrites_a_newer_one() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'v1', 'v1@x.io')")
        .await;
    db.exec("UPDATE users SET name = 'v2', email = 'v2@x.io' WHERE id = 1")
        .await;
    db.sync().await;
    // The first change is unmarked, as after a crash between db_b's commit and the mark
    // while the second was already applied.
    db.exec("UPDATE sync_queue SET sync_status = 'PENDING' WHERE id = 1")
        .await;
    let report = db.sync().await;
    assert_eq!((report.applied, report.failed), (1, 0));
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users WHERE name = 'v2'")
            .await,
        1
    );
    db.assert_converged().await;
}

#[tokio::test]
async fn old_synced_history_is_purged() {
    let db = TestDb::new(&[("SYNC_RETENTION", "1d")]).await;
    write_mix(&db, 30).await;
    db.sync().await;
    db.exec("UPDATE sync_queue SET last_updated_at = CURRENT_TIMESTAMP(6) - INTERVAL 2 DAY WHERE id <= 40").await;
    db.exec("INSERT INTO users (id, name, email) VALUES (5000, 'x', 'x5000@x.io')")
        .await;
    db.sync().await;
    assert_eq!(
        db.count(&db.local, "SELECT COUNT(*) FROM sync_queue WHERE id <= 40")
            .await,
        0
    );
    assert!(db.count(&db.local, "SELECT COUNT(*) FROM sync_queue").await > 0);
}

#[tokio::test]
async fn resync_rebuilds_a_drifted_central_and_verify_reports_ids() {
    let db = TestDb::new(&[]).await;
    write_mix(&db, 40).await;
    db.sync().await;
    db.exec_central("DELETE FROM orders WHERE id IN (1, 2)")
        .await;
    db.exec_central("UPDATE users SET name = 'drift' WHERE id = 3")
        .await;
    let out = db.cli(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("orders: 2 differing id(s): 1, 2"), "{text}");
    assert!(text.contains("users: 1 differing id(s): 3"), "{text}");
    assert!(
        text.contains("no change is pending or FAILED in db_a's queue: `dbsync resync` copies"),
        "{text}"
    );

    // Rows only db_b has: an order and its user, gone from db_a long ago.
    db.exec_central(
        "INSERT INTO users (id, name, email, updated_at) VALUES (7000, 'gone', 'gone@x.io', NOW(6))",
    )
    .await;
    db.exec_central(
        "INSERT INTO orders (id, user_id, amount, status, updated_at) VALUES (7000, 7000, 1.00, 'pending', NOW(6))",
    )
    .await;
    let out = db.cli(&["resync"]);
    assert!(stdout(&out).contains("removed 2"), "{}", stdout(&out));
    assert!(out.status.success(), "{}", stderr(&out));
    db.sync().await;
    db.assert_converged().await;
}

#[tokio::test]
async fn status_command_reports_counts_and_last_run() {
    let db = TestDb::new(&[]).await;
    write_mix(&db, 10).await;
    let synced = db.sync().await.applied;
    assert_eq!(synced, 26);
    db.exec("INSERT INTO users (id, name, email) VALUES (77, 'n', 'n77@x.io')")
        .await;
    let out = db.cli(&["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["counts"]["pending"], 1);
    assert_eq!(report["counts"]["synced"], 26);
    assert_eq!(report["last_run"]["outcome"], "synced");
    assert_eq!(report["last_run"]["applied"], 26);
    assert_eq!(
        report["entries"]["items"].as_array().unwrap().len(),
        27,
        "the same page as GET /sync/status"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("password"));
}

#[tokio::test]
async fn resync_finds_rows_only_db_b_has_across_pages() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "2000")]).await;
    db.insert_users(11_000).await;
    db.sync().await;
    for id in [11_001, 20_000] {
        db.exec_central(&format!(
            "INSERT INTO users (id, name, email, updated_at) VALUES ({id}, 'extra', 'extra{id}@x.io', NOW(6))"
        ))
        .await;
    }
    let out = db.cli(&["resync"]);
    assert!(
        stdout(&out).contains("checked 11000, copied 0, removed 2 (rows only db_b had)"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    converge(&db).await;
}

/// `resync --table`: a repair of one table copies that table alone and leaves the other
/// tables' copies (and their progress in `sync_load`) as they were; verify names the table.
#[tokio::test]
async fn resync_of_one_table_leaves_the_others_as_they_are() {
    let db = TestDb::new(&[]).await;
    write_mix(&db, 40).await;
    db.sync().await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = |table: &'static str| {
        let local = db.local.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT CONCAT(token, '/', finished_at) FROM sync_load WHERE table_name = ?",
            )
            .bind(table)
            .fetch_one(&local)
            .await
            .unwrap_or_else(|e| panic!("sync_load of {table}: {e}"))
        }
    };
    let (users_before, orders_before) = (token("users").await, token("orders").await);

    db.exec_central("UPDATE users SET name = 'drift' WHERE id = 3")
        .await;
    db.exec_central(
        "INSERT INTO users (id, name, email, updated_at) VALUES (7000, 'gone', 'gone@x.io', NOW(6))",
    )
    .await;
    let text = stdout(&db.cli(&["verify"]));
    assert!(
        text.contains("`dbsync resync --table users` copies"),
        "{text}"
    );

    // orders drifts too; only users is copied again.
    db.exec_central("DELETE FROM orders WHERE id = 1").await;
    let users = db.count(&db.local, "SELECT COUNT(*) FROM users").await;
    let out = db.cli(&["resync", "--table", "users", "--table", "users"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!("load: checked {users}, copied 1, removed 1")),
        "{text}"
    );
    assert!(
        text.contains("`orders` refers to `users` and only one of them is copied"),
        "{text}"
    );
    let out = db.cli(&["verify"]);
    let text = stdout(&out);
    assert!(text.contains("users: equal"), "{text}");
    assert!(text.contains("orders: 1 differing id(s): 1"), "{text}");
    assert_ne!(token("users").await, users_before, "users copied anew");
    assert_eq!(
        token("orders").await,
        orders_before,
        "orders' copy untouched"
    );

    // Tables that are not synced: a usage error naming each, and nothing changes.
    let out = db.cli(&[
        "resync", "--table", "users", "--table", "nope", "--table", "users ",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(
            r#"resync --table: "nope", "users " are not synced tables (SYNC_TABLES is users,orders)"#
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(token("orders").await, orders_before);

    // Offline, the copy is set up for the next run, and the command says so.
    let mut offline = db.env.clone();
    offline.insert("IS_ONLINE".into(), "false".into());
    let out = run_cli(&offline, &["resync", "--table", "orders"]);
    assert_eq!(out.status.code(), Some(5), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("the copy is set up: the next run makes it"),
        "{}",
        stdout(&out)
    );
    // Another table's copy cut short is carried on by the run, as any run carries it on.
    db.exec("UPDATE sync_load SET finished_at = NULL WHERE table_name = 'users'")
        .await;
    let out = db.cli(&["resync", "--table", "orders"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("this run also carries on the unfinished copy of users ("),
        "{}",
        stdout(&out)
    );
    converge(&db).await;
}

/// db_a restored from a dump taken without triggers (`mysqldump --skip-triggers`) takes
/// writes nobody queues: runs stop before applying anything and say what to run, `init`
/// puts the triggers back and `resync --table` copies what the writes missed.
#[tokio::test]
async fn missing_capture_triggers_stop_runs_until_init_and_resync() {
    let db = TestDb::new(&[]).await;
    write_mix(&db, 10).await;
    db.sync().await;
    db.exec("DROP TRIGGER users_after_update").await;
    db.exec("UPDATE users SET name = 'unqueued' WHERE id = 1")
        .await;
    db.exec("INSERT INTO orders (id, user_id, amount) VALUES (9000, 1, 2.50)")
        .await;

    let out = db.cli(&["sync"]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("the capture triggers of `users` are missing on db_a")
            && text
                .contains("Run `dbsync init` to put them back, then `dbsync resync --table users`"),
        "{text}"
    );
    let copied = "SELECT COUNT(*) FROM orders WHERE id = 9000";
    assert_eq!(db.count(&db.central, copied).await, 0, "nothing applied");

    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = db.cli(&["resync", "--table", "users"]);
    assert!(out.status.success(), "{}", stderr(&out));
    db.sync().await;
    db.assert_converged().await;
    let renamed = "SELECT COUNT(*) FROM users WHERE name = 'unqueued'";
    assert_eq!(db.count(&db.central, renamed).await, 1);
}

/// A change db_b refuses for a missing parent is superseded only by a later change of the
/// same record of the same table: a change of the same id in a table whose name differs
/// only in case (`C` beside `c`) is another record. Before, the queue's table name compared
/// without case, and the orphan was marked SYNCED unapplied, with nothing to show for it.
#[tokio::test]
async fn a_later_change_of_a_table_named_alike_does_not_supersede_an_orphan() {
    let db = TestDb::with_table(
        "CREATE TABLE p (id INT PRIMARY KEY); \
         CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id)); \
         CREATE TABLE C (id INT PRIMARY KEY, v VARCHAR(10))",
        "p,c,C",
    )
    .await;
    db.exec(
        "SET SESSION foreign_key_checks = 0; INSERT INTO c VALUES (15, 99); \
         SET SESSION foreign_key_checks = 1; INSERT INTO C VALUES (15, 'x')",
    )
    .await;
    let report = db.engine().run().await.expect("sync run");
    assert!(report.failed > 0 || report.waiting > 0, "{report}");
    let orphan = "SELECT COUNT(*) FROM sync_queue WHERE CAST(table_name AS BINARY) = 'c' \
                  AND record_id = 15 AND sync_status <> 'SYNCED'";
    assert_eq!(db.count(&db.local, orphan).await, 1);
}

/// A change superseded without a write to db_b (db_b lacks its parent, and a later change
/// of the record is queued) raises db_b's watermark like an applied one. It was marked
/// SYNCED with db_b's mark below it: when it was the newest, every later run ended
/// `rewound`, taking db_b for restored from a backup, and nothing synced again.
#[tokio::test]
async fn a_change_superseded_without_a_write_keeps_the_site_syncing() {
    let db = TestDb::new(&[("SYNC_MAX_RETRIES", "1")]).await;
    db.exec(
        "SET SESSION foreign_key_checks = 0; \
         INSERT INTO orders (id, user_id, amount, status) VALUES (7, 777777, 5.00, 'pending'); \
         UPDATE orders SET amount = 6.00 WHERE id = 7",
    )
    .await;
    let report = db.sync().await;
    assert_eq!(report.failed, 1, "{report}");
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'after', 'after@x.io')")
        .await;
    let report = db.engine().run().await.expect("sync run");
    assert_eq!(report.outcome, Outcome::Synced, "{report}");
    let after = "SELECT COUNT(*) FROM users WHERE name = 'after'";
    assert_eq!(db.count(&db.central, after).await, 1);
}
