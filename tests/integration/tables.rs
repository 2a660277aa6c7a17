//! Any table, any key shape: user tables added by configuration, schema changes on db_a,
//! and what `init` refuses.

use std::time::Duration;

use dbsync::domain::Outcome;

use crate::helpers::{TestDb, cli_command, stderr, stdout};

const SHOP_TABLES: &str = "CREATE TABLE products (
  sku VARCHAR(32) NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, price DECIMAL(10,2) NOT NULL,
  UNIQUE KEY uq_products_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE order_lines (
  order_id BIGINT NOT NULL, line_no INT NOT NULL, sku VARCHAR(32) NOT NULL, qty INT NOT NULL,
  PRIMARY KEY (order_id, line_no),
  CONSTRAINT fk_lines_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_lines_product FOREIGN KEY (sku) REFERENCES products (sku) ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

pub(crate) async fn shop(extra: &[(&str, &str)]) -> TestDb {
    let mut db = TestDb::new(extra).await;
    db.exec(SHOP_TABLES).await;
    db.set("SYNC_TABLES", "users,orders,products,order_lines");
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    db
}

pub(crate) async fn write_shop(db: &TestDb, n: usize) {
    db.insert_users(n).await;
    for i in 1..=n {
        db.exec(&format!(
            "INSERT INTO orders (id, user_id, amount) VALUES ({i}, {i}, 1.{:02}); \
             INSERT INTO products (sku, name, price) VALUES ('SKU-{i}', 'Product {i}', {i}.99); \
             INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES ({i}, 1, 'SKU-{i}', 1), ({i}, 2, 'SKU-{i}', 2)",
            i % 100
        ))
        .await;
    }
    db.exec("UPDATE products SET price = price + 1 WHERE sku IN ('SKU-1', 'SKU-2')")
        .await;
    db.exec("INSERT INTO products (sku, name, price) VALUES ('SKU-X', 'Clash', 5.00)")
        .await;
    db.exec("UPDATE order_lines SET qty = 9 WHERE order_id = 3")
        .await;
    db.exec("DELETE FROM order_lines WHERE order_id = 4 AND line_no = 2")
        .await;
    db.exec("UPDATE order_lines SET line_no = 3 WHERE order_id = 5 AND line_no = 2")
        .await;
}

/// Tables a site adds by editing SYNC_TABLES and running `dbsync init`, with a string key
/// and a composite key and foreign keys among them, sync with no code change.
#[tokio::test]
async fn user_tables_with_string_and_composite_keys_sync() {
    let db = shop(&[]).await;
    write_shop(&db, 30).await;
    let queue = db.queue().await;
    let moved: Vec<_> = queue
        .iter()
        .filter(|r| r.table_name == "order_lines" && r.operation == "DELETE")
        .collect();
    assert_eq!(
        moved.len(),
        2,
        "one delete, one key change (DELETE + INSERT)"
    );
    assert_eq!(
        moved[1].record_key.as_deref(),
        Some("[5, 2]"),
        "a composite key travels whole"
    );
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    db.assert_converged().await;
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM order_lines")
            .await,
        59
    );
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM products").await,
        31
    );
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM order_lines WHERE order_id = 5 AND line_no = 3"
        )
        .await,
        1
    );
    // db_b's copies have the same key, unique key and foreign keys.
    let fks = db
        .count(
            &db.central,
            "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()",
        )
        .await;
    assert_eq!(fks, 3, "orders→users, lines→orders, lines→products");
    db.exec_central("UPDATE products SET price = 0 WHERE sku = 'SKU-7'")
        .await;
    let out = db.cli(&["verify"]);
    assert!(
        stdout(&out).contains("products: 1 differing id(s): [\"SKU-7\"]"),
        "{}",
        stdout(&out)
    );
}

/// A poison change in a user table fails alone; a kill mid-run loses nothing.
#[tokio::test]
async fn user_tables_isolate_poison_and_survive_a_kill() {
    let db = shop(&[("SYNC_BATCH_SIZE", "20"), ("SYNC_MAX_RETRIES", "1")]).await;
    db.exec_central("INSERT INTO products (sku, name, price) VALUES ('CENTRAL', 'Clash', 1.00)")
        .await;
    write_shop(&db, 300).await;
    let mut child = cli_command(&db.env, &["sync"], &std::env::temp_dir())
        .spawn()
        .unwrap();
    for _ in 0..1000 {
        if db
            .count(
                &db.local,
                "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'SYNCED'",
            )
            .await
            > 300
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    let report = db.sync().await;
    assert_eq!(report.outcome, Outcome::Partial, "{report}");
    let failed: Vec<_> = db
        .queue()
        .await
        .into_iter()
        .filter(|r| r.status == "FAILED")
        .collect();
    assert_eq!(failed.len(), 1, "only the clashing product");
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("uq_products_name")
    );
    // Its order lines need it: they wait for a fix, then everything converges.
    db.exec_central("DELETE FROM products WHERE sku = 'CENTRAL'")
        .await;
    assert!(db.cli(&["requeue", "--all-failed"]).status.success());
    for _ in 0..3 {
        db.sync().await;
        let _ = db.cli(&["retry", "--all"]);
    }
    db.assert_converged().await;
}

