//! Keys legacy schemas use: text keys whose collation calls different spellings equal,
//! BIGINT UNSIGNED beyond the signed range, latin1 text.

use dbsync::domain::Outcome;

use super::{differing, resync_converges};
use crate::helpers::TestDb;

async fn texts(db: &TestDb, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&db.central)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn clean_sync(db: &TestDb) {
    let report = db.sync().await;
    assert_eq!(
        (report.outcome, report.failed),
        (Outcome::Synced, 0),
        "{report}"
    );
}

/// In a case- and accent-insensitive key, changing only the case, an accent or trailing
/// spaces is an update of the same record: db_b ends with exactly the new spelling.
#[tokio::test]
async fn case_only_changes_of_a_text_key_are_updates() {
    let db = TestDb::with_table(
        "CREATE TABLE codes (code VARCHAR(20) NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL) \
         DEFAULT CHARSET=utf8mb4",
        "codes",
    )
    .await;
    db.exec("INSERT INTO codes VALUES ('abc', 'first'), ('cafe', 'second'), ('xyz', 'third')")
        .await;
    clean_sync(&db).await;
    // Synced spellings changed, and a new one inserted and re-spelled within one run.
    db.exec(
        "UPDATE codes SET code = 'ABC' WHERE code = 'abc'; UPDATE codes SET code = 'café' WHERE code = 'cafe'; \
         INSERT INTO codes VALUES ('new', 'fourth'); UPDATE codes SET code = 'NEW', label = 'fourth!' WHERE code = 'new'",
    )
    .await;
    clean_sync(&db).await;
    let all = "SELECT CONCAT('[', code, ']') FROM codes ORDER BY BINARY code";
    assert_eq!(texts(&db, all).await, ["[ABC]", "[NEW]", "[café]", "[xyz]"]);
    assert_eq!(differing(&db, "codes", "code", &["code", "label"]).await, 0);

    // Trailing spaces count for nothing in a PAD SPACE collation, and are kept.
    db.exec("UPDATE codes SET code = 'xyz  ' WHERE code = 'xyz'")
        .await;
    clean_sync(&db).await;
    assert_eq!(
        texts(
            &db,
            "SELECT CONCAT('[', code, ']') FROM codes WHERE label = 'third'"
        )
        .await,
        ["[xyz  ]"]
    );
    db.exec(
        "UPDATE codes SET code = 'XYZ' WHERE code = 'xyz'; DELETE FROM codes WHERE code = 'Cafe'",
    )
    .await;
    clean_sync(&db).await;
    assert_eq!(texts(&db, all).await, ["[ABC]", "[NEW]", "[XYZ]"]);
    db.assert_converged().await;

    db.exec_central("UPDATE codes SET code = 'abc' WHERE code = 'ABC'")
        .await;
    let out = db.cli(&["verify"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a case-only drift is a difference"
    );
    resync_converges(&db).await;
    assert_eq!(texts(&db, all).await, ["[ABC]", "[NEW]", "[XYZ]"]);
}

/// Keys above BIGINT's signed range (the queue's record_id is signed) insert, update and
/// delete exactly.
#[tokio::test]
async fn bigint_unsigned_keys_beyond_the_signed_range_sync() {
    let db = TestDb::with_table(
        "CREATE TABLE tickets (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, label VARCHAR(20) NOT NULL)",
        "tickets",
    )
    .await;
    db.exec(
        "INSERT INTO tickets VALUES (18446744073709551615, 'max'), (9223372036854775808, 'just over'), \
           (9223372036854775807, 'signed max'), (0, 'zero')",
    )
    .await;
    clean_sync(&db).await;
    let all = "SELECT CONCAT(id, '=', label) FROM tickets ORDER BY id";
    assert_eq!(
        texts(&db, all).await,
        [
            "0=zero",
            "9223372036854775807=signed max",
            "9223372036854775808=just over",
            "18446744073709551615=max"
        ]
    );
    db.exec(
        "UPDATE tickets SET label = 'max, renamed' WHERE id = 18446744073709551615; \
         DELETE FROM tickets WHERE id = 9223372036854775808; \
         UPDATE tickets SET id = 18446744073709551614 WHERE id = 0",
    )
    .await;
    clean_sync(&db).await;
    assert_eq!(
        texts(&db, all).await,
        [
            "9223372036854775807=signed max",
            "18446744073709551614=zero",
            "18446744073709551615=max, renamed"
        ]
    );
    assert_eq!(differing(&db, "tickets", "id", &["label"]).await, 0);
    db.assert_converged().await;
    resync_converges(&db).await;
}

/// A latin1 table with an accented text key: inserts, updates, a case-only and a real key
/// change reach db_b with the same latin1 bytes.
#[tokio::test]
async fn latin1_text_keys_sync() {
    let db = TestDb::with_table(
        "CREATE TABLE people (name VARCHAR(30) NOT NULL PRIMARY KEY, city VARCHAR(30) NULL) \
         DEFAULT CHARSET=latin1",
        "people",
    )
    .await;
    db.exec("INSERT INTO people VALUES ('José', 'Málaga'), ('Zoë', NULL), ('Ana', 'Óbidos'), ('Bo', 'x')")
        .await;
    clean_sync(&db).await;
    db.exec(
        "UPDATE people SET city = 'Sevilla' WHERE name = 'José'; UPDATE people SET name = 'ZOË' WHERE name = 'Zoë'; \
         UPDATE people SET name = 'Añá' WHERE name = 'Ana'; DELETE FROM people WHERE name = 'Bo'",
    )
    .await;
    clean_sync(&db).await;
    let all = "SELECT CONCAT(name, '/', HEX(name), '/', COALESCE(city, '-')) FROM people ORDER BY HEX(name)";
    assert_eq!(
        texts(&db, all).await,
        ["Añá/41F1E1/Óbidos", "José/4A6F73E9/Sevilla", "ZOË/5A4FCB/-"]
    );
    let jose = "SELECT COUNT(*) FROM people WHERE name = 'José'";
    assert_eq!(db.count(&db.central, jose).await, 1);
    assert_eq!(differing(&db, "people", "name", &["name", "city"]).await, 0);
    db.assert_converged().await;
    // A case drift in db_b is the same record: a resync rewrites it, never removes it.
    db.exec_central("UPDATE people SET name = 'zoë' WHERE name = 'ZOË'")
        .await;
    resync_converges(&db).await;
    assert_eq!(
        texts(&db, all).await,
        ["Añá/41F1E1/Óbidos", "José/4A6F73E9/Sevilla", "ZOË/5A4FCB/-"]
    );
}

/// A `_bin` key still ignores trailing spaces (PAD SPACE): `q` and `q ` are one record. A
/// stale `q` in db_b is that record's old spelling, so a resync rewrites it and removes
/// nothing else.
#[tokio::test]
async fn trailing_spaces_in_a_bin_key_are_one_record() {
    let db = TestDb::with_table(
        "CREATE TABLE tags (tag VARCHAR(20) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, n INT NOT NULL) \
         DEFAULT CHARSET=utf8mb4",
        "tags",
    )
    .await;
    db.exec("INSERT INTO tags VALUES ('p', 1), ('q', 2), ('r', 3)")
        .await;
    clean_sync(&db).await;
    db.exec("UPDATE tags SET tag = 'q ' WHERE tag = 'q'").await;
    clean_sync(&db).await;
    let spelled = "SELECT HEX(tag) FROM tags ORDER BY n";
    assert_eq!(texts(&db, spelled).await, ["70", "7120", "72"]);
    // db_b back to the old spelling (as from an older backup): the resync repairs it.
    db.exec_central("UPDATE tags SET tag = 'q' WHERE n = 2")
        .await;
    resync_converges(&db).await;
    assert_eq!(texts(&db, spelled).await, ["70", "7120", "72"]);
    assert_eq!(differing(&db, "tags", "tag", &["n"]).await, 0);
}

/// A case-insensitive key far longer than `record_key` could hold as text (its identity is
/// a hash of its collation weight) is captured and synced like any other.
#[tokio::test]
async fn long_case_insensitive_keys_sync() {
    let db = TestDb::with_table(
        "CREATE TABLE notes (k VARCHAR(700) COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY, n INT NOT NULL) \
         DEFAULT CHARSET=utf8mb4",
        "notes",
    )
    .await;
    db.exec("INSERT INTO notes VALUES (REPEAT('x', 700), 1), (REPEAT('é', 700), 2)")
        .await;
    clean_sync(&db).await;
    db.exec("UPDATE notes SET k = REPEAT('X', 700) WHERE n = 1; DELETE FROM notes WHERE n = 2")
        .await;
    clean_sync(&db).await;
    assert_eq!(texts(&db, "SELECT LEFT(k, 3) FROM notes").await, ["XXX"]);
    assert_eq!(differing(&db, "notes", "k", &["n"]).await, 0);
    resync_converges(&db).await;
}

/// In a Unicode PAD SPACE collation a no-break space, an ideographic space or a trailing
/// control character weighs like a space: `SKU1` and `SKU1` + U+00A0 are one record, and a
/// resync after a change of that spelling keeps the row.
#[tokio::test]
async fn space_like_trailing_characters_are_one_record() {
    let db = TestDb::with_table(
        "CREATE TABLE skus (k VARCHAR(50) COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY, n INT NOT NULL) \
         DEFAULT CHARSET=utf8mb4",
        "skus",
    )
    .await;
    db.exec(
        "INSERT INTO skus VALUES (CONCAT('SKU1', _utf8mb4 X'C2A0'), 1), \
           (CONCAT('SKU2', _utf8mb4 X'E38080'), 2), (CONCAT('SKU3 ', CHAR(1)), 3)",
    )
    .await;
    clean_sync(&db).await;
    db.exec("UPDATE skus SET k = CONCAT('SKU', n)").await;
    resync_converges(&db).await;
    assert_eq!(
        texts(&db, "SELECT k FROM skus ORDER BY n").await,
        ["SKU1", "SKU2", "SKU3"]
    );
    assert_eq!(differing(&db, "skus", "k", &["n"]).await, 0);
}
