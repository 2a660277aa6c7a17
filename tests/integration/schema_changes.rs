//! db_a's tables change under a running site: columns added, widened or dropped, foreign
//! keys added, dropped or changed, tables taken out of SYNC_TABLES. Runs stop (nothing
//! blamed) until `init`, which carries what it can to db_b and refuses the rest.

use std::process::Output;
use std::time::Duration;

use dbsync::domain::Outcome;

use crate::helpers::{TestDb, stderr, stdout};
use crate::tables::{shop, write_shop};

/// `args` run through the CLI, expected to exit with `code`; what it printed.
fn cli_exits(db: &TestDb, args: &[&str], code: i32) -> Output {
    let out = db.cli(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// A column added on db_a stops runs (nothing blamed) until `init`, which replaces the
/// triggers while a writer keeps writing, adds the column in db_b and copies the table's
/// rows again; then everything converges.
#[tokio::test]
async fn an_added_column_is_taken_up_by_init_without_losing_a_write() {
    let db = TestDb::new(&[]).await;
    db.insert_users(50).await;
    db.sync().await;
    db.exec("ALTER TABLE users ADD COLUMN nickname VARCHAR(40) NULL")
        .await;
    db.exec("UPDATE users SET nickname = 'nick' WHERE id <= 10")
        .await;
    let out = db.cli(&["sync"]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("schema_changed")
            && stdout(&out).contains("nickname")
            && stdout(&out).contains("dbsync init"),
        "{}",
        stdout(&out)
    );
    assert_eq!(db.total_retries().await, 0);

    let pool = db.local.clone();
    let writer = tokio::spawn(async move {
        for i in 0..300 {
            let _ = sqlx::query(
                "INSERT INTO users (id, name, email, nickname) VALUES (?, 'w', ?, 'w')",
            )
            .bind(1000 + i)
            .bind(format!("w{i}@x.io"))
            .execute(&pool)
            .await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let out = cli_exits(&db, &["init"], 0);
    assert!(
        stdout(&out).contains("ADD COLUMN `nickname`"),
        "{}",
        stdout(&out)
    );
    writer.await.unwrap();
    // Columns added before others land where db_a has them.
    db.exec(
        "ALTER TABLE users ADD COLUMN badge INT NULL AFTER name, ADD COLUMN tag CHAR(2) NULL FIRST",
    )
    .await;
    cli_exits(&db, &["init"], 0);
    let order = |pool: &sqlx::MySqlPool| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT CAST(GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) AS CHAR) \
                 FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(order(&db.local).await, order(&db.central).await);
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM users u WHERE id >= 1000 AND NOT EXISTS \
             (SELECT 1 FROM sync_queue q WHERE q.table_name = 'users' AND q.record_id = u.id)"
        )
        .await,
        0,
        "every write during init was captured"
    );
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    db.assert_converged().await;
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE nickname = 'nick'"
        )
        .await,
        10
    );
}

