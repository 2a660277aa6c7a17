//! Every column type, bit-exact: written by plain SQL (writers in different time zones),
//! synced, and compared column by column in SQL on the server, not through dbsync.

use crate::helpers::{TestDb, stderr, stdout};

const ALL_TYPES: &str = "CREATE TABLE all_types (
  id BIGINT NOT NULL PRIMARY KEY,
  ti TINYINT NULL, tu TINYINT UNSIGNED NULL, si SMALLINT NULL, mi MEDIUMINT NULL, i INT NULL,
  bi BIGINT NULL, bu BIGINT UNSIGNED NULL, bool_col BOOLEAN NULL, zf INT(5) ZEROFILL NULL,
  dec65 DECIMAL(65,30) NULL, dec0 DECIMAL(10,0) NULL, f FLOAT NULL, d DOUBLE NULL,
  b1 BIT(1) NULL, b64 BIT(64) NULL,
  dt DATE NULL, dt0 DATETIME NULL, dt3 DATETIME(3) NULL, dt6 DATETIME(6) NULL,
  ts0 TIMESTAMP NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  tm TIME NULL, tm6 TIME(6) NULL, y YEAR NULL,
  c CHAR(10) NULL, vc VARCHAR(200) NULL, tx TEXT NULL, lt LONGTEXT NULL,
  latin VARCHAR(50) CHARACTER SET latin1 NULL,
  bn BINARY(4) NULL, vb VARBINARY(64) NULL, bl BLOB NULL, lb LONGBLOB NULL,
  e ENUM('small','medium','large') NULL, st SET('red','green','blue') NULL, j JSON NULL,
  g POINT NULL, ip INET6 NULL, u UUID NULL,
  gen_stored BIGINT AS (i * 2) STORED, gen_virtual VARCHAR(210) AS (CONCAT(vc, '!')) VIRTUAL,
  UNIQUE KEY uq_vc (vc)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

/// Every column but the generated ones, for the comparison and the inserts.
const COLUMNS: &[&str] = &[
    "ti",
    "tu",
    "si",
    "mi",
    "i",
    "bi",
    "bu",
    "bool_col",
    "zf",
    "dec65",
    "dec0",
    "f",
    "d",
    "b1",
    "b64",
    "dt",
    "dt0",
    "dt3",
    "dt6",
    "ts0",
    "ts6",
    "tm",
    "tm6",
    "y",
    "c",
    "vc",
    "tx",
    "lt",
    "latin",
    "bn",
    "vb",
    "bl",
    "lb",
    "e",
    "st",
    "j",
    "g",
    "ip",
    "u",
    "gen_stored",
    "gen_virtual",
];

const ROWS: &[&str] = &[
    // Extremes of every numeric type, exact decimals and floats, zero dates, odd text.
    "(1, -128, 255, -32768, -8388608, -2147483648, -9223372036854775808, 18446744073709551615, TRUE, 42, \
      '-12345678901234567890123456789012345.123456789012345678901234567891', 9999999999, 1.00000012, 0.30000000000000004, \
      b'1', b'1111111111111111111111111111111111111111111111111111111111111111', \
      '0000-00-00', '2024-00-10 00:00:00', '2025-05-00 12:34:56.789', '1999-12-31 23:59:59.999999', \
      '2038-01-19 03:14:07', '2024-03-31 02:30:00.123456', '-838:59:59', '838:59:59.999999', 2155, \
      'pad', 'Zoë 🙂 \\'q\\' \\\\ \"dq\"\\nline', CONCAT('nul', CHAR(0), 'byte'), REPEAT('long ', 20000), \
      'café', 0x00FF80, 0x0001FEFF00, 0xC3, REPEAT(0xDEADBEEF00, 1000), \
      'large', 'red,blue', '{\"b\": 1,  \"a\": [1, 2.50, \"x\"]}', ST_GeomFromText('POINT(1.5 -2.25)'), '2001:db8::1', \
      '123e4567-e89b-12d3-a456-426614174000')",
    "(2, 127, 0, 32767, 8388607, 2147483647, 9223372036854775807, 0, FALSE, 0, \
      '0.000000000000000000000000000001', -1, -3.40282e38, 1.7976931348623157e308, b'0', b'0', \
      '9999-12-31', '1000-01-01 00:00:00', '2000-01-01 00:00:00.001', '2000-01-01 00:00:00.000001', \
      '1970-01-01 00:00:01', '0000-00-00 00:00:00', '00:00:00', '-00:00:00.000001', 1901, \
      '', '', '', '', '', 0x00000000, X'', X'', X'', \
      'small', '', '[]', NULL, '::', '00000000-0000-0000-0000-000000000000')",
    // NULL in every nullable column.
    "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
];

