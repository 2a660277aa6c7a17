//! Values too big for one statement, or big once spelled for SQL: bytes in an image's hex
//! (twice their size; they go to db_b as bytes), text in JSON (a control character in six
//! bytes). The load never copies a NULL in their place and verify still tells rows apart. (A db_b taking smaller statements than db_a is
//! in the Galera tests: the cluster is the one server a test may reconfigure.)

use crate::helpers::{TestDb, stderr, stdout};
use crate::legacy::differing;

/// A pair whose db_a got `table` and its rows from `sql` (given the server's
/// `max_allowed_packet`) before dbsync knew of it — nothing of them queued, as after a
/// restored backup — then syncing it beside users and orders; and that packet limit.
async fn rows_from_before_dbsync(table: &str, sql: impl FnOnce(i64) -> String) -> (TestDb, i64) {
    let mut db = TestDb::new(&[]).await;
    let packet = db
        .count(&db.local, "SELECT CAST(@@max_allowed_packet AS SIGNED)")
        .await;
    db.exec(&sql(packet)).await;
    db.set("SYNC_TABLES", &format!("users,orders,{table}"));
    dbsync::services::setup::init(&db.config, false)
        .await
        .expect("init with the table");
    (db, packet)
}

/// Blobs in rows that were there before dbsync (a restored backup). One of nearly
/// `max_allowed_packet` is too big for any statement: the load leaves the row out and says
/// so — never copies a NULL in its place — and verify names it. One over half of it (whose
/// hex spelling alone would pass the limit) goes as bytes and is copied byte for byte, as
/// is a smaller one.
#[tokio::test]
async fn a_blob_too_big_for_one_statement_is_never_copied_as_null() {
    let big = |packet: i64| packet - (32 << 10);
    let (db, packet) = rows_from_before_dbsync("docs", |packet| {
        let (big, half, small) = (big(packet), packet * 11 / 20, packet / 5);
        format!(
            "CREATE TABLE docs (id INT PRIMARY KEY, body LONGBLOB); \
             INSERT INTO docs VALUES (1, REPEAT(X'C3', {big})), (2, REPEAT(X'00FF', {small} / 2)), \
             (3, NULL), (4, REPEAT(X'E2', {half}))"
        )
    })
    .await;
    let big = big(packet);
    let out = db.cli(&["resync"]);
    let text = stdout(&out);
    assert!(text.contains("refused by db_b 1"), "{text}{}", stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        stderr(&out).contains("max_allowed_packet"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM docs WHERE id = 1")
            .await,
        0,
        "the big row is left out, not copied as NULL"
    );
    let half_copied = format!(
        "SELECT COUNT(*) FROM docs WHERE id = 4 AND LENGTH(body) = {} AND body = REPEAT(X'E2', {0})",
        packet * 11 / 20
    );
    assert_eq!(db.count(&db.central, &half_copied).await, 1);
    assert_eq!(
        differing(&db, "docs", "id", &["body"]).await,
        1,
        "only the big row"
    );
    // Also when db_b holds other bytes of that size: no digest of either side is NULL.
    for central_row in ["", "INSERT INTO docs VALUES (1, REPEAT(X'C4', {big}))"] {
        if !central_row.is_empty() {
            db.exec_central(&central_row.replace("{big}", &big.to_string()))
                .await;
        }
        let out = db.cli(&["verify"]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(
            stdout(&out).contains("docs: 1 differing id(s): 1"),
            "{}",
            stdout(&out)
        );
    }
}

/// Text whose JSON spelling passes `max_allowed_packet` (a control character takes six
/// bytes there, a JSON value's backslash two): verify still tells a one-character
/// difference, in a MEDIUMTEXT, a LONGTEXT and a JSON column.
#[tokio::test]
async fn verify_tells_apart_texts_longer_than_a_statement_once_spelled_in_json() {
    let (db, _) = rows_from_before_dbsync("notes", |packet| {
        let (chars, escapes) = (packet / 5, packet * 10 / 66);
        format!(
            "CREATE TABLE notes (id INT PRIMARY KEY, mt MEDIUMTEXT, lt LONGTEXT, j JSON); \
             INSERT INTO notes VALUES (1, REPEAT(CHAR(1), {chars}), REPEAT(CHAR(1), {chars}), NULL), \
               (2, NULL, NULL, CONCAT('[\"', REPEAT('\\\\u0001', {escapes}), '\"]'))"
        )
    })
    .await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(differing(&db, "notes", "id", &["mt", "lt", "j"]).await, 0);
    db.assert_converged().await;
    for (column, id, changed) in [
        ("mt", 1, "CONCAT('x', SUBSTR(mt, 2))"),
        ("lt", 1, "CONCAT('x', SUBSTR(lt, 2))"),
        ("j", 2, "CONCAT('[\"x', SUBSTR(j, 3))"),
    ] {
        db.exec_central(&format!(
            "UPDATE notes SET {column} = {changed} WHERE id = {id}"
        ))
        .await;
        let out = db.cli(&["verify"]);
        assert!(
            stdout(&out).contains(&format!("notes: 1 differing id(s): {id}")),
            "{column}: {}",
            stdout(&out)
        );
        let out = db.cli(&["resync"]);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        db.assert_converged().await;
    }
}

/// A latin1 LONGTEXT of accented letters takes twice its size as utf8mb4: past
/// `max_allowed_packet` the server's CAST of it is NULL. Verify still compares it.
#[tokio::test]
async fn verify_compares_a_latin1_text_longer_than_a_statement_in_utf8() {
    let row = |packet: i64| {
        let letters = packet * 11 / 20;
        format!("INSERT INTO letters VALUES (1, REPEAT(CONVERT('é' USING latin1), {letters}))")
    };
    let (db, packet) = rows_from_before_dbsync("letters", |packet| {
        let table = "CREATE TABLE letters (id INT PRIMARY KEY, l LONGTEXT CHARACTER SET latin1)";
        format!("{table}; {}", row(packet))
    })
    .await;
    // In db_b as in db_a (too big for the load to copy here).
    db.exec_central(&row(packet)).await;
    let out = db.cli(&["verify"]);
    assert!(
        stdout(&out).contains("letters: equal (1 rows)"),
        "{}",
        stdout(&out)
    );
    db.exec_central("UPDATE letters SET l = CONCAT('e', SUBSTR(l, 2))")
        .await;
    let out = db.cli(&["verify"]);
    assert!(
        stdout(&out).contains("letters: 1 differing id(s): 1"),
        "{}",
        stdout(&out)
    );
}
