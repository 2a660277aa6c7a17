//! Legacy data and repaired deployments: values only a permissive `sql_mode` stores, a
//! resync over stale queued changes, a queue or a db_b that went back, a SITE_ID that does
//! not match db_b, and a load that db_b refuses a row of.

use dbsync::config::Config;
use dbsync::domain::Outcome;
use sqlx::Connection;

use crate::helpers::{TestDb, stderr, stdout};

// Keys legacy schemas use, in a file of their own.
#[path = "legacy_keys.rs"]
mod keys;

/// Runs `sql` on db_a in a session of its own with `sql_mode`, as a legacy tool does; the
/// connection is closed afterwards so its mode never leaks into the pool.
async fn legacy(db: &TestDb, sql_mode: &str, sql: &str) {
    let mut conn = db.local.acquire().await.expect("db_a connection").detach();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET SESSION sql_mode = '{sql_mode}'; {sql}"
    )))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// Rows of `table` that differ between db_a and db_b in any of `columns` (byte for byte),
/// or exist on one side only; `key` joins them.
pub(crate) async fn differing(db: &TestDb, table: &str, key: &str, columns: &[&str]) -> i64 {
    let same: Vec<String> = columns
        .iter()
        .map(|c| format!("BINARY a.`{c}` <=> BINARY b.`{c}`"))
        .collect();
    let (a, b) = (&db.config.local.database, &db.config.central.database);
    db.count(
        &db.local,
        &format!(
            "SELECT (SELECT COUNT(*) FROM `{a}`.`{table}` a LEFT JOIN `{b}`.`{table}` b USING (`{key}`) \
               WHERE b.`{key}` IS NULL OR NOT ({})) \
             + (SELECT COUNT(*) FROM `{b}`.`{table}` b LEFT JOIN `{a}`.`{table}` a USING (`{key}`) WHERE a.`{key}` IS NULL)",
            same.join(" AND ")
        ),
    )
    .await
}