/// Rows of `db_a` and `db_b` that differ in any column, compared by the server.
async fn differing_rows(db: &TestDb) -> i64 {
    let same: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("a.`{c}` <=> b.`{c}`"))
        .collect();
    let (a, b) = (&db.config.local.database, &db.config.central.database);
    db.count(
        &db.local,
        &format!(
            "SELECT (SELECT COUNT(*) FROM `{a}`.all_types a LEFT JOIN `{b}`.all_types b USING (id) \
               WHERE b.id IS NULL OR NOT ({})) \
             + (SELECT COUNT(*) FROM `{b}`.all_types b LEFT JOIN `{a}`.all_types a USING (id) WHERE a.id IS NULL)",
            same.join(" AND ")
        ),
    )
    .await
}

#[tokio::test]
async fn every_column_type_round_trips_exactly() {
    let mut db = TestDb::new(&[]).await;
    db.exec(ALL_TYPES).await;
    db.set("SYNC_TABLES", "users,orders,all_types");
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let inserted = &COLUMNS[..COLUMNS.len() - 2];
    for (row, zone) in ROWS.iter().zip(["+05:30", "-08:00", "+00:00"]) {
        // Writers in other session time zones, and a permissive sql_mode for zero dates.
        db.exec(&format!(
            "SET SESSION time_zone = '{zone}', SESSION sql_mode = ''; \
             INSERT INTO all_types (id, {}) VALUES {row}",
            inserted.join(", ")
        ))
        .await;
    }
    db.exec(
        "SET SESSION time_zone = '+09:00', SESSION sql_mode = ''; \
         UPDATE all_types SET ts6 = '2030-06-15 12:00:00.5', d = -0.0, vb = 0xFF00FF WHERE id = 2; \
         INSERT INTO all_types (id, i, vc) VALUES (4, 7, 'to be deleted'); DELETE FROM all_types WHERE id = 4",
    )
    .await;
    let report = db.sync().await;
    let errors: Vec<String> = db
        .queue()
        .await
        .into_iter()
        .filter_map(|r| r.last_error)
        .collect();
    assert_eq!(report.failed, 0, "{report}: {errors:?}");
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM all_types")
            .await,
        3
    );
    assert_eq!(
        differing_rows(&db).await,
        0,
        "db_b differs from db_a in some column"
    );
    db.assert_converged().await;

    // A difference in one byte of one column is noticed by verify.
    db.exec_central("UPDATE all_types SET lb = CONCAT(lb, 0x00) WHERE id = 1")
        .await;
    let out = db.cli(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("all_types: 1 differing id(s): 1"),
        "{}",
        stdout(&out)
    );
    // The initial load reads the rows another way (key-ordered chunks, not images from the
    // queue): into an empty db_b it copies every type as exactly.
    db.recreate_central().await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(differing_rows(&db).await, 0, "the load changed a value");
    db.assert_converged().await;
    // Again into the db_b that now holds them: every value of every type compares equal
    // (by size, then by value), so nothing is rewritten.
    let out = db.cli(&["resync"]);
    assert!(
        stdout(&out).contains("copied 0, removed 0"),
        "{}",
        stdout(&out)
    );
}
