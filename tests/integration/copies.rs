//! The copies `init` queues: changes queued before a change of their table's definition
//! that reads them otherwise (a key that names rows another way, a narrowed column, a
//! column moved out of a character set whose values travel as bytes), writes made while the
//! table's triggers were gone, an ALTER that changed db_a's rows itself: db_b ends as db_a
//! with nothing left FAILED, an `init` killed part way included.

use sqlx::Connection;

use crate::helpers::{TestDb, stdout};

/// `dbsync init`, which must succeed; its output.
fn init(db: &TestDb) -> String {
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", stdout(&out));
    stdout(&out)
}

/// A sync that leaves nothing FAILED or pending, db_b equal to db_a.
async fn converges(db: &TestDb) {
    db.sync_converges().await;
    let left = "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'";
    assert_eq!(db.count(&db.local, left).await, 0, "changes left");
}

/// `table` made by `ddl` and synced with `rows` in it, then `queued` written: changes queued
/// before the change of definition a test makes next.
async fn synced_then(ddl: &str, table: &str, rows: &str, queued: &str) -> TestDb {
    let db = TestDb::with_table(ddl, table).await;
    db.exec(rows).await;
    converges(&db).await;
    db.exec(queued).await;
    db
}

/// `dbsync init`, which must succeed and say `expected`.
fn init_says(db: &TestDb, expected: &str) {
    let said = init(db);
    assert!(said.contains(expected), "{said}");
}

/// `INT UNSIGNED` → `BIGINT UNSIGNED` widens the key, but the queue names its rows in
/// `record_key` instead of `record_id` from then on.
#[tokio::test]
async fn a_key_widened_past_record_id_hands_its_queued_changes_to_a_copy() {
    let db = synced_then(
        "CREATE TABLE items (id INT UNSIGNED PRIMARY KEY, name VARCHAR(10), qty INT)",
        "items",
        "INSERT INTO items SELECT seq, CONCAT('r', seq), seq FROM seq_1_to_20",
        "UPDATE items SET qty = qty + 100 WHERE id <= 5; DELETE FROM items WHERE id = 6; \
         INSERT INTO items VALUES (21, 'new', 1)",
    )
    .await;
    db.exec("ALTER TABLE items MODIFY id BIGINT UNSIGNED NOT NULL")
        .await;
    init_says(&db, "items: its key names rows another way now");
    db.exec("INSERT INTO items VALUES (18446744073709551615, 'max', 1)")
        .await;
    converges(&db).await;
}

/// Key columns widened so that their values read otherwise (a ZEROFILL width: `00001`
/// becomes `00000001`; more decimals): queued changes named their rows by the old
/// spelling. Before, a change backing off after a rejection, retried after the row's newer
/// change was applied, put the older row back in db_b.
#[tokio::test]
async fn a_key_that_reads_otherwise_hands_its_queued_changes_to_a_copy() {
    let mut db = synced_then(
        "CREATE TABLE padded (id INT(5) UNSIGNED ZEROFILL PRIMARY KEY, v VARCHAR(10) UNIQUE); \
         CREATE TABLE priced (p DECIMAL(6,2) PRIMARY KEY, v VARCHAR(10))",
        "padded,priced",
        "INSERT INTO padded VALUES (1, 'a'), (2, 'b'); INSERT INTO priced VALUES (1.50, 'a')",
        "UPDATE priced SET v = 'older'",
    )
    .await;
    db.set("SYNC_RETRY_BACKOFF", "1h");
    // Refused by a row only db_b has: it backs off.
    db.exec_central("INSERT INTO padded VALUES (99, 'older')")
        .await;
    db.exec("UPDATE padded SET v = 'older' WHERE id = 1").await;
    assert_eq!(db.sync().await.failed, 1);
    db.exec(
        "ALTER TABLE padded MODIFY id INT(8) UNSIGNED ZEROFILL NOT NULL; \
         ALTER TABLE priced MODIFY p DECIMAL(8,4) NOT NULL",
    )
    .await;
    let said = init(&db);
    for table in ["padded", "priced"] {
        assert!(
            said.contains(&format!("{table}: its key names rows another way now")),
            "{said}"
        );
    }
    db.exec("UPDATE padded SET v = 'newest' WHERE id = 1; UPDATE priced SET v = 'newest'")
        .await;
    db.sync().await;
    let out = db.cli(&["retry", "--all"]);
    assert!(out.status.success(), "{}", stdout(&out));
    converges(&db).await;
}

