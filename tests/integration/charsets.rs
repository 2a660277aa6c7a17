//! Character sets: tables mixing them, db_a changing them, db_b copies made before `init`.

use crate::helpers::{TestDb, stdout};

async fn clean_sync(db: &TestDb) {
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    db.assert_converged().await;
}

/// A table mixing utf16 and utf32 columns with utf8mb4 ones: the shop's writes go on (the
/// row image converts them) and reach db_b exactly.
#[tokio::test]
async fn a_table_mixing_wide_character_sets_syncs() {
    let db = TestDb::with_table(
        "CREATE TABLE labels (id INT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10) CHARACTER SET utf16, \
         c VARCHAR(10) CHARACTER SET utf32, d VARCHAR(10) CHARACTER SET ucs2) DEFAULT CHARSET=utf8mb4",
        "labels",
    )
    .await;
    db.exec("INSERT INTO labels VALUES (1, 'zoë', 'ø€', '😀', 'ß'); UPDATE labels SET b = 'Ω' WHERE id = 1")
        .await;
    clean_sync(&db).await;
    let same = "SELECT COUNT(*) FROM labels WHERE HEX(b) = HEX(CONVERT('Ω' USING utf16)) AND HEX(c) = HEX(CONVERT('😀' USING utf32))";
    assert_eq!(db.count(&db.central, same).await, 1);
}

/// db_a's table moves to another character set (a new column in the new default, or every
/// column converted): `init` gives db_b's columns the same set, and runs go on.
#[tokio::test]
async fn a_character_set_change_on_db_a_is_followed_by_init() {
    let mut db = TestDb::with_table(
        "CREATE TABLE notes (id INT PRIMARY KEY, a VARCHAR(20), t TEXT) DEFAULT CHARSET=latin1",
        "notes",
    )
    .await;
    db.exec("INSERT INTO notes VALUES (1, 'café', 'x')").await;
    clean_sync(&db).await;
    db.exec("ALTER TABLE notes DEFAULT CHARSET=utf8mb4, ADD COLUMN note VARCHAR(30)")
        .await;
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", stdout(&out));
    db.exec("INSERT INTO notes VALUES (2, 'b', 'y', '😀 new')")
        .await;
    clean_sync(&db).await;
    db.exec("ALTER TABLE notes CONVERT TO CHARACTER SET utf8mb4")
        .await;
    db.set("SYNC_TABLES", "users,orders,notes");
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", stdout(&out));
    db.exec("UPDATE notes SET a = '😀 emoji', t = '😀' WHERE id = 1")
        .await;
    clean_sync(&db).await;
}

/// A db_b copy made before `init` with a larger character set than db_a's (latin1 for
/// ascii, utf8mb3 for latin1) holds every value: runs are not refused.
#[tokio::test]
async fn a_larger_character_set_in_db_b_is_accepted() {
    let mut db = TestDb::new(&[]).await;
    db.exec("CREATE TABLE codes (id INT PRIMARY KEY, a VARCHAR(10) CHARACTER SET ascii, b VARCHAR(10) CHARACTER SET latin1)")
        .await;
    db.exec_central("CREATE TABLE codes (id INT PRIMARY KEY, a VARCHAR(10) CHARACTER SET latin1, b VARCHAR(10) CHARACTER SET utf8mb3)")
        .await;
    db.set("SYNC_TABLES", "users,orders,codes");
    dbsync::services::setup::init(&db.config, false)
        .await
        .expect("init accepts the larger sets");
    db.exec("INSERT INTO codes VALUES (1, 'abc', 'é')").await;
    let report = db.sync().await;
    assert_eq!((report.applied, report.failed), (1, 0), "{report}");
}