/// Widening is additive; dropping a column is followed; narrowing is refused with what to do.
#[tokio::test]
async fn widening_dropping_and_narrowing_columns() {
    let db = TestDb::new(&[]).await;
    db.insert_users(5).await;
    db.exec("INSERT INTO orders (id, user_id, amount) VALUES (1, 1, 10.50)")
        .await;
    db.sync().await;
    db.exec("ALTER TABLE users MODIFY name VARCHAR(200) NOT NULL")
        .await;
    db.exec("ALTER TABLE orders ADD COLUMN note TEXT NULL")
        .await;
    cli_exits(&db, &["init"], 0);
    db.exec(&format!(
        "UPDATE users SET name = '{}' WHERE id = 1",
        "n".repeat(150)
    ))
    .await;
    db.sync().await;
    db.assert_converged().await;

    db.exec("ALTER TABLE orders DROP COLUMN note").await;
    assert_eq!(
        db.engine().run().await.unwrap().outcome,
        Outcome::SchemaChanged
    );
    cli_exits(&db, &["init"], 0);
    db.sync().await;
    db.assert_converged().await;

    // Narrowed on db_a: db_b's wider column takes and reads back every value, and stays.
    // Widened from unsigned to a larger signed integer: db_b follows.
    db.exec("ALTER TABLE users MODIFY name VARCHAR(160) NOT NULL; ALTER TABLE orders ADD COLUMN qty INT UNSIGNED NULL")
        .await;
    cli_exits(&db, &["init"], 0);
    db.exec("UPDATE orders SET qty = 4294967295 WHERE id = 1")
        .await;
    db.exec("ALTER TABLE orders MODIFY qty BIGINT NULL").await;
    let out = cli_exits(&db, &["init"], 0);
    assert!(
        stdout(&out).contains("MODIFY COLUMN `qty` bigint"),
        "{}",
        stdout(&out)
    );
    db.exec("UPDATE orders SET qty = qty + 1 WHERE id = 1")
        .await;
    db.sync().await;
    db.assert_converged().await;
    let wide = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME = 'users' AND COLUMN_NAME = 'name' AND CHARACTER_MAXIMUM_LENGTH = 200";
    assert_eq!(db.count(&db.central, wide).await, 1);

    // Fewer digits before the point: db_b's column reads every value back alike and stays.
    db.exec("ALTER TABLE orders MODIFY amount DECIMAL(8,2) NOT NULL")
        .await;
    cli_exits(&db, &["init"], 0);
    let kept = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME = 'orders' AND COLUMN_TYPE = 'decimal(10,2)'";
    assert_eq!(db.count(&db.central, kept).await, 1);
    db.sync().await;
    db.assert_converged().await;
    // Fewer decimals: db_b's values would read back otherwise; a person decides.
    db.exec("ALTER TABLE orders MODIFY amount DECIMAL(8,1) NOT NULL")
        .await;
    let out = cli_exits(&db, &["init"], 2);
    assert!(
        stderr(&out).contains("orders")
            && stderr(&out).contains("amount")
            && stderr(&out).contains("by hand"),
        "{}",
        stderr(&out)
    );

    // Narrowed and made nullable: db_b's column holds the values but not their NULLs, so a
    // person decides (before, `init` left it and every run refused, for ever).
    db.exec("ALTER TABLE orders MODIFY amount DECIMAL(10,2) NOT NULL; ALTER TABLE users MODIFY name VARCHAR(150) NULL")
        .await;
    let out = cli_exits(&db, &["init"], 2);
    assert!(stderr(&out).contains("column `name`"), "{}", stderr(&out));
}

/// A table taken out of SYNC_TABLES stops runs until `init` removes its triggers and parks
/// its queued changes, saying so: before, every change of it was queued and each run
/// parked them as rejections.
#[tokio::test]
async fn a_table_removed_from_sync_tables_stops_runs_until_init() {
    let mut db = shop(&[]).await;
    write_shop(&db, 3).await;
    db.sync().await;
    db.set("SYNC_TABLES", "users,orders,products");
    db.exec("UPDATE products SET price = 7.77 WHERE sku = 'SKU-1'")
        .await;
    db.exec("UPDATE order_lines SET qty = 5 WHERE order_id = 1")
        .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(report.outcome, Outcome::SchemaChanged, "{report}");
    let note = report.message.clone().unwrap_or_default();
    assert!(
        note.contains("`order_lines` is no longer in SYNC_TABLES")
            && note.contains("run `dbsync init`"),
        "{note}"
    );
    assert_eq!(db.total_retries().await, 0, "nothing blamed");
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM products WHERE price = 7.77"
        )
        .await,
        0,
        "nothing applied"
    );
    // A load of it under way, cut short.
    db.exec("INSERT INTO sync_load (table_name, rows_estimate) VALUES ('order_lines', 10)")
        .await;

    let out = cli_exits(&db, &["init"], 0);
    assert!(
        stdout(&out).contains("`order_lines` DROP FOREIGN KEY `fk_lines_product`"),
        "its copy no longer holds up the tables it refers to: {}",
        stdout(&out)
    );
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM sync_load WHERE table_name = 'order_lines'"
        )
        .await,
        0,
        "its load is forgotten: status no longer shows it, no run waits on it"
    );
    assert!(
        stdout(&out).contains("order_lines: no longer in SYNC_TABLES")
            && stdout(&out).contains("2 queued change(s) of it parked as FAILED"),
        "{}",
        stdout(&out)
    );
    let lines_queued = "SELECT COUNT(*) FROM sync_queue WHERE table_name = 'order_lines'";
    let before = db.count(&db.local, lines_queued).await;
    db.exec("UPDATE order_lines SET qty = 6 WHERE order_id = 2")
        .await;
    assert_eq!(
        db.count(&db.local, lines_queued).await,
        before,
        "no trigger on order_lines after init"
    );
    // db_b's copy of order_lines still has lines of product SKU-3, db_a's no longer.
    db.exec(
        "DELETE FROM order_lines WHERE sku = 'SKU-3'; DELETE FROM products WHERE sku = 'SKU-3'",
    )
    .await;
    let report = db.sync().await;
    assert_eq!(report.outcome, Outcome::Synced, "{report}");
    assert_eq!(report.failed, 0, "{report}");
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM products WHERE price = 7.77"
        )
        .await,
        1
    );
    let parked = db
        .count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE table_name = 'order_lines' \
             AND sync_status = 'FAILED' AND last_error LIKE '%no longer in SYNC_TABLES%'",
        )
        .await;
    assert_eq!(parked, 2, "the changes queued before init, parked by it");
}