/// A key collation that tells more strings apart: queued changes named their rows by a
/// collation weight, new ones by the value.
#[tokio::test]
async fn a_key_collation_change_hands_its_queued_changes_to_a_copy() {
    let db = synced_then(
        "CREATE TABLE codes (code VARCHAR(10) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)",
        "codes",
        "INSERT INTO codes VALUES ('Ab1', 1), ('cd2', 2)",
        "UPDATE codes SET v = 10 WHERE code = 'ab1'; DELETE FROM codes WHERE code = 'CD2'",
    )
    .await;
    db.exec("ALTER TABLE codes MODIFY code VARCHAR(10) COLLATE utf8mb4_nopad_bin NOT NULL")
        .await;
    init_says(&db, "codes: its key names rows another way now");
    converges(&db).await;
    let v = "SELECT v FROM codes WHERE code = 'Ab1'";
    assert_eq!(db.count(&db.central, v).await, 10);
}

/// A narrowed column, refused by `init` until db_b's column is changed by hand as it says:
/// queued values with more fractions than the column now takes give way to the copy.
#[tokio::test]
async fn a_narrowed_column_hands_its_queued_changes_to_a_copy() {
    let db = synced_then(
        "CREATE TABLE items (id INT PRIMARY KEY, ts DATETIME(3), q INT)",
        "items",
        "INSERT INTO items SELECT seq, '2025-01-01 10:00:00.123', seq FROM seq_1_to_10",
        "UPDATE items SET q = q + 1",
    )
    .await;
    db.exec("ALTER TABLE items MODIFY ts DATETIME(1)").await;
    let out = db.cli(&["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    db.exec_central("ALTER TABLE items MODIFY ts DATETIME(1)")
        .await;
    init_says(&db, "`ts` was narrowed");
    converges(&db).await;
}

/// A cp1251 column converted to utf8mb4: values queued before are cp1251 bytes.
#[tokio::test]
async fn a_column_leaving_a_byte_character_set_hands_its_queued_changes_to_a_copy() {
    let db = synced_then(
        "CREATE TABLE items (id INT PRIMARY KEY, ru VARCHAR(10) CHARACTER SET cp1251)",
        "items",
        "INSERT INTO items VALUES (1, UNHEX('C8E2')), (2, 'x')",
        "UPDATE items SET ru = UNHEX('E0E1') WHERE id = 1; INSERT INTO items VALUES (3, UNHEX('C0'))",
    )
    .await;
    db.exec("ALTER TABLE items MODIFY ru VARCHAR(10) CHARACTER SET utf8mb4")
        .await;
    init_says(&db, "`ru` moved from character set cp1251 to utf8mb4");
    converges(&db).await;
    let same = "SELECT COUNT(*) FROM items WHERE id = 1 AND ru = 'аб'";
    assert_eq!(db.count(&db.central, same).await, 1);
}

/// The table swapped for a copy, as online schema change tools do: its triggers went with
/// the old table and the writes since were captured by none. `init` puts triggers back and
/// queues the table's copy, saying why.
#[tokio::test]
async fn writes_made_without_the_triggers_are_copied_by_init() {
    let db = TestDb::with_table(
        "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10), qty INT)",
        "items",
    )
    .await;
    db.exec("INSERT INTO items (name, qty) VALUES ('x', 1), ('y', 2), ('z', 3)")
        .await;
    converges(&db).await;
    db.exec(
        "CREATE TABLE items_new LIKE items; ALTER TABLE items_new ADD INDEX ix (name); \
         INSERT INTO items_new SELECT * FROM items; \
         RENAME TABLE items TO items_old, items_new TO items; DROP TABLE items_old",
    )
    .await;
    db.exec(
        "UPDATE items SET qty = qty + 7 WHERE id = 2; INSERT INTO items (name, qty) VALUES ('post', 1); \
         DELETE FROM items WHERE id = 3",
    )
    .await;
    init_says(&db, "items: its capture triggers were missing");
    converges(&db).await;
}

/// The same swap with the old table kept (gh-ost's default, a cautious hand): the capture
/// triggers went along to `items_old`, where they queued its writes as `items` changes
/// and kept the names `init` needs. `init` drops them there and puts `items`' back. Before,
/// `init` failed on every attempt ("Trigger does not exist").
#[tokio::test]
async fn init_takes_back_the_triggers_a_kept_old_table_took_along() {
    let db = TestDb::with_table(
        "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10), qty INT)",
        "items",
    )
    .await;
    db.exec("INSERT INTO items (name, qty) VALUES ('x', 1), ('y', 2)")
        .await;
    converges(&db).await;
    db.exec(
        "CREATE TABLE items_new LIKE items; INSERT INTO items_new SELECT * FROM items; \
         RENAME TABLE items TO items_old, items_new TO items",
    )
    .await;
    db.exec("INSERT INTO items (name, qty) VALUES ('post', 1)")
        .await;
    init_says(&db, "items: its capture triggers were missing");
    let on_old = "SELECT COUNT(*) FROM information_schema.TRIGGERS \
                  WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'items_old'";
    assert_eq!(db.count(&db.local, on_old).await, 0);
    let queued = "SELECT COUNT(*) FROM sync_queue WHERE table_name = 'items'";
    let before = db.count(&db.local, queued).await;
    db.exec("INSERT INTO items_old (name, qty) VALUES ('old', 9)")
        .await;
    assert_eq!(
        db.count(&db.local, queued).await,
        before,
        "the old table's writes are not items'"
    );
    converges(&db).await;
}

/// Two synced tables of one shape that swap names keep each other's triggers, which queue
/// one table's writes as the other's: the run says the triggers are missing (each table's
/// must sit on it), and `init` puts them right. Before, runs applied each table's writes to
/// the other in db_b and said `synced`.
#[tokio::test]
async fn synced_tables_that_swap_names_are_told_and_put_right() {
    let db = TestDb::with_table(
        "CREATE TABLE ta (id INT PRIMARY KEY, v VARCHAR(20)); \
         CREATE TABLE tb (id INT PRIMARY KEY, v VARCHAR(20))",
        "ta,tb",
    )
    .await;
    db.exec("INSERT INTO ta VALUES (1, 'a'); INSERT INTO tb VALUES (1, 'b')")
        .await;
    converges(&db).await;
    db.exec(
        "RENAME TABLE ta TO tmp_swap, tb TO ta, tmp_swap TO tb; \
         INSERT INTO ta VALUES (400, 'into ta'); UPDATE tb SET v = 'into tb' WHERE id = 1",
    )
    .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(
        report.outcome,
        dbsync::domain::Outcome::SchemaChanged,
        "{report}"
    );
    let said = report.message.clone().unwrap_or_default();
    assert!(said.contains("`ta`") && said.contains("`tb`"), "{said}");
    let in_b = "SELECT COUNT(*) FROM tb WHERE id = 400";
    assert_eq!(
        db.count(&db.central, in_b).await,
        0,
        "nothing applied to the wrong table"
    );
    init(&db);
    converges(&db).await;
}

/// A column widened while the table is copied, and rows given longer values: the copy wrote
/// some of them cut to the old width (db_b takes rows in a permissive mode). The run ends
/// as `schema_changed` with nothing blamed, and the table's copy starts over once `init`
/// has widened db_b's column.
#[tokio::test]
async fn a_table_changed_while_it_is_copied_is_copied_again_after_init() {
    let db = TestDb::with_table(
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL)",
        "items",
    )
    .await;
    db.exec("INSERT INTO items SELECT seq, CONCAT('r', seq) FROM seq_1_to_6000")
        .await;
    // ALTER commits the writer's transaction first; the UPDATE then runs on its own.
    let then = "ALTER TABLE items MODIFY name VARCHAR(60) NOT NULL; \
                UPDATE items SET name = CONCAT('LONGNAME-LONGNAME-', id) WHERE id > 5000";
    let out = db.during_copy(&["resync"], ("items", 100), then).await;
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(6), "{said}");
    assert!(said.contains("starts over"), "{said}");
    assert_eq!(db.total_retries().await, 0, "nothing blamed");
    init(&db);
    converges(&db).await;
    let long = "SELECT COUNT(*) FROM items WHERE name LIKE 'LONGNAME-LONGNAME-%'";
    assert_eq!(db.count(&db.central, long).await, 1000);
}

