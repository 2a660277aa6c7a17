//! Character sets: tables mixing them, db_a changing them, db_b copies made before `init`.

use crate::helpers::{TestDb, stdout};

/// Adds `table` (created by `ddl` on db_a) to the synced tables and runs `init`.
async fn synced_with(ddl: &str, table: &str) -> TestDb {
    let mut db = TestDb::new(&[]).await;
    db.exec(ddl).await;
    db.set("SYNC_TABLES", &format!("users,orders,{table}"));
    dbsync::services::setup::init(&db.config, false)
        .await
        .expect("init with the new table");
    db
}

async fn clean_sync(db: &TestDb) {
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    db.assert_converged().await;
}

/// A table mixing utf16 and utf32 columns with utf8mb4 ones: the shop's writes go on (the
/// row image converts them) and reach db_b exactly.
#[tokio::test]
async fn a_table_mixing_wide_character_sets_syncs() {
    let db = synced_with(
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
    let mut db = synced_with(
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