/// A foreign key db_a gains, loses or changes among synced tables reaches db_b with
/// `init`, also while db_b still lacks changes queued before it: a cascade happens in db_b
/// too, and db_b refuses nothing db_a allows.
#[tokio::test]
async fn foreign_keys_added_changed_or_dropped_on_db_a_follow_into_db_b() {
    let mut db = TestDb::new(&[]).await;
    db.exec(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB; \
         CREATE TABLE c (id INT PRIMARY KEY, pid INT NULL, KEY (pid)) ENGINE=InnoDB",
    )
    .await;
    db.set("SYNC_TABLES", "users,orders,p,c");
    let init = |db: &TestDb| stdout(&cli_exits(db, &["init"], 0));
    init(&db);
    db.exec("INSERT INTO p VALUES (1), (2), (3); INSERT INTO c VALUES (1, 1), (2, 2), (3, NULL)")
        .await;
    db.sync().await;
    // Not yet in db_b when its table gains the key: db_b's c 3 still has no parent there.
    db.exec("UPDATE c SET pid = 3 WHERE id = 3").await;
    db.exec(
        "ALTER TABLE c ADD CONSTRAINT fk_c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE",
    )
    .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(report.outcome, Outcome::SchemaChanged, "{report}");
    assert!(init(&db).contains("ADD CONSTRAINT `fk_c_p`"));
    db.exec("DELETE FROM p WHERE id = 1").await;
    db.sync().await;
    db.assert_converged().await;
    let in_db_b = |sql: &'static str| db.count(&db.central, sql);
    assert_eq!(
        in_db_b("SELECT COUNT(*) FROM c WHERE id = 1").await,
        0,
        "cascaded"
    );

    db.exec("ALTER TABLE c DROP FOREIGN KEY fk_c_p").await;
    db.exec(
        "ALTER TABLE c ADD CONSTRAINT fk_c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE SET NULL",
    )
    .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(
        report.outcome,
        Outcome::SchemaChanged,
        "same name, other rules: {report}"
    );
    let said = init(&db);
    assert!(said.contains("DROP FOREIGN KEY `fk_c_p`") && said.contains("ON DELETE SET NULL"));
    db.exec("DELETE FROM p WHERE id = 2").await;
    db.sync().await;
    db.assert_converged().await;
    assert_eq!(
        in_db_b("SELECT COUNT(*) FROM c WHERE id = 2 AND pid IS NULL").await,
        1,
        "set to NULL in db_b as in db_a"
    );

    db.exec("ALTER TABLE c DROP FOREIGN KEY fk_c_p").await;
    init(&db);
    db.exec("INSERT INTO c VALUES (4, 77); DELETE FROM p WHERE id = 3")
        .await;
    db.sync_converges().await;
    assert_eq!(db.total_retries().await, 0, "nothing blamed");
    assert_eq!(
        in_db_b("SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'c'").await,
        0
    );
}

/// `verify` does not pass a table db_a changed since `init` for equal (it compared only the
/// columns `init` had seen), and once `init` has queued the table's copy it says the next
/// run makes it, not `resync`.
#[tokio::test]
async fn verify_says_what_to_run_after_a_column_is_added() {
    let db = TestDb::new(&[]).await;
    db.insert_users(3).await;
    db.sync().await;
    // The old triggers see no change in an update of the new column alone.
    db.exec(
        "ALTER TABLE users ADD COLUMN level INT NOT NULL DEFAULT 7; UPDATE users SET level = id",
    )
    .await;
    let out = cli_exits(&db, &["verify"], 2);
    assert!(
        stderr(&out).contains("`users` changed on db_a since `dbsync init`")
            && stderr(&out).contains("run `dbsync init`"),
        "{}",
        stderr(&out)
    );
    cli_exits(&db, &["init"], 0);
    let out = cli_exits(&db, &["verify"], 1);
    assert!(
        stdout(&out).contains("a copy of users by the next run is queued")
            && !stdout(&out).contains("resync"),
        "{}",
        stdout(&out)
    );
    db.sync().await;
    cli_exits(&db, &["verify"], 0);
}