/// `init` killed part way, once it has decided a table's copy (its triggers were missing):
/// the next `init` still queues that copy. The copies are queued before the triggers are
/// put back; the other way round, the next `init` found the triggers current and copied
/// nothing, and runs said `synced` with the missed writes never in db_b.
#[tokio::test]
async fn an_init_killed_part_way_still_leads_to_the_copy() {
    let db = TestDb::with_table(
        "CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(10))",
        "items",
    )
    .await;
    db.exec("INSERT INTO items VALUES (1, 'a'), (2, 'b')").await;
    converges(&db).await;
    db.exec(
        "CREATE TABLE items_new LIKE items; INSERT INTO items_new SELECT * FROM items; \
         RENAME TABLE items TO items_old, items_new TO items; DROP TABLE items_old; \
         UPDATE items SET v = 'missed' WHERE id = 1",
    )
    .await;
    // Every new row of `sync_load` waits for this transaction: `init` stops at its first.
    let mut holder = db.local.acquire().await.expect("db_a connection");
    sqlx::raw_sql("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *holder)
        .await
        .expect("isolation");
    let mut lock = holder.begin().await.expect("begin");
    sqlx::raw_sql("SELECT * FROM sync_load FOR UPDATE")
        .execute(&mut *lock)
        .await
        .expect("lock sync_load");
    let mut child = crate::helpers::cli_command(&db.env, &["init"], &std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dbsync started");
    let blocked = format!(
        "SELECT COALESCE(MAX(ID), 0) FROM information_schema.PROCESSLIST WHERE DB = '{}' \
         AND ID <> CONNECTION_ID() AND INFO LIKE '%INTO sync_load%'",
        db.config.local.database
    );
    let started = std::time::Instant::now();
    let id = loop {
        let id = db.count(&db.local, &blocked).await;
        if id > 0 {
            break id;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "init never reached sync_load"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    child.kill().expect("kill -9");
    let _ = child.wait();
    db.exec(&format!("KILL {id}")).await;
    lock.rollback().await.expect("release");
    drop(holder);
    init_says(&db, "items: its capture triggers were missing");
    converges(&db).await;
}

/// An ALTER to a character set that does not hold every value, under a permissive
/// `sql_mode`, turns db_a's characters into `?` without a trigger: `init` queues the copy.
#[tokio::test]
async fn a_column_moved_to_a_narrower_character_set_is_copied_again() {
    let db = synced_then(
        "CREATE TABLE items (id INT PRIMARY KEY, s VARCHAR(20) CHARACTER SET utf8mb4)",
        "items",
        "INSERT INTO items VALUES (1, 'Жé'), (2, 'plain')",
        "SET SESSION sql_mode = ''; ALTER TABLE items MODIFY s VARCHAR(20) CHARACTER SET latin1",
    )
    .await;
    init_says(&db, "does not hold every value");
    converges(&db).await;
}
