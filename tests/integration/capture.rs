//! The triggers: every write by plain SQL queues exactly the right change.

use crate::helpers::TestDb;

/// No change is waiting in the queue (the queue is shown when one is).
async fn assert_nothing_pending(db: &TestDb) {
    let pending = "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING'";
    assert_eq!(
        db.count(&db.local, pending).await,
        0,
        "{:?}",
        db.queue().await
    );
}

#[tokio::test]
async fn inserts_updates_and_deletes_queue_one_row_each_with_its_image() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'Zoë', 'zoe@example.com')")
        .await;
    db.exec("INSERT INTO orders (id, user_id, amount, status) VALUES (10, 1, 0.30, 'pending')")
        .await;
    db.exec("UPDATE users SET name = 'Zoé' WHERE id = 1").await;
    db.exec("UPDATE orders SET status = 'shipped' WHERE id = 10")
        .await;
    db.exec("DELETE FROM orders WHERE id = 10").await;
    db.exec("DELETE FROM users WHERE id = 1").await;

    let queue = db.queue().await;
    let summary: Vec<(&str, i64, &str, &str)> = queue
        .iter()
        .map(|r| {
            (
                r.table_name.as_str(),
                r.record_id,
                r.operation.as_str(),
                r.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("users", 1, "INSERT", "PENDING"),
            ("orders", 10, "INSERT", "PENDING"),
            ("users", 1, "UPDATE", "PENDING"),
            ("orders", 10, "UPDATE", "PENDING"),
            ("orders", 10, "DELETE", "PENDING"),
            ("users", 1, "DELETE", "PENDING"),
        ]
    );
    assert!(queue.iter().all(|r| r.retry_count == 0));
    assert_eq!(queue[0].payload()["name"], "Zoë");
    assert_eq!(queue[0].payload()["email"], "zoe@example.com");
    assert_eq!(queue[1].payload()["amount"], "0.30");
    assert_eq!(queue[1].payload()["user_id"], 1);
    assert_eq!(queue[2].payload()["name"], "Zoé");
    assert_eq!(queue[3].payload()["status"], "shipped");
    // A delete carries the row as it was.
    assert_eq!(queue[4].payload()["status"], "shipped");
    assert_eq!(queue[5].payload()["name"], "Zoé");
}

#[tokio::test]
async fn multi_row_statements_queue_one_row_per_row() {
    let db = TestDb::new(&[]).await;
    db.exec(
        "INSERT INTO users (name, email) VALUES ('a', 'a@x.io'), ('b', 'b@x.io'), ('c', 'c@x.io')",
    )
    .await;
    db.exec("UPDATE users SET name = UPPER(name)").await;
    db.exec("DELETE FROM users WHERE email <> 'b@x.io'").await;
    let ops: Vec<String> = db.queue().await.into_iter().map(|r| r.operation).collect();
    assert_eq!(
        ops,
        [
            "INSERT", "INSERT", "INSERT", "UPDATE", "UPDATE", "UPDATE", "DELETE", "DELETE"
        ]
    );
}

#[tokio::test]
async fn rolled_back_writes_and_no_op_updates_queue_nothing() {
    let db = TestDb::new(&[]).await;
    let mut tx = db.local.begin().await.unwrap();
    sqlx::query("INSERT INTO users (name, email) VALUES ('ghost', 'ghost@x.io')")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sync_queue")
            .fetch_one(&mut *tx)
            .await
            .unwrap(),
        1,
        "the queue row is written inside the writer's transaction"
    );
    tx.rollback().await.unwrap();
    assert!(db.queue().await.is_empty());

    db.exec("INSERT INTO users (id, name, email) VALUES (5, 'same', 'same@x.io')")
        .await;
    db.exec("UPDATE users SET name = 'same', email = 'same@x.io' WHERE id = 5")
        .await;
    db.exec("UPDATE users SET name = name").await;
    assert_eq!(db.queue().await.len(), 1, "only the insert is queued");

    // A case-only change is a change, even though the collation calls the values equal.
    db.exec("UPDATE users SET name = 'SAME' WHERE id = 5").await;
    assert_eq!(db.queue().await.len(), 2);
}

#[tokio::test]
async fn primary_key_update_queues_delete_of_old_and_insert_of_new() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (7, 'mover', 'mover@x.io')")
        .await;
    db.exec("UPDATE users SET id = 70 WHERE id = 7").await;
    let queue = db.queue().await;
    assert_eq!(queue.len(), 3);
    assert_eq!(
        (queue[1].record_id, queue[1].operation.as_str()),
        (7, "DELETE")
    );
    assert_eq!(
        (queue[2].record_id, queue[2].operation.as_str()),
        (70, "INSERT")
    );
    assert_eq!(queue[2].payload()["id"], 70);
}

#[tokio::test]
async fn explicit_change_of_updated_at_alone_is_captured() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x.io')")
        .await;
    let stored: String = sqlx::query_scalar(
        "SELECT DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') FROM users WHERE id = 1",
    )
    .fetch_one(&db.local)
    .await
    .unwrap();
    db.exec("UPDATE users SET updated_at = '2020-01-02 03:04:05.678900' WHERE id = 1")
        .await;
    let queue = db.queue().await;
    assert_eq!(
        queue[0].payload()["updated_at"],
        stored.as_str(),
        "the image holds the stored time, to the microsecond"
    );
    assert_eq!(queue.len(), 2);
    assert_eq!(
        queue[1].payload()["updated_at"],
        "2020-01-02 03:04:05.678900"
    );
}