/// A unique key db_a gains while db_b's rows still lack the changes that make its values
/// unique there is left for a later `init` (exit 1, saying so), the rest of `init` done:
/// runs go on, db_b catches up, and `init` again adds the key.
#[tokio::test]
async fn a_unique_key_db_b_cannot_take_yet_is_added_by_a_later_init() {
    let db = TestDb::with_table(
        "CREATE TABLE w (id VARCHAR(10) PRIMARY KEY, a INT, code INT NOT NULL DEFAULT 0)",
        "w",
    )
    .await;
    db.exec("INSERT INTO w (id, a) VALUES ('a', 1), ('b', 2), ('c', 3)")
        .await;
    db.sync().await;
    // Queued, not in db_b yet: there every code is still 0. The added column gets 1, 2, 3
    // on db_a from the ALTER itself, which no trigger sees.
    db.exec("UPDATE w SET code = a").await;
    db.exec(
        "ALTER TABLE w ADD UNIQUE KEY uq_code (code), \
         ADD COLUMN n INT NOT NULL AUTO_INCREMENT UNIQUE",
    )
    .await;
    let out = cli_exits(&db, &["init"], 1);
    assert!(
        stdout(&out).contains("ADD UNIQUE KEY `uq_code` (`code`) not added yet")
            && stdout(&out).contains("run `dbsync sync`, then `dbsync init` again"),
        "{}",
        stdout(&out)
    );
    db.sync_converges().await;
    let out = cli_exits(&db, &["init"], 0);
    let keys = "SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'w' AND NON_UNIQUE = 0 \
         AND INDEX_NAME IN ('uq_code', 'n')";
    assert_eq!(db.count(&db.central, keys).await, 2, "{}", stdout(&out));
    assert_eq!(db.total_retries().await, 0, "nothing blamed");
}

/// A primary key changed on db_a, followed as `init` says (db_b's table dropped, `init`):
/// the changes queued under the old key — whose record names now mean other rows — give
/// way to the table's copy, which `init` queues; nothing is left FAILED or blamed.
#[tokio::test]
async fn a_changed_primary_key_hands_its_queued_changes_to_the_tables_copy() {
    let db = TestDb::with_table(
        "CREATE TABLE w (id INT NOT NULL, c INT NOT NULL DEFAULT 5, b VARCHAR(20), \
         PRIMARY KEY (id))",
        "w",
    )
    .await;
    db.exec("INSERT INTO w (id, b) SELECT seq, 'x' FROM seq_1_to_50")
        .await;
    db.sync().await;
    db.exec("UPDATE w SET b = 'y' WHERE id < 10; DELETE FROM w WHERE id = 20")
        .await;
    db.exec("ALTER TABLE w DROP PRIMARY KEY, ADD PRIMARY KEY (id, c)")
        .await;
    // Under the old triggers still: queued with the old key's shape.
    db.exec("UPDATE w SET b = 'z' WHERE id > 40; INSERT INTO w (id, c, b) VALUES (1, 6, 'dup')")
        .await;
    let out = cli_exits(&db, &["init"], 2);
    assert!(
        stderr(&out).contains("drop db_b's table"),
        "{}",
        stderr(&out)
    );
    db.exec_central("DROP TABLE w").await;
    let out = cli_exits(&db, &["init"], 0);
    assert!(
        stdout(&out)
            .contains("w: its primary key changed; 21 change(s) queued before are replaced"),
        "{}",
        stdout(&out)
    );
    db.exec("UPDATE w SET b = 'after' WHERE id = 2; DELETE FROM w WHERE id = 3")
        .await;
    db.sync_converges().await;
    let left = "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'";
    assert_eq!(db.count(&db.local, left).await, 0);
    assert_eq!(db.count(&db.central, "SELECT COUNT(*) FROM w").await, 49);
}

