//! Character sets: tables mixing them, db_a changing them, db_b copies made before `init`.

use crate::helpers::{TestDb, stderr, stdout};

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

/// Every row of `table` as the hex of each column, in key order: bytes compared as bytes,
/// not through dbsync's own reader.
async fn hex_rows(pool: &sqlx::MySqlPool, table: &str, columns: &[&str]) -> Vec<String> {
    let hex: Vec<String> = columns
        .iter()
        .map(|c| format!("COALESCE(HEX(`{c}`), 'NULL')"))
        .collect();
    let sql = format!(
        "SELECT CONCAT_WS('|', {}) FROM `{table}` ORDER BY 1",
        hex.join(", ")
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .expect("read rows as hex")
}

/// Text in character sets whose values do not all survive a trip through Unicode reaches
/// db_b byte for byte: sjis and big5 keep a backslash and its full-width look-alike apart
/// (two keys stay two rows), cp1251 and ascii keep bytes no Unicode character has, and a
/// table mixing such sets with latin1 goes on taking writes. `verify` compares bytes: a
/// value changed by hand in db_b is named.
#[tokio::test]
async fn text_in_legacy_character_sets_reaches_db_b_byte_for_byte() {
    let db = TestDb::with_table(
        "CREATE TABLE legacy (code VARCHAR(10) CHARACTER SET sjis COLLATE sjis_bin PRIMARY KEY, \
         name VARCHAR(20) CHARACTER SET latin1, ru VARCHAR(20) CHARACTER SET cp1251, \
         path VARCHAR(20) CHARACTER SET sjis, tw VARCHAR(10) CHARACTER SET big5, \
         raw VARCHAR(10) CHARACTER SET ascii, memo TEXT CHARACTER SET cp1251, \
         body LONGTEXT CHARACTER SET cp1251, kind ENUM('a','b') CHARACTER SET sjis)",
        "legacy",
    )
    .await;
    let columns = [
        "code", "name", "ru", "path", "tw", "raw", "memo", "body", "kind",
    ];
    db.exec(
        "INSERT INTO legacy VALUES \
         (UNHEX('415C31'), 'José', UNHEX('C8E2E0ED'), UNHEX('433A5C646972'), UNHEX('A15A'), UNHEX('43E9'), UNHEX('419842'), UNHEX('98'), 'a'), \
         (UNHEX('41815F31'), NULL, NULL, UNHEX('815F'), UNHEX('A2CE'), 'x', NULL, NULL, NULL), \
         (UNHEX('42'), 'gone', 'x', 'x', 'x', 'x', 'x', 'x', 'b')",
    )
    .await;
    db.exec(
        "UPDATE legacy SET ru = UNHEX('98'), kind = 'b' WHERE code = UNHEX('41815F31'); \
         DELETE FROM legacy WHERE code = 'B'",
    )
    .await;
    clean_sync(&db).await;
    let ours = hex_rows(&db.local, "legacy", &columns).await;
    assert_eq!(ours.len(), 2);
    assert_eq!(hex_rows(&db.central, "legacy", &columns).await, ours);

    db.exec_central(
        "UPDATE legacy SET path = UNHEX('433A815F646972') WHERE code = UNHEX('415C31')",
    )
    .await;
    let out = db.cli(&["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

/// The initial load copies the same values as they are stored, not as Unicode text.
#[tokio::test]
async fn the_initial_load_copies_legacy_character_sets_exactly() {
    let mut db = TestDb::new(&[]).await;
    db.exec(
        "CREATE TABLE legacy (id INT PRIMARY KEY, raw VARCHAR(10) CHARACTER SET ascii, \
         ru VARCHAR(10) CHARACTER SET cp1251, path VARCHAR(20) CHARACTER SET cp932); \
         INSERT INTO legacy VALUES (1, UNHEX('43E9'), UNHEX('419842'), UNHEX('433A5C8790')), \
         (2, 'x', NULL, UNHEX('ED40'))",
    )
    .await;
    db.set("SYNC_TABLES", "users,orders,legacy");
    let out = db.cli(&["init", "--load"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let columns = ["id", "raw", "ru", "path"];
    let ours = hex_rows(&db.local, "legacy", &columns).await;
    assert_eq!(hex_rows(&db.central, "legacy", &columns).await, ours);
    let out = db.cli(&["verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

/// A utf8mb4 value that is not UTF-8 (CESU-8 surrogates, as old Java clients wrote emoji):
/// its change alone is FAILED, saying why; changes of other rows and tables, before and
/// after it, are synced, and the change that corrects the value in db_a is synced too.
#[tokio::test]
async fn text_that_is_not_utf8_fails_its_own_change_only() {
    let db = TestDb::with_table(
        "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20))",
        "notes",
    )
    .await;
    db.exec(
        "INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x'); \
         INSERT INTO notes VALUES (1, UNHEX('416E6120EDA0BDEDB880')), (2, 'fine'); \
         INSERT INTO users (id, name, email) VALUES (2, 'b', 'b@x')",
    )
    .await;
    let report = db.sync().await;
    assert_eq!((report.applied, report.failed), (3, 1), "{report}");
    let failed: Vec<String> = sqlx::query_scalar(
        "SELECT last_error FROM sync_queue WHERE sync_status = 'FAILED' AND table_name = 'notes'",
    )
    .fetch_all(&db.local)
    .await
    .expect("read FAILED changes");
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains("not UTF-8"), "{}", failed[0]);
    db.exec("UPDATE notes SET body = 'Ana 😀' WHERE id = 1")
        .await;
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    db.assert_converged().await;
    // A delete needs only the key the queue row names: the old value does not stop it.
    db.exec(
        "UPDATE notes SET body = UNHEX('EDA0BDEDB880') WHERE id = 2; DELETE FROM notes WHERE id = 2",
    )
    .await;
    let report = db.sync().await;
    assert_eq!((report.applied, report.failed), (1, 1), "{report}");
    assert_eq!(db.count(&db.central, "SELECT COUNT(*) FROM notes").await, 1);
    db.assert_converged().await;
}

/// A copy cannot carry such a value either: it stops at the row, naming its key and column,
/// and the copy goes through once db_a holds the value corrected.
#[tokio::test]
async fn a_copy_stops_at_text_that_is_not_utf8_naming_it() {
    let db = TestDb::with_table(
        "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20))",
        "notes",
    )
    .await;
    db.exec("INSERT INTO notes VALUES (1, 'fine'), (7, UNHEX('416E6120EDA0BDEDB880'))")
        .await;
    let out = db.cli(&["resync", "--table", "notes"]);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("row 7 holds in column `body`"), "{said}");
    db.exec("UPDATE notes SET body = 'Ana' WHERE id = 7").await;
    let out = db.cli(&["resync", "--table", "notes"]);
    // Partial: the change queued with the value is rejected, and then closed by the one
    // that corrected it (the run applied it too), so nothing is left FAILED.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let failed = "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'";
    assert_eq!(db.count(&db.local, failed).await, 0);
    db.assert_converged().await;
}

/// ENUMs with an `''` member stay text in images: two of them in character sets that do not
/// nest (sjis, cp1251) made `JSON_OBJECT` refuse every write of the table. A member holding
/// a backslash (printed escaped in the column's type) takes its value.
#[tokio::test]
async fn enums_in_any_character_set_sync() {
    let db = TestDb::with_table(
        r"CREATE TABLE marks (id INT PRIMARY KEY, y ENUM('', 'a', '\\') CHARACTER SET sjis,
          z ENUM('', 'b') CHARACTER SET cp1251, w ENUM('\\', 'c''d', 'x') CHARACTER SET utf8mb4)",
        "marks",
    )
    .await;
    db.exec(
        r"INSERT INTO marks VALUES (1, 'a', 'b', '\\'), (2, '\\', '', 'c''d');
          UPDATE marks SET y = '' WHERE id = 1",
    )
    .await;
    clean_sync(&db).await;
    let columns = ["id", "y", "z", "w"];
    let ours = hex_rows(&db.local, "marks", &columns).await;
    assert_eq!(hex_rows(&db.central, "marks", &columns).await, ours);
}

/// A SET with an `''` member: the value holding just that member (or it and others) is not
/// the empty set, through a run and through a copy.
#[tokio::test]
async fn a_set_with_an_empty_member_keeps_it() {
    let db = TestDb::with_table(
        "CREATE TABLE flags (id INT PRIMARY KEY, s SET('a', '', 'b'), t SET('x', 'y'))",
        "flags",
    )
    .await;
    db.exec("INSERT INTO flags VALUES (1, 2, 'x'), (2, 3, ''), (3, 0, 'x,y'), (4, NULL, NULL)")
        .await;
    clean_sync(&db).await;
    let numbers = "SELECT CAST(SUM(id * COALESCE(s + 0, 9)) AS SIGNED) FROM flags";
    let ours = db.count(&db.local, numbers).await;
    assert_eq!(db.count(&db.central, numbers).await, ours);
    db.exec_central("UPDATE flags SET s = '' WHERE id = 1")
        .await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(db.count(&db.central, numbers).await, ours);
    db.assert_converged().await;
}

/// An ENUM key with an `''` member holding both that member and the error value (two rows,
/// under a permissive `sql_mode`): two records, synced apart, and `verify` finds them equal.
#[tokio::test]
async fn an_enum_key_holding_its_empty_member_and_its_error_value_syncs() {
    let db = TestDb::with_table(
        "CREATE TABLE kinds (k ENUM('a', '') CHARACTER SET latin1 PRIMARY KEY, v INT)",
        "kinds",
    )
    .await;
    db.exec("SET SESSION sql_mode = ''; INSERT INTO kinds VALUES ('zz', 1), ('', 2), ('a', 3)")
        .await;
    db.exec("SET SESSION sql_mode = ''; UPDATE kinds SET v = 20 WHERE k + 0 = 2")
        .await;
    clean_sync(&db).await;
    let rows = "SELECT CAST(SUM((k + 0 + 1) * v) AS SIGNED) FROM kinds";
    let ours = db.count(&db.local, rows).await;
    assert_eq!(db.count(&db.central, rows).await, ours);
    let out = db.cli(&["verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}