/// `UPDATE IGNORE` fires the update trigger also for rows it skipped (a duplicate key, a
/// foreign key it would break). Nothing happened to those rows, so nothing is queued; the
/// rows it did change are queued as usual, and db_b ends equal to db_a.
#[tokio::test]
async fn update_ignore_queues_only_the_rows_it_changed() {
    let mut db = TestDb::new(&[]).await;
    db.exec("CREATE TABLE codes (code VARCHAR(20) COLLATE utf8mb4_unicode_ci PRIMARY KEY, v INT)")
        .await;
    db.set("SYNC_TABLES", "users,orders,codes");
    dbsync::services::setup::init(&db.config, false)
        .await
        .expect("init with codes");
    db.insert_users(3).await;
    db.exec("INSERT INTO orders (id, user_id, amount, status) VALUES (1, 1, 5.00, 'pending')")
        .await;
    db.exec("INSERT INTO codes VALUES ('a', 1), ('b', 2), ('c', 3)")
        .await;
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;

    // Skipped rows: a primary key taken, a unique email taken, a missing parent, a string
    // key taken (case-insensitively).
    db.exec("UPDATE IGNORE users SET id = 2 WHERE id = 1").await;
    db.exec("UPDATE IGNORE users SET email = 'user3@example.com', name = 'Hijack' WHERE id = 2")
        .await;
    db.exec("UPDATE IGNORE orders SET user_id = 99 WHERE id = 1")
        .await;
    db.exec("UPDATE IGNORE codes SET code = 'B' WHERE code = 'a'")
        .await;
    assert_nothing_pending(&db).await;

    // One statement that changes some rows and skips others queues the changed ones.
    db.exec("UPDATE IGNORE users SET id = id + 1 ORDER BY id DESC")
        .await;
    let moved: Vec<(String, i64)> = db
        .queue()
        .await
        .into_iter()
        .filter(|r| r.status == "PENDING")
        .map(|r| (r.operation, r.record_id))
        .collect();
    // users 3 → 4 and 2 → 3 move; user 1 stays (its order holds it: the FK is RESTRICT).
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM users ORDER BY id")
        .fetch_all(&db.local)
        .await
        .unwrap();
    assert_eq!(ids, vec![1, 3, 4]);
    assert_eq!(
        moved,
        vec![
            ("DELETE".to_string(), 3),
            ("INSERT".to_string(), 4),
            ("DELETE".to_string(), 2),
            ("INSERT".to_string(), 3),
        ]
    );
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    db.assert_converged().await;
    let codes = "SELECT COUNT(*) FROM codes WHERE BINARY code IN ('a', 'b', 'c') ";
    assert_eq!(db.count(&db.central, codes).await, 3);
}

/// `UPDATE IGNORE` skipping a row for a child's foreign key on a non-unique parent column,
/// or for a unique key on a generated column: nothing is queued for it either.
#[tokio::test]
async fn update_ignore_skips_for_other_tables_keys_and_generated_keys() {
    let mut db = TestDb::new(&[]).await;
    db.exec(
        "CREATE TABLE parents (id INT PRIMARY KEY, code VARCHAR(10), KEY (code)); \
         CREATE TABLE kids (id INT PRIMARY KEY, code VARCHAR(10), FOREIGN KEY (code) REFERENCES parents (code)); \
         CREATE TABLE tags (id INT PRIMARY KEY, a VARCHAR(20), la VARCHAR(20) AS (LOWER(a)) VIRTUAL, UNIQUE KEY (la))",
    )
    .await;
    db.set("SYNC_TABLES", "users,orders,parents,kids,tags");
    dbsync::services::setup::init(&db.config, false)
        .await
        .expect("init");
    db.exec(
        "INSERT INTO parents VALUES (1, 'old'); INSERT INTO kids VALUES (1, 'old'); \
         INSERT INTO tags (id, a) VALUES (1, 'x'), (2, 'y')",
    )
    .await;
    assert_eq!(db.sync().await.failed, 0);
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
    db.exec("UPDATE IGNORE parents SET code = 'new' WHERE id = 1; UPDATE IGNORE tags SET a = 'X' WHERE id = 2")
        .await;
    assert_nothing_pending(&db).await;
    db.exec("UPDATE tags SET a = 'z' WHERE id = 1").await;
    assert_eq!(db.sync().await.failed, 0);
    db.assert_converged().await;
}

/// A unique index added on db_a is a schema change: runs wait for `init`, whose new
/// triggers check updates of that column too.
#[tokio::test]
async fn an_index_added_on_db_a_waits_for_init() {
    let db = TestDb::new(&[]).await;
    db.insert_users(2).await;
    assert_eq!(db.sync().await.failed, 0);
    db.exec("ALTER TABLE users ADD UNIQUE KEY uniq_name (name)")
        .await;
    let out = db.cli(&["sync"]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        crate::helpers::stdout(&out)
    );
    assert!(db.cli(&["init"]).status.success());
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
    db.exec("UPDATE IGNORE users SET name = 'user 2' WHERE id = 1")
        .await;
    assert_nothing_pending(&db).await;
    assert_eq!(db.sync().await.failed, 0);
    db.assert_converged().await;
}