/// A column whose default is drawn from a sequence of db_a's is added to db_b without that
/// default: db_b's table would name db_a's database, and its ALTER would draw numbers from
/// db_a's sequence. The values come over in the table's copy.
#[tokio::test]
async fn a_default_from_a_sequence_stays_on_db_a() {
    let db = TestDb::with_table(
        "CREATE TABLE w (id INT PRIMARY KEY, a INT); CREATE SEQUENCE sq",
        "w",
    )
    .await;
    db.exec("INSERT INTO w VALUES (1, 1), (2, 2), (3, 3)").await;
    db.sync().await;
    db.exec("ALTER TABLE w ADD COLUMN c BIGINT DEFAULT (NEXT VALUE FOR sq)")
        .await;
    let drawn = "SELECT NEXTVAL(sq)";
    let before = db.count(&db.local, drawn).await;
    cli_exits(&db, &["init"], 0);
    assert_eq!(
        db.count(&db.local, drawn).await,
        before + 1,
        "no number drawn by db_b"
    );
    let named = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME = 'w' AND COLUMN_NAME = 'c' AND COLUMN_DEFAULT LIKE '%val%'";
    assert_eq!(db.count(&db.central, named).await, 0);
    db.exec("INSERT INTO w (id, a) VALUES (4, 4)").await;
    db.sync().await;
    db.assert_converged().await;
}

/// A synced table renamed (or dropped) on db_a stops runs with that said, not as capture
/// triggers gone missing (they went along with the table), and nothing is blamed.
#[tokio::test]
async fn a_synced_table_renamed_away_is_named_as_gone() {
    let db = shop(&[]).await;
    write_shop(&db, 2).await;
    db.sync().await;
    db.exec("RENAME TABLE order_lines TO order_lines_old").await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(report.outcome, Outcome::SchemaChanged, "{report}");
    let note = report.message.clone().unwrap_or_default();
    assert!(
        note.contains("table `order_lines` no longer exists on db_a"),
        "{note}"
    );
    db.exec("RENAME TABLE order_lines_old TO order_lines").await;
    let report = db.sync().await;
    assert_eq!(
        (report.outcome, report.failed),
        (Outcome::Synced, 0),
        "{report}"
    );
    assert_eq!(db.total_retries().await, 0);
}

/// A capture trigger replaced by one of the user's with the same name (which queues
/// nothing) stops runs as a missing one does — writes went uncaptured — and `init` then
/// refuses to replace the user's trigger.
#[tokio::test]
async fn a_capture_trigger_replaced_by_a_namesake_stops_runs() {
    let db = TestDb::new(&[]).await;
    db.insert_users(2).await;
    db.sync().await;
    db.exec(
        "CREATE TABLE audit_log (id INT); CREATE OR REPLACE TRIGGER users_after_update \
         AFTER UPDATE ON users FOR EACH ROW INSERT INTO audit_log VALUES (NEW.id)",
    )
    .await;
    db.exec("UPDATE users SET name = 'changed' WHERE id = 1")
        .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(report.outcome, Outcome::SchemaChanged, "{report}");
    let note = report.message.clone().unwrap_or_default();
    assert!(
        note.contains("capture triggers of `users` are missing"),
        "{note}"
    );
    let out = cli_exits(&db, &["init"], 2);
    assert!(
        stderr(&out).contains("users_after_update"),
        "{}",
        stderr(&out)
    );
}

/// db_b's copy keyed by another column than db_a's table (remade for another site's new
/// key, or by hand) refuses runs: upserts would find, and overwrite, other records.
#[tokio::test]
async fn a_db_b_table_with_another_primary_key_refuses_runs() {
    let db = TestDb::with_table(
        "CREATE TABLE w (id INT PRIMARY KEY, other INT NOT NULL, b VARCHAR(10))",
        "w",
    )
    .await;
    db.exec("INSERT INTO w VALUES (1, 2, 'x'), (2, 1, 'y')")
        .await;
    db.sync().await;
    db.exec_central("ALTER TABLE w DROP PRIMARY KEY, ADD PRIMARY KEY (other)")
        .await;
    db.exec("UPDATE w SET b = 'z' WHERE id = 1").await;
    let report = db.engine().run().await.unwrap();
    assert_ne!(report.outcome, Outcome::Synced, "{report}");
    let note = report.message.clone().unwrap_or_default();
    assert!(
        note.contains("db_b's `w` has the primary key (other) but db_a's is (id)"),
        "{note}"
    );
    let untouched = "SELECT COUNT(*) FROM w WHERE b = 'z'";
    assert_eq!(db.count(&db.central, untouched).await, 0, "nothing applied");
}