/// Tables `init` cannot sync are refused with one line naming the table and the reason,
/// before anything is created.
#[tokio::test]
async fn init_refuses_tables_it_cannot_sync_before_creating_anything() {
    let mut db = TestDb::new(&[]).await;
    db.exec("CREATE TABLE no_key (a INT)").await;
    db.exec("CREATE TABLE long_key (k VARBINARY(1500) PRIMARY KEY)")
        .await;
    db.exec("CREATE VIEW big_users AS SELECT * FROM users WHERE id > 10; CREATE SEQUENCE seq")
        .await;
    db.exec(
        "CREATE TABLE prices (sku INT, s DATE, e DATE, PERIOD FOR valid (s, e), PRIMARY KEY (sku, s)); \
         CREATE TABLE versioned (id INT PRIMARY KEY) WITH SYSTEM VERSIONING",
    )
    .await;
    db.exec(
        "CREATE TABLE audited (id INT PRIMARY KEY); CREATE TABLE audit_log (id INT); \
         CREATE TRIGGER audited_after_insert AFTER INSERT ON audited FOR EACH ROW \
         INSERT INTO audit_log VALUES (NEW.id)",
    )
    .await;
    db.exec_central("DROP TABLE orders").await;
    for (tables, words) in [
        ("users,orders,no_key", "no_key` has no primary key"),
        ("users,orders,missing", "missing` does not exist"),
        (
            "users,orders,big_users",
            "big_users` is a view, not a plain table",
        ),
        ("users,orders,seq", "seq` is a sequence, not a plain table"),
        (
            "users,orders,prices",
            "prices` has an application-time period (PERIOD FOR)",
        ),
        (
            "users,orders,versioned",
            "versioned` is a system-versioned table, not a plain table",
        ),
        (
            "users,orders,audited",
            "trigger named `audited_after_insert` that is not dbsync's",
        ),
        (
            "users,orders,long_key",
            "long_key`: its primary key can be longer than the 2048 bytes",
        ),
    ] {
        db.set("SYNC_TABLES", tables);
        let out = db.cli(&["init"]);
        assert_eq!(out.status.code(), Some(2), "{tables}: {}", stderr(&out));
        assert!(stderr(&out).contains(words), "{tables}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
        assert_eq!(db.count(&db.central, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders'").await, 0, "nothing created");
    }
    let kept = "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
         AND TRIGGER_NAME = 'audited_after_insert' AND ACTION_STATEMENT LIKE '%audit_log%'";
    assert_eq!(
        db.count(&db.local, kept).await,
        1,
        "the user's trigger is left as it was"
    );
    // Databases that do not exist yet: neither is created for a refused table, nor are
    // dbsync's own tables or the sample ones.
    let mut fresh = db.env.clone();
    let names = ["DB_OFFLINE_DB", "DB_CENTRAL_DB"].map(|var| format!("{}_new", db.env[var]));
    fresh.insert("DB_OFFLINE_DB".into(), names[0].clone());
    fresh.insert("DB_CENTRAL_DB".into(), names[1].clone());
    fresh.insert("SYNC_TABLES".into(), "users,orders,missing".into());
    let out = crate::helpers::run_cli(&fresh, &["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("missing` does not exist"),
        "{}",
        stderr(&out)
    );
    let created = format!(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('{}', '{}')",
        names[0], names[1]
    );
    let found = db.count(&db.local, &created).await;
    for name in &names {
        db.exec(&format!("DROP DATABASE IF EXISTS `{name}`")).await;
    }
    assert_eq!(found, 0, "no database created");
    for bad in ["users,`orders`", "users;orders", "users,o'rders"] {
        db.set("SYNC_TABLES", "users,orders");
        let mut env = db.env.clone();
        env.insert("SYNC_TABLES".into(), bad.into());
        let out = crate::helpers::run_cli(&env, &["init"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("SYNC_TABLES"), "{}", stderr(&out));
    }
}

/// The generated triggers of users and orders queue exactly what the hand-written ones of
/// earlier versions did, byte for byte.
#[tokio::test]
async fn generated_triggers_queue_what_the_hand_written_ones_did() {
    let generated = TestDb::new(&[]).await;
    let legacy = TestDb::new(&[]).await;
    for name in [
        "users_after_insert",
        "users_after_update",
        "users_after_delete",
        "orders_after_insert",
        "orders_after_update",
        "orders_after_delete",
    ] {
        legacy.exec(&format!("DROP TRIGGER {name}")).await;
        let path = format!(
            "{}/tests/fixtures/legacy_triggers/{name}.sql",
            env!("CARGO_MANIFEST_DIR")
        );
        legacy.exec(&std::fs::read_to_string(path).unwrap()).await;
    }
    let writes = "INSERT INTO users (id, name, email, updated_at) VALUES (1, 'Zoë', 'z@x.io', '2026-01-01 00:00:00.5'), (2, 'B', 'b@x.io', '2026-01-01 00:00:00'); \
        INSERT INTO orders (id, user_id, amount, status, updated_at) VALUES (10, 1, 0.30, 'pending', '2026-01-01 00:00:00'); \
        UPDATE users SET name = 'ZOË', updated_at = '2026-01-02 00:00:00' WHERE id = 1; \
        UPDATE users SET name = name WHERE id = 2; \
        UPDATE users SET updated_at = '2026-01-03 00:00:00' WHERE id = 2; \
        UPDATE orders SET status = 'shipped', updated_at = '2026-01-04 00:00:00' WHERE id = 10; \
        UPDATE orders SET id = 11, updated_at = '2026-01-05 00:00:00' WHERE id = 10; \
        DELETE FROM orders WHERE id = 11; UPDATE users SET id = 3, updated_at = '2026-01-06 00:00:00' WHERE id = 2; DELETE FROM users WHERE id = 1";
    generated.exec(writes).await;
    legacy.exec(writes).await;
    let strip = |rows: Vec<crate::helpers::QueueRow>| {
        rows.into_iter()
            .map(|r| (r.table_name, r.record_id, r.operation, r.payload))
            .collect::<Vec<_>>()
    };
    let (ours, theirs) = (strip(generated.queue().await), strip(legacy.queue().await));
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "queue row {i} differs");
    }
    assert_eq!(ours.len(), theirs.len());
}

/// `init` makes the sample tables only when SYNC_TABLES lists them and db_a lacks them: a
/// db_a with tables of its own by those names keeps them and gets no other; a `users` of its
/// own that the sample `orders` could not refer to is refused before anything is created.
#[tokio::test]
async fn init_makes_only_the_sample_tables_a_site_asks_for() {
    let db = TestDb::new(&[]).await;
    let cases = [
        (
            "products",
            "users (id INT PRIMARY KEY, login VARCHAR(20))",
            0,
            "orders",
        ),
        (
            "orders",
            "orders (ref VARCHAR(10) PRIMARY KEY, total INT)",
            0,
            "users",
        ),
        (
            "users,orders",
            "users (code VARCHAR(10) PRIMARY KEY)",
            2,
            "sync_queue",
        ),
    ];
    for (n, (tables, own, code, never_made)) in cases.into_iter().enumerate() {
        let mut env = db.env.clone();
        let names = ["DB_OFFLINE_DB", "DB_CENTRAL_DB"].map(|var| format!("{}_own{n}", db.env[var]));
        env.insert("DB_OFFLINE_DB".into(), names[0].clone());
        env.insert("DB_CENTRAL_DB".into(), names[1].clone());
        env.insert("SYNC_TABLES".into(), tables.into());
        let a = &names[0];
        db.exec(&format!(
            "CREATE DATABASE `{a}`; CREATE TABLE `{a}`.{own}; \
             CREATE TABLE `{a}`.products (sku VARCHAR(32) PRIMARY KEY, price DECIMAL(10,2))"
        ))
        .await;
        let out = crate::helpers::run_cli(&env, &["init"]);
        let made = format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{a}' \
             AND TABLE_NAME = '{never_made}'"
        );
        let made = db.count(&db.local, &made).await;
        for name in &names {
            db.exec(&format!("DROP DATABASE IF EXISTS `{name}`")).await;
        }
        assert_eq!(
            out.status.code(),
            Some(code),
            "{tables}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_eq!(made, 0, "{tables}: no `{never_made}` made");
    }
}

/// `init` reads only its own databases' definitions: another database being dropped
/// (waiting behind a reader's open transaction, holding the tables it already has) does
/// not hold it up — on a server shared by several sites' databases, it would wait as long.
#[tokio::test]
async fn init_is_not_held_up_by_locks_in_another_database() {
    let db = TestDb::new(&[]).await;
    let other = format!("{}_x", db.config.local.database);
    db.exec(&format!(
        "CREATE DATABASE `{other}`; CREATE TABLE `{other}`.t1 (id INT PRIMARY KEY); \
         CREATE TABLE `{other}`.t2 (id INT PRIMARY KEY)"
    ))
    .await;
    let mut reader = db.local.begin().await.expect("begin");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SELECT * FROM `{other}`.t2")))
        .execute(&mut *reader)
        .await
        .expect("read");
    let drop = format!("SET SESSION lock_wait_timeout = 60; DROP DATABASE `{other}`");
    let local = db.local.clone();
    let waiting = tokio::spawn(async move {
        sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
            .execute(&local)
            .await
    });
    let pending = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
         WHERE STATE LIKE '%metadata lock%' AND INFO LIKE 'DROP DATABASE `{other}`%'"
    );
    while db.count(&db.local, &pending).await == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = std::time::Instant::now();
    let out = db.cli_async(&["init"]).await;
    let took = started.elapsed();
    reader.rollback().await.expect("rollback");
    waiting.await.expect("drop task").expect("drop");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(took < Duration::from_secs(20), "init took {took:?}");
}