/// A TEXT column whose db_a character set takes fewer bytes a character than db_b's (utf16
/// or latin1 beside utf8mb4) holds more characters than db_b's TEXT could: runs refuse
/// until `init` gives db_b's column db_a's set; no value is cut.
#[tokio::test]
async fn a_text_column_moved_to_a_narrower_encoding_is_followed_by_init() {
    let mut db = TestDb::with_table(
        "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT CHARACTER SET utf8mb4)",
        "notes",
    )
    .await;
    db.exec("ALTER TABLE notes CONVERT TO CHARACTER SET utf16")
        .await;
    db.exec("INSERT INTO notes VALUES (1, REPEAT('中', 30000))")
        .await;
    let out = db.cli(&["sync"]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    db.set("SYNC_TABLES", "users,orders,notes");
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", stdout(&out));
    clean_sync(&db).await;
    let whole = "SELECT COUNT(*) FROM notes WHERE CHAR_LENGTH(body) = 30000";
    assert_eq!(db.count(&db.central, whole).await, 1);
}

/// A key's collation changed on db_a (case-insensitive to binary): two rows that differ
/// only by case become two records; runs wait for `init`, which gives db_b the same
/// collation, so neither overwrites the other.
#[tokio::test]
async fn a_key_collation_change_is_a_schema_change() {
    let mut db = TestDb::with_table(
        "CREATE TABLE codes (code VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, \
         email VARCHAR(40) COLLATE utf8mb4_general_ci UNIQUE, v INT)",
        "codes",
    )
    .await;
    db.exec("INSERT INTO codes VALUES ('abc', 'x@y', 1)").await;
    clean_sync(&db).await;
    db.exec(
        "ALTER TABLE codes MODIFY code VARCHAR(20) COLLATE utf8mb4_bin NOT NULL, \
         MODIFY email VARCHAR(40) COLLATE utf8mb4_bin",
    )
    .await;
    let out = db.cli(&["sync"]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    assert!(stdout(&out).contains("collation"), "{}", stdout(&out));
    db.set("SYNC_TABLES", "users,orders,codes");
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", stdout(&out));
    db.exec("INSERT INTO codes VALUES ('ABC', 'X@Y', 2)").await;
    clean_sync(&db).await;
    assert_eq!(db.count(&db.central, "SELECT COUNT(*) FROM codes").await, 2);
}

/// An ENUM or SET of CHARACTER SET binary is refused by `init` (its bytes would make the
/// whole row image binary and the shop's writes fail).
#[tokio::test]
async fn a_binary_enum_is_refused_by_init() {
    let db = TestDb::new(&[]).await;
    db.exec("CREATE TABLE flags (id INT PRIMARY KEY, x SET('a','b') CHARACTER SET binary)")
        .await;
    let mut env = db.env.clone();
    env.insert("SYNC_TABLES".into(), "users,orders,flags".into());
    let out = crate::helpers::run_cli(&env, &["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        crate::helpers::stderr(&out).contains("cannot copy exactly"),
        "{}",
        crate::helpers::stderr(&out)
    );
    db.exec("INSERT INTO flags VALUES (1, 'a')").await;
}

/// A generated column computed another way on db_a: runs wait for `init`, which changes
/// db_b's expression too.
#[tokio::test]
async fn a_changed_generated_expression_is_followed_by_init() {
    let mut db = TestDb::with_table(
        "CREATE TABLE parts (id INT PRIMARY KEY, a VARCHAR(20), b VARCHAR(20), \
         g VARCHAR(45) AS (CONCAT(a, '-', b)) STORED)",
        "parts",
    )
    .await;
    db.exec("INSERT INTO parts (id, a, b) VALUES (1, 'x', 'y')")
        .await;
    clean_sync(&db).await;
    db.exec("ALTER TABLE parts MODIFY g VARCHAR(45) AS (CONCAT(a, '+', b)) STORED")
        .await;
    let out = db.cli(&["sync"]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    db.set("SYNC_TABLES", "users,orders,parts");
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", stdout(&out));
    db.exec("INSERT INTO parts (id, a, b) VALUES (2, 'p', 'q')")
        .await;
    clean_sync(&db).await;
    let computed = "SELECT COUNT(*) FROM parts WHERE g IN ('x+y', 'p+q')";
    assert_eq!(db.count(&db.central, computed).await, 2);
}

/// db_a drops a generated column and changes the set of the column it was computed from,
/// in one statement (MariaDB requires it): init drops it in db_b before the change.
#[tokio::test]
async fn a_dropped_generated_column_goes_before_its_source_changes() {
    let mut db = TestDb::with_table(
        "CREATE TABLE pairs (id INT PRIMARY KEY, a VARCHAR(20) CHARACTER SET latin1, \
         h VARCHAR(20) CHARACTER SET latin1 AS (a COLLATE latin1_bin) VIRTUAL, KEY (h))",
        "pairs",
    )
    .await;
    db.exec("ALTER TABLE pairs DROP COLUMN h, MODIFY a VARCHAR(20) CHARACTER SET utf8mb4")
        .await;
    db.set("SYNC_TABLES", "users,orders,pairs");
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}", crate::helpers::stderr(&out));
    db.exec("INSERT INTO pairs (id, a) VALUES (1, '😀')").await;
    clean_sync(&db).await;
}

/// A UUID key, and a utf8mb3 TEXT column whose db_b copy is utf8mb4 TEXT (the same bytes
/// for every character utf8mb3 has): both sync, nothing refused.
#[tokio::test]
async fn uuid_keys_and_a_utf8mb4_copy_of_utf8mb3_text_sync() {
    let mut db = TestDb::new(&[]).await;
    db.exec(
        "CREATE TABLE tickets (id UUID PRIMARY KEY, body TEXT CHARACTER SET utf8mb3) \
         DEFAULT CHARSET=utf8mb3",
    )
    .await;
    db.exec_central("CREATE TABLE tickets (id UUID PRIMARY KEY, body TEXT CHARACTER SET utf8mb4)")
        .await;
    db.set("SYNC_TABLES", "users,orders,tickets");
    dbsync::services::setup::init(&db.config, false)
        .await
        .expect("init takes a UUID key and the larger set");
    db.exec("INSERT INTO tickets VALUES (UUID(), 'crème'), (UUID(), REPEAT('é', 30000))")
        .await;
    let report = db.sync().await;
    assert_eq!((report.applied, report.failed), (2, 0), "{report}");
}