/// Indexes and foreign keys redefined on db_a under the names they had: a unique key over
/// other columns (db_b's old one would refuse rows db_a takes), a foreign key moved to
/// other columns with its index dropped (db_b's old index would clash with the new key's).
#[tokio::test]
async fn indexes_and_foreign_keys_redefined_under_their_names_follow_into_db_b() {
    let db = TestDb::with_table(
        "CREATE TABLE p (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL, \
           UNIQUE KEY ua (a), UNIQUE KEY uab (b, a)); \
         CREATE TABLE c (id INT PRIMARY KEY, pa INT, pb INT, \
           CONSTRAINT fk_c FOREIGN KEY (pb, pa) REFERENCES p (b, a) ON DELETE CASCADE); \
         INSERT INTO p VALUES (1, 1, 1), (2, 2, 1); INSERT INTO c VALUES (10, 1, 1), (20, 2, 1)",
        "p,c",
    )
    .await;
    db.cli(&["resync"]);
    db.exec("ALTER TABLE p DROP INDEX ua, ADD UNIQUE KEY ua (a, b)")
        .await;
    db.exec(
        "ALTER TABLE c DROP FOREIGN KEY fk_c; ALTER TABLE c DROP INDEX fk_c, \
         ADD CONSTRAINT fk_c FOREIGN KEY (pa) REFERENCES p (id) ON DELETE CASCADE",
    )
    .await;
    let out = cli_exits(&db, &["init"], 0);
    assert!(
        stdout(&out).contains("`p` DROP INDEX `ua`")
            && stdout(&out).contains("`c` DROP INDEX `fk_c`"),
        "{}",
        stdout(&out)
    );
    // Taken by db_a's new key (a, b), refused by the old (a).
    db.exec("INSERT INTO p VALUES (3, 1, 3); DELETE FROM p WHERE id = 2")
        .await;
    db.sync_converges().await;
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM c").await,
        1,
        "cascaded"
    );
}

/// A parent's primary key changed, followed by renaming db_b's table away as the refusal
/// allows: db_b's children kept their foreign keys to the renamed table (MariaDB moves
/// them along); `init` makes them refer to the new copy again.
#[tokio::test]
async fn a_parent_remade_under_a_new_key_gets_its_children_back() {
    let db = TestDb::with_table(
        "CREATE TABLE cat (id INT NOT NULL, note VARCHAR(10) NOT NULL, PRIMARY KEY (id), \
           UNIQUE KEY uq_id_note (id, note)); \
         CREATE TABLE item (id INT PRIMARY KEY, cat_id INT, \
           CONSTRAINT fk_item_cat FOREIGN KEY (cat_id) REFERENCES cat (id) ON DELETE CASCADE); \
         INSERT INTO cat VALUES (1, 'a'), (2, 'b'); INSERT INTO item VALUES (10, 1), (20, 2)",
        "cat,item",
    )
    .await;
    db.cli(&["resync"]);
    db.exec("ALTER TABLE cat DROP PRIMARY KEY, ADD PRIMARY KEY (note), ADD UNIQUE KEY uq_id (id)")
        .await;
    cli_exits(&db, &["init"], 2);
    db.exec_central("RENAME TABLE cat TO cat_old").await;
    let out = cli_exits(&db, &["init"], 0);
    assert!(
        stdout(&out).contains("`item` DROP FOREIGN KEY `fk_item_cat`"),
        "{}",
        stdout(&out)
    );
    db.exec("INSERT INTO cat VALUES (3, 'c'); INSERT INTO item VALUES (30, 3); DELETE FROM cat WHERE id = 1")
        .await;
    db.sync_converges().await;
    let refers = "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'item' \
         AND REFERENCED_TABLE_NAME = 'cat'";
    assert_eq!(db.count(&db.central, refers).await, 1);
}

/// `verify` with a capture trigger gone still compares (that is when its answer is wanted)
/// and says what is missing.
#[tokio::test]
async fn verify_compares_with_a_capture_trigger_gone_and_says_so() {
    let db = TestDb::new(&[]).await;
    db.insert_users(2).await;
    db.sync().await;
    db.exec("DROP TRIGGER users_after_update; UPDATE users SET name = 'unseen' WHERE id = 1")
        .await;
    let out = cli_exits(&db, &["verify"], 1);
    assert!(
        stdout(&out).contains("capture triggers of `users` are missing")
            && stdout(&out).contains("users: 1 differing"),
        "{}",
        stdout(&out)
    );
}