/// `dbsync resync`, then a plain run: both clean, and db_a and db_b equal.
async fn resync_converges(db: &TestDb) {
    let out = db.cli(&["resync"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("failed 0"), "{}", stdout(&out));
    db.sync_converges().await;
}

async fn strings(db: &TestDb, sql: &str) -> Vec<(i64, String, String)> {
    sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&db.central)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// An invalid ENUM value stored as '' and a day that does not exist (ALLOW_INVALID_DATES)
/// reach db_b as they are, through the queue and through a resync.
#[tokio::test]
async fn enum_error_value_and_invalid_dates_sync_and_resync() {
    let db = TestDb::with_table(
        "CREATE TABLE parcels (id INT NOT NULL PRIMARY KEY, size ENUM('s','m','l') NOT NULL, \
         due DATE NULL, note VARCHAR(40) NULL) DEFAULT CHARSET=utf8mb4",
        "parcels",
    )
    .await;
    legacy(
        &db,
        "ALLOW_INVALID_DATES",
        "INSERT INTO parcels VALUES (1, 'xl', '2024-01-10', 'bad size'), (2, 'm', '2024-02-30', 'bad day'), \
           (3, 'huge', '2023-04-31', 'both'); \
         UPDATE parcels SET note = 'edited' WHERE id = 1; UPDATE parcels SET due = '2025-02-29' WHERE id = 3",
    )
    .await;
    let report = db.sync().await;
    assert_eq!(
        (report.outcome, report.failed),
        (Outcome::Synced, 0),
        "{report}"
    );
    let expected = vec![
        (1, String::new(), "2024-01-10".to_string()),
        (2, "m".into(), "2024-02-30".into()),
        (3, String::new(), "2025-02-29".into()),
    ];
    let read = "SELECT id, CAST(size AS CHAR), CAST(due AS CHAR) FROM parcels ORDER BY id";
    assert_eq!(strings(&db, read).await, expected);
    assert_eq!(
        differing(&db, "parcels", "id", &["size", "due", "note"]).await,
        0
    );
    db.assert_converged().await;

    // A db_b that lost the rows gets them back from a resync, values intact.
    db.exec_central("DELETE FROM parcels WHERE id <> 2; UPDATE parcels SET due = '2025-03-01'")
        .await;
    resync_converges(&db).await;
    assert_eq!(strings(&db, read).await, expected);
}

/// An ENUM with `''` among its members: the error value a legacy writer stores (index 0)
/// stays apart from that member in db_b — through the queue, updates from one to the other
/// and a resync — and verify tells them apart.
#[tokio::test]
async fn an_enum_error_value_stays_apart_from_an_empty_member() {
    let db = TestDb::with_table(
        "CREATE TABLE marks (id INT NOT NULL PRIMARY KEY, x ENUM('a','','b') NULL) \
         DEFAULT CHARSET=utf8mb4",
        "marks",
    )
    .await;
    legacy(
        &db,
        "",
        "INSERT INTO marks VALUES (1, 'zzz'), (2, ''), (3, 'b'), (4, NULL), (5, 'zzz'); \
         UPDATE marks SET x = '' WHERE id IN (3, 5); UPDATE marks SET x = 'no' WHERE id = 2",
    )
    .await;
    db.sync_converges().await;
    let indexes =
        "SELECT CAST(GROUP_CONCAT(id, ':', IFNULL(x + 0, '-') ORDER BY id) AS CHAR) FROM marks";
    let read = |pool| async move {
        sqlx::query_scalar::<_, String>(indexes)
            .fetch_one(pool)
            .await
            .expect(indexes)
    };
    let expected = "1:0,2:0,3:2,4:-,5:2";
    assert_eq!(read(&db.local).await, expected);
    assert_eq!(read(&db.central).await, expected);

    db.exec_central("UPDATE marks SET x = '' WHERE id = 1")
        .await;
    let out = db.cli(&["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("marks: 1 differing"),
        "{}",
        stdout(&out)
    );
    resync_converges(&db).await;
    assert_eq!(read(&db.central).await, expected);
}

/// The zero TIMESTAMP a legacy tool stores with `sql_mode = ''` replays as zero, in and
/// out of it, at both precisions.
#[tokio::test]
async fn zero_timestamps_sync_exactly() {
    let db = TestDb::with_table(
        "CREATE TABLE punches (id INT NOT NULL PRIMARY KEY, at TIMESTAMP NULL DEFAULT NULL, \
         at6 TIMESTAMP(6) NULL DEFAULT NULL)",
        "punches",
    )
    .await;
    legacy(
        &db,
        "",
        "INSERT INTO punches VALUES (1, '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000'), \
           (2, '2024-05-01 10:00:00', '2038-01-19 03:14:07.999999'), (3, NULL, '0000-00-00 00:00:00'); \
         UPDATE punches SET at = '0000-00-00 00:00:00' WHERE id = 2",
    )
    .await;
    let report = db.sync().await;
    assert_eq!(
        (report.outcome, report.failed),
        (Outcome::Synced, 0),
        "{report}"
    );
    let read =
        "SELECT id, COALESCE(CAST(at AS CHAR), 'NULL'), CAST(at6 AS CHAR) FROM punches ORDER BY id";
    let zero = "0000-00-00 00:00:00";
    assert_eq!(
        strings(&db, read).await,
        vec![
            (1, zero.to_string(), format!("{zero}.000000")),
            (2, zero.into(), "2038-01-19 03:14:07.999999".into()),
            (3, "NULL".into(), format!("{zero}.000000")),
        ]
    );
    // Out of zero again.
    legacy(
        &db,
        "",
        "UPDATE punches SET at = '2030-01-01 00:00:00', at6 = at WHERE id = 1",
    )
    .await;
    assert_eq!(db.sync().await.failed, 0);
    assert_eq!(differing(&db, "punches", "id", &["at", "at6"]).await, 0);
    db.assert_converged().await;
}

/// A resync while inserts, deletes and a delete-then-reinsert are queued, some of whose
/// intermediate states would clash on a unique email if replayed onto the copied rows: the
/// load and the drain of those stale changes agree, nothing is refused.
#[tokio::test]
async fn resync_over_queued_stale_changes_converges() {
    let db = TestDb::new(&[]).await;
    db.insert_users(10).await;
    db.exec("INSERT INTO orders (id, user_id, amount) VALUES (1, 1, 1.00), (2, 2, 2.00)")
        .await;
    db.sync().await;
    db.exec(
        "INSERT INTO users (id, name, email) VALUES (11, 'brief', 'brief@x.io'); DELETE FROM users WHERE id = 11; \
         INSERT INTO users (id, name, email) VALUES (12, 'stays', 'brief@x.io'); \
         UPDATE users SET email = 'swap@x.io' WHERE id = 6; UPDATE users SET email = 'later@x.io' WHERE id = 6; \
         UPDATE users SET email = 'swap@x.io' WHERE id = 3; \
         UPDATE users SET email = 'gone@x.io' WHERE id = 2; DELETE FROM orders WHERE id = 2; DELETE FROM users WHERE id = 2; \
         UPDATE users SET email = 'gone@x.io' WHERE id = 7; \
         DELETE FROM users WHERE id = 5; INSERT INTO users (id, name, email) VALUES (5, 'again', 'user5@example.com'); \
         INSERT INTO orders (id, user_id, amount) VALUES (3, 12, 3.00); UPDATE users SET name = 'renamed' WHERE id = 4",
    )
    .await;
    assert!(db.queue().await.iter().any(|r| r.status == "PENDING"));
    resync_converges(&db).await;
    let gone = "SELECT COUNT(*) FROM users WHERE id IN (2, 11)";
    assert_eq!(db.count(&db.central, gone).await, 0);
    let kept = "SELECT COUNT(*) FROM users WHERE (id = 5 AND name = 'again') OR id = 12 OR name = 'renamed'";
    assert_eq!(db.count(&db.central, kept).await, 3);
    let open = "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'";
    assert_eq!(db.count(&db.local, open).await, 0);
}

/// After `TRUNCATE sync_queue` the new changes reuse the ids of applied ones, and the one
/// at the newest applied id has the very same table, key, operation and image. The run
/// still refuses (the earlier ones would be skipped as superseded), and `rebase` repairs.
#[tokio::test]
async fn a_rewound_queue_with_identical_content_is_refused() {
    let db = TestDb::with_table(
        "CREATE TABLE notes (id INT NOT NULL PRIMARY KEY, body VARCHAR(20) NOT NULL)",
        "notes",
    )
    .await;
    db.exec("INSERT INTO notes VALUES (1, 'x')").await;
    db.exec("UPDATE notes SET body = 'y' WHERE id = 1").await;
    db.exec("INSERT INTO notes VALUES (2, 'b')").await;
    db.sync().await;
    let before = db.queue().await;
    db.exec("TRUNCATE sync_queue").await;
    db.exec("DELETE FROM notes WHERE id = 2").await;
    db.exec("UPDATE notes SET body = 'z' WHERE id = 1").await;
    db.exec("INSERT INTO notes VALUES (2, 'b')").await;
    let after = db.queue().await;
    let content = |r: &crate::helpers::QueueRow| {
        (
            r.id,
            r.table_name.clone(),
            r.record_id,
            r.operation.clone(),
            r.payload(),
        )
    };
    assert_eq!(
        content(&after[2]),
        content(&before[2]),
        "same id, same content"
    );

    let report = db.engine().run().await.unwrap();
    assert_eq!(report.outcome, Outcome::Rewound, "{report}");
    let message = report.message.unwrap_or_default();
    assert!(message.contains("dbsync rebase"), "{message}");
    let z = "SELECT COUNT(*) FROM notes WHERE body = 'z'";
    assert_eq!(db.count(&db.central, z).await, 0, "nothing applied");

    let out = db.cli(&["rebase"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    db.sync().await;
    assert_eq!(db.count(&db.central, z).await, 1);
    db.assert_converged().await;
}

/// db_b dropped and created again (then `init`): its ledger is empty, so the next run must
/// not replay only the new changes onto an empty db_b. It refuses, naming `dbsync resync`;
/// after that, verify passes.
#[tokio::test]
async fn a_recreated_central_is_refused_until_resync() {
    let db = TestDb::new(&[]).await;
    db.insert_users(5).await;
    db.exec("INSERT INTO orders (id, user_id, amount) VALUES (1, 1, 9.50)")
        .await;
    db.sync().await;
    db.recreate_central().await;
    db.exec("UPDATE users SET name = 'after the loss' WHERE id = 1")
        .await;

    let report = db.engine().run().await.unwrap();
    assert_eq!(report.outcome, Outcome::Rewound, "{report}");
    let out = db.cli(&["sync"]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("rewound")
            && stdout(&out).contains("records for this site end at id 0")
            && stdout(&out).contains("dbsync resync"),
        "{}",
        stdout(&out)
    );
    assert_eq!(db.count(&db.central, "SELECT COUNT(*) FROM users").await, 0);

    resync_converges(&db).await;
    let out = db.cli(&["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(db.count(&db.central, "SELECT COUNT(*) FROM users").await, 5);
}

fn config_without_site(db: &TestDb) -> Config {
    let mut env = db.env.clone();
    env.remove("SITE_ID");
    Config::from_lookup(|k| env.get(k).cloned(), "").unwrap()
}

/// A SITE_ID that db_b's layout does not match is refused before anything is applied, with
/// what to run; both ways round.
#[tokio::test]
async fn a_site_id_that_does_not_match_db_b_is_refused() {
    let single = TestDb::new(&[]).await;
    single.insert_users(3).await;
    single.sync().await;
    single
        .exec("UPDATE users SET name = 'held' WHERE id = 1")
        .await;
    let report = single
        .engine_with(&single.config_with(&[("SITE_ID", "shop-1")]))
        .run()
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::SchemaChanged, "{report}");
    let message = report.message.unwrap_or_default();
    assert!(message.contains("migrate-site"), "{message}");
    let held = "SELECT COUNT(*) FROM users WHERE name = 'held'";
    assert_eq!(single.count(&single.central, held).await, 0);
    let mut env = single.env.clone();
    env.insert("SITE_ID".into(), "shop-1".into());
    let out = crate::helpers::run_cli(&env, &["sync"]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    assert!(stdout(&out).contains("migrate-site"), "{}", stdout(&out));
    // verify says what is wrong rather than listing every row as differing.
    let out = crate::helpers::run_cli(&env, &["verify"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("migrate-site"), "{}", stderr(&out));

    let site = TestDb::new(&[("SITE_ID", "shop-1")]).await;
    site.insert_users(3).await;
    site.sync().await;
    site.exec("UPDATE users SET name = 'held' WHERE id = 1")
        .await;
    let report = site
        .engine_with(&config_without_site(&site))
        .run()
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::SchemaChanged, "{report}");
    let message = report.message.unwrap_or_default();
    assert!(message.contains("set SITE_ID"), "{message}");
    assert_eq!(site.count(&site.central, held).await, 0);
    // With the right settings both go on.
    assert_eq!(single.sync().await.applied, 1);
    assert_eq!(site.sync().await.applied, 1);
}

/// A load into a db_b that refuses one row (a CHECK constraint of its own): every other row
/// is copied, the summary counts the refused one, and verify names it.
#[tokio::test]
async fn a_load_goes_on_past_a_row_db_b_refuses() {
    let db = TestDb::new(&[]).await;
    db.insert_users(30).await;
    db.exec("UPDATE users SET name = 'banned' WHERE id = 7")
        .await;
    // Rows of a site that existed before dbsync: nothing of them is queued.
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
    db.exec_central("ALTER TABLE users ADD CONSTRAINT no_banned CHECK (name <> 'banned')")
        .await;
    let out = db.cli(&["resync"]);
    let text = stdout(&out);
    assert!(text.contains("refused by db_b 1"), "{text}{}", stderr(&out));
    assert!(text.contains("load: checked 30, copied 29"), "{text}");
    // A row missing from db_b is not a clean run, for a cron job either.
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("partial"), "{text}");
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users").await,
        29
    );
    let missing = "SELECT COUNT(*) FROM users WHERE id = 7";
    assert_eq!(db.count(&db.central, missing).await, 0);
    let out = db.cli(&["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("users: 1 differing id(s): 7"),
        "{}",
        stdout(&out)
    );
}

/// A db_b column narrowed by hand cannot hold every value: db_b's permissive session would
/// cut them short, so runs and loads are refused before writing anything, with what to run;
/// `init` widens the column back and the next run converges.
#[tokio::test]
async fn a_narrowed_db_b_column_is_refused_never_cut() {
    let db = TestDb::new(&[]).await;
    db.insert_users(5).await;
    db.exec("UPDATE users SET name = 'a rather long name' WHERE id = 3")
        .await;
    db.sync().await;
    db.exec_central("ALTER TABLE users MODIFY name VARCHAR(10) NOT NULL")
        .await;
    db.exec("UPDATE users SET name = 'another long name' WHERE id = 4")
        .await;
    for command in ["sync", "resync"] {
        let out = db.cli(&[command]);
        // sync reports a refused run; resync refuses before setting a load up.
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(6), "{command}: {text}");
        if command == "sync" {
            assert!(text.contains("schema_changed"), "{text}");
        } else {
            let pending = "SELECT COUNT(*) FROM sync_load WHERE finished_at IS NULL";
            assert_eq!(db.count(&db.local, pending).await, 0, "no load set up");
        }
        assert!(
            text.contains("`name` of `users` is varchar(10) in db_b but varchar(100) in db_a"),
            "{command}: {text}"
        );
        assert!(text.contains("dbsync init"), "{command}: {text}");
    }
    let cut = "SELECT COUNT(*) FROM users WHERE name = 'another lo'";
    assert_eq!(
        db.count(&db.central, cut).await,
        0,
        "nothing stored cut short"
    );
    // The ALTER itself cut user 3 in db_b; init widens the column, resync repairs the row.
    assert_eq!(db.cli(&["init"]).status.code(), Some(0));
    let out = db.cli(&["resync"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    db.assert_converged().await;
}

/// The same for a db_b column moved to a smaller character set or to a TEXT type too short
/// in bytes: refused with what to change, nothing written.
#[tokio::test]
async fn a_db_b_column_with_a_smaller_character_set_is_refused() {
    for alter in [
        "ALTER TABLE users MODIFY name VARCHAR(100) CHARACTER SET latin1 NOT NULL",
        "ALTER TABLE users MODIFY name TINYTEXT NOT NULL",
    ] {
        let db = TestDb::new(&[]).await;
        db.exec_central(alter).await;
        db.exec("INSERT INTO users (name, email) VALUES (REPEAT('😀', 100), 'e@x.io')")
            .await;
        let out = db.cli(&["sync"]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(6), "{alter}: {text}");
        assert!(text.contains("`name` of `users`"), "{alter}: {text}");
        assert_eq!(db.count(&db.central, "SELECT COUNT(*) FROM users").await, 0);
    }
}

/// A watermark written before fingerprints included the capture time still matches its
/// change: the first run after an upgrade is not taken for a rewound queue.
#[tokio::test]
async fn a_watermark_of_an_earlier_version_still_matches() {
    let db = TestDb::new(&[]).await;
    db.insert_users(3).await;
    assert_eq!(db.sync().await.failed, 0);
    let newest = db.count(&db.local, "SELECT MAX(id) FROM sync_queue").await;
    let earlier = db
        .count(
            &db.local,
            &format!(
                "SELECT CAST(CRC32(CONCAT(table_name, CHAR(31), COALESCE(record_id, ''), CHAR(31), \
                 COALESCE(record_key, ''), CHAR(31), operation, CHAR(31), COALESCE(payload, ''))) AS SIGNED) \
                 FROM sync_queue WHERE id = {newest}"
            ),
        )
        .await;
    db.exec_central(&format!(
        "UPDATE sync_watermark SET applied_fingerprint = {earlier}"
    ))
    .await;
    db.exec("UPDATE users SET name = 'after the upgrade' WHERE id = 1")
        .await;
    let report = db.sync().await;
    assert_eq!(
        (report.outcome, report.applied),
        (Outcome::Synced, 1),
        "{report}"
    );
}

/// db_b refusing a row for a reason of its own (a trigger someone added there signals on
/// it): the load leaves that row out and copies the rest, as the drain rejects only that
/// change — it does not stop every run at that chunk.
#[tokio::test]
async fn a_load_goes_on_past_a_row_a_db_b_trigger_refuses() {
    let db = TestDb::new(&[]).await;
    db.insert_users(30).await;
    db.exec("UPDATE users SET name = 'blocked' WHERE id = 9")
        .await;
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
    db.exec_central(
        "CREATE TRIGGER no_blocked BEFORE INSERT ON users FOR EACH ROW \
         IF NEW.name = 'blocked' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'not here'; END IF",
    )
    .await;
    let out = db.cli(&["resync"]);
    let text = stdout(&out);
    assert!(text.contains("refused by db_b 1"), "{text}{}", stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(stderr(&out).contains("not here"), "{}", stderr(&out));
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM users").await,
        29
    );
}

/// A capture trigger an earlier version made (it images some value another way, as the
/// ENUM error value once was) is replaced by `init`, which leaves current ones alone.
#[tokio::test]
async fn init_replaces_capture_triggers_of_an_earlier_version() {
    let db = TestDb::with_table(
        "CREATE TABLE marks (id INT NOT NULL PRIMARY KEY, x ENUM('a','','b') NULL)",
        "marks",
    )
    .await;
    db.exec(
        "CREATE OR REPLACE TRIGGER marks_after_insert AFTER INSERT ON marks FOR EACH ROW \
         INSERT INTO sync_queue (table_name, record_id, record_key, operation, payload) \
         VALUES ('marks', NEW.id, NULL, 'INSERT', JSON_OBJECT('id', NEW.id, 'x', NEW.x))",
    )
    .await;
    let out = db.cli(&["init"]);
    assert!(
        stdout(&out).contains("; 3 trigger(s) created"),
        "{}",
        stdout(&out)
    );
    legacy(&db, "", "INSERT INTO marks VALUES (1, 'zzz')").await;
    db.sync().await;
    let index = "SELECT x + 0 FROM marks WHERE id = 1";
    assert_eq!(
        db.count(&db.central, index).await,
        0,
        "the error value, not the '' member"
    );
    let out = db.cli(&["init"]);
    assert!(
        stdout(&out).contains("; 0 trigger(s) created"),
        "{}",
        stdout(&out)
    );
}