/// `init`'s steps for db_b run phase by phase over every table: a child's foreign key is
/// dropped before the parent's unique key it used, and an index a foreign key needs is
/// redefined in one statement, as db_a's own ALTER did it.
#[tokio::test]
async fn init_drops_keys_before_the_indexes_they_need_across_tables() {
    let db = TestDb::with_table(
        "CREATE TABLE notes (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, \
           CONSTRAINT fk_notes_email FOREIGN KEY (email) REFERENCES users (email))",
        "notes",
    )
    .await;
    db.insert_users(2).await;
    db.exec("INSERT INTO notes SELECT id, email FROM users")
        .await;
    db.sync().await;
    db.exec(
        "ALTER TABLE orders DROP INDEX idx_orders_user, ADD KEY idx_orders_user (user_id, status); \
         ALTER TABLE notes DROP FOREIGN KEY fk_notes_email; \
         ALTER TABLE users DROP INDEX uq_users_email",
    )
    .await;
    let out = cli_exits(&db, &["init"], 0);
    assert!(
        stdout(&out).contains("`orders` DROP INDEX `idx_orders_user`, ADD KEY `idx_orders_user`"),
        "{}",
        stdout(&out)
    );
    db.exec("UPDATE users SET email = 'same@example.com'; INSERT INTO orders (user_id, amount) VALUES (1, 2.50)")
        .await;
    db.sync_converges().await;
}

/// The table is copied again only when db_a images a column it did not: not for a column
/// whose name has "added" in it changing type (before, the word in the change's
/// description was taken for an added column), nor for a generated column (db_b computes
/// its own).
#[tokio::test]
async fn only_a_column_the_images_gain_queues_the_tables_copy() {
    let db = TestDb::with_table(
        "CREATE TABLE notes (id INT PRIMARY KEY, added_by VARCHAR(10), body TEXT)",
        "notes",
    )
    .await;
    db.exec("INSERT INTO notes VALUES (1, 'ana', 'hello')")
        .await;
    db.sync_converges().await;
    let copied = "copies its rows again";
    for (alter, copies) in [
        ("ALTER TABLE notes MODIFY added_by VARCHAR(20)", false),
        (
            "ALTER TABLE notes ADD COLUMN size INT AS (LENGTH(body)) STORED",
            false,
        ),
        (
            "ALTER TABLE notes ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT 1",
            true,
        ),
    ] {
        db.exec(alter).await;
        let out = cli_exits(&db, &["init"], 0);
        assert_eq!(
            stdout(&out).contains(copied),
            copies,
            "{alter}: {}",
            stdout(&out)
        );
        db.sync_converges().await;
    }
    let pinned = "SELECT COUNT(*) FROM notes WHERE pinned = 1 AND size = 5";
    assert_eq!(db.count(&db.central, pinned).await, 1);
}

/// A foreign key's rules as written (`NO ACTION`, `RESTRICT`, none) are read back alike on
/// both sides: a second `init` changes nothing in db_b and runs go on.
#[tokio::test]
async fn foreign_key_rules_written_any_way_settle_after_one_init() {
    let db = TestDb::with_table(
        "CREATE TABLE shelves (id INT PRIMARY KEY); \
         CREATE TABLE boxes (id INT PRIMARY KEY, shelf INT, spare INT, \
           CONSTRAINT box_shelf FOREIGN KEY (shelf) REFERENCES shelves (id) ON DELETE NO ACTION ON UPDATE RESTRICT, \
           CONSTRAINT box_spare FOREIGN KEY (spare) REFERENCES shelves (id))",
        "shelves,boxes",
    )
    .await;
    let out = cli_exits(&db, &["init"], 0);
    assert!(!stdout(&out).contains("db_b:"), "{}", stdout(&out));
    db.exec("INSERT INTO shelves VALUES (1); INSERT INTO boxes VALUES (1, 1, 1)")
        .await;
    db.sync_converges().await;
}

/// A db_b table made by hand without a primary key is named as such (before: "db_b's
/// primary key is ()").
#[tokio::test]
async fn a_db_b_table_without_a_primary_key_is_named_so() {
    let mut db = TestDb::new(&[]).await;
    db.exec("CREATE TABLE notes (id INT PRIMARY KEY, body TEXT)")
        .await;
    db.exec_central("CREATE TABLE notes (id INT, body TEXT)")
        .await;
    db.set("SYNC_TABLES", "users,orders,notes");
    let out = cli_exits(&db, &["init"], 2);
    assert!(
        stderr(&out).contains("db_b's table has no primary key but db_a's is (id)"),
        "{}",
        stderr(&out)
    );
}

/// A generated column made an ordinary one on db_a becomes one in db_b too: the values
/// images now carry are stored (before, db_b kept computing its own and `resync` could
/// not repair it).
#[tokio::test]
async fn a_generated_column_made_ordinary_takes_written_values_in_db_b() {
    let db = TestDb::with_table(
        "CREATE TABLE g (id INT PRIMARY KEY, a INT, b INT AS (a * 2) STORED)",
        "g",
    )
    .await;
    db.exec("INSERT INTO g (id, a) VALUES (1, 1)").await;
    db.sync_converges().await;
    db.exec("ALTER TABLE g MODIFY b INT").await;
    cli_exits(&db, &["init"], 0);
    db.exec("INSERT INTO g VALUES (4, 1, 999)").await;
    db.sync_converges().await;
    let stored = "SELECT COUNT(*) FROM g WHERE (id = 4 AND b = 999) OR (id = 1 AND b = 2)";
    assert_eq!(db.count(&db.central, stored).await, 2);
}

/// A ZEROFILL integer's width is how its values read (`00042`): a width changed on db_a
/// is taken into db_b, and `verify` stays equal. Before, db_b kept the old width (the
/// width was ignored as for other integers) and `verify` differed on every row for good.
#[tokio::test]
async fn a_zerofill_width_change_follows_into_db_b() {
    let db = TestDb::with_table(
        "CREATE TABLE codes (id INT PRIMARY KEY, c INT(5) UNSIGNED ZEROFILL)",
        "codes",
    )
    .await;
    db.exec("INSERT INTO codes VALUES (1, 42)").await;
    db.sync_converges().await;
    db.exec("ALTER TABLE codes MODIFY c INT(8) UNSIGNED ZEROFILL")
        .await;
    cli_exits(&db, &["init"], 0);
    db.exec("INSERT INTO codes VALUES (2, 7)").await;
    db.sync().await;
    db.assert_converged().await;
    let width = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = 'codes' AND COLUMN_TYPE = 'int(8) unsigned zerofill'";
    assert_eq!(db.count(&db.central, width).await, 1);
}

/// A recorded definition that does not read (written by another version, edited by hand):
/// a run stops as `schema_changed` naming the table and `dbsync init`, and `init` records it
/// anew and copies the table — what changed since cannot be told (here a column the old
/// triggers did not image, set by an UPDATE that queued nothing). Before, the run ended as if
/// db_a did not answer, and `init` refused to run.
#[tokio::test]
async fn an_unreadable_recorded_definition_is_recorded_anew_by_init() {
    let db = TestDb::new(&[]).await;
    db.exec(
        "INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x.io'); \
         INSERT INTO orders (id, user_id, amount) VALUES (1, 1, 2.50)",
    )
    .await;
    db.sync_converges().await;
    db.exec("UPDATE sync_tables SET spec = '{\"name\": 7' WHERE table_name = 'orders'")
        .await;
    db.exec("ALTER TABLE orders ADD COLUMN note INT; UPDATE orders SET note = 7")
        .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(report.outcome, Outcome::SchemaChanged, "{report}");
    let note = report.message.clone().unwrap_or_default();
    assert!(
        note.contains("recorded for `orders` cannot be read") && note.contains("dbsync init"),
        "{note}"
    );
    let out = db.cli(&["verify"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("run `dbsync init`"),
        "{}",
        stderr(&out)
    );
    cli_exits(&db, &["init"], 0);
    db.sync_converges().await;

    // One that reads, but as another table's definition, is taken for unreadable too.
    db.exec(
        "UPDATE sync_tables t JOIN sync_tables u ON u.table_name = 'users' \
         SET t.spec = u.spec WHERE t.table_name = 'orders'",
    )
    .await;
    db.exec("ALTER TABLE orders ADD COLUMN memo VARCHAR(5); UPDATE orders SET memo = 'm'")
        .await;
    let report = db.engine().run().await.unwrap();
    let note = report.message.clone().unwrap_or_default();
    assert!(note.contains("holds the definition of `users`"), "{note}");
    cli_exits(&db, &["init"], 0);
    db.sync_converges().await;
}

/// A synced table given what `init` refuses (here an application-time period): the run says
/// what to do — `init` alone would only refuse it.
#[tokio::test]
async fn a_synced_table_given_what_init_refuses_is_told_what_to_do() {
    let db = TestDb::with_table(
        "CREATE TABLE prices (sku INT, s DATE NOT NULL, e DATE NOT NULL, PRIMARY KEY (sku, s))",
        "prices",
    )
    .await;
    db.exec("ALTER TABLE prices ADD PERIOD FOR valid (s, e)")
        .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(report.outcome, Outcome::SchemaChanged, "{report}");
    let note = report.message.clone().unwrap_or_default();
    assert!(
        note.contains("application-time period")
            && note.contains("take it out of SYNC_TABLES")
            && !note.contains("update the capture triggers"),
        "{note}"
    );
}
