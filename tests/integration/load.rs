//! The initial load (`dbsync resync`): copies db_a's rows while writers go on, resumes
//! where a killed load stopped, and repairs a db_b that already holds rows.

use std::time::Duration;

use sqlx::Connection;

use crate::helpers::{TestDb, cli_command, stderr, stdout};

/// Fills db_a with `n` users and orders whose changes are already applied, as on a site
/// where dbsync is installed on an existing database.
async fn existing_site(db: &TestDb, n: usize) {
    db.insert_users(n).await;
    let orders: Vec<String> = (1..=n)
        .map(|i| format!("({i}, {i}, {}.{:02})", i % 900, i % 100))
        .collect();
    for chunk in orders.chunks(2000) {
        db.exec(&format!(
            "INSERT INTO orders (id, user_id, amount) VALUES {}",
            chunk.join(",")
        ))
        .await;
    }
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
}

async fn assert_equal_and_all_synced(db: &TestDb) {
    db.assert_converged().await;
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'"
        )
        .await,
        0
    );
}

/// A writer inserts, updates, deletes and re-keys the very rows being copied, all through
/// the load: nothing is lost or regressed.
#[tokio::test]
async fn a_load_with_a_writer_running_throughout_converges() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 20_000).await;
    let pool = db.local.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writing = stop.clone();
    let writer = tokio::spawn(async move {
        let mut i = 0i64;
        while !writing.load(std::sync::atomic::Ordering::Relaxed) {
            i += 1;
            let id = 1 + (i * 7919) % 20_000;
            let sql = match i % 5 {
                0 => format!("UPDATE users SET name = 'changed {i}' WHERE id = {id}"),
                1 => format!(
                    "INSERT INTO users (id, name, email) VALUES ({}, 'new', 'new{i}@x.io')",
                    100_000 + i
                ),
                2 => format!("DELETE FROM orders WHERE id = {id}"),
                3 => format!("UPDATE orders SET id = {} WHERE id = {id}", 200_000 + i),
                _ => format!(
                    "UPDATE orders SET status = 'shipped', amount = amount + 1 WHERE id = {}",
                    id + 1
                ),
            };
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
        }
        i
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = db.cli_async(&["resync"]).await;
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 3),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.await.unwrap();
    assert!(
        writes > 50,
        "the writer kept writing during the load ({writes})"
    );
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    assert_equal_and_all_synced(&db).await;
}

/// Rows copied so far by the load in db_a's `sync_load`.
async fn rows_copied(db: &TestDb) -> i64 {
    db.count(
        &db.local,
        "SELECT CAST(COALESCE(SUM(rows_copied), 0) AS SIGNED) FROM sync_load",
    )
    .await
}

/// The users rows the load has read so far, by every run.
async fn users_read(db: &TestDb) -> i64 {
    db.count(
        &db.local,
        "SELECT rows_checked FROM sync_load WHERE table_name = 'users'",
    )
    .await
}

/// The rows a run's load read, from its summary line ("load: checked N, …").
fn rows_checked(out: &std::process::Output) -> i64 {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    let text = stdout(out);
    text.split("load: checked ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no load summary in {text}"))
}

/// SIGKILL at three points of a load: each resumed run starts from the last chunk, and
/// reads fewer rows than a full load. Each kill comes while the load waits for a row the
/// test holds locked, so the points are exact.
#[tokio::test]
async fn a_killed_load_resumes_from_its_last_chunk() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 30_000).await;
    let total = 60_000i64;
    let mut command = "resync";
    for (table, id) in [("users", 5_000), ("users", 17_000), ("orders", 9_000)] {
        db.kill_load_at(command, table, id).await;
        // A plain run resumes the load.
        command = "sync";
    }
    let copied = rows_copied(&db).await;
    assert!(
        copied > 0 && copied < total,
        "killed mid-way ({copied} rows)"
    );
    let checked = rows_checked(&db.cli(&["sync"]));
    assert!(
        checked < total - copied + 2_000,
        "the resumed load read {checked} rows of {total}"
    );
    assert_equal_and_all_synced(&db).await;
}

/// What a user may do after a killed `dbsync resync`: run it again. resync is also how db_b
/// is repaired, so it copies every row again (it must not skip rows an old load reached)
/// and says which unfinished load it replaced and that `dbsync sync` carries one on.
#[tokio::test]
async fn resync_run_again_after_a_kill_copies_every_row_and_says_so() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 30_000).await;
    let total = 60_000i64;
    db.kill_load_at("resync", "users", 17_000).await;
    // A row the killed load had copied, spoilt in db_b: the resync run again repairs it.
    db.exec_central("UPDATE users SET name = 'spoilt' WHERE id = 10")
        .await;
    let read = users_read(&db).await;
    assert!(read > 0, "killed mid-way ({read} rows)");
    let out = db.cli(&["resync"]);
    let checked = rows_checked(&out);
    let text = stdout(&out);
    assert!(
        text.contains("copying every row again in place of the unfinished initial load")
            && text.contains(&format!("users {read} of about"))
            && text.contains("orders not started")
            && text.contains("`dbsync sync` is what carries a load cut short on"),
        "{text}"
    );
    assert_eq!(checked, total);
    assert_equal_and_all_synced(&db).await;

    // A finished load is replaced without a word.
    let out = db.cli(&["resync"]);
    assert_eq!(rows_checked(&out), total);
    assert!(!stdout(&out).contains("in place of"), "{}", stdout(&out));
}

/// SIGTERM to `dbsync resync` mid-load: it ends `interrupted` (code 4) and says how far the
/// load got and that the next run resumes it; the next run does.
#[tokio::test]
async fn a_resync_stopped_mid_load_says_how_far_it_got() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 30_000).await;
    let mut lock = db.local.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM users WHERE id = 17000 FOR UPDATE")
        .execute(&mut *lock)
        .await
        .expect("lock the row");
    let mut child = cli_command(&db.env, &["resync"], &std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dbsync started");
    let waiting_load = db.load_waiting_sql();
    while db.count(&db.local, &waiting_load).await == 0 {
        assert!(
            child.try_wait().expect("status").is_none(),
            "the load ended early"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.rollback().await.expect("release the row");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("wait task")
        .expect("resync output");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{text}{}", stderr(&out));
    let read = users_read(&db).await;
    assert!(read > 0 && read < 30_000, "stopped mid-way ({read} rows)");
    assert!(
        text.contains("interrupted")
            && text.contains(&format!("initial load of users: {read} of about"))
            && text.contains("resumes with the next run"),
        "{text}"
    );
    let checked = rows_checked(&db.cli(&["sync"]));
    assert!(
        checked < 60_000,
        "the next run resumed ({checked} rows read)"
    );
    assert_equal_and_all_synced(&db).await;
}

/// `dbsync resync` on a blocking thread, so the test goes on while it runs.
fn start_resync(db: &TestDb) -> tokio::task::JoinHandle<std::process::Output> {
    let env = db.env.clone();
    tokio::task::spawn_blocking(move || crate::helpers::run_cli(&env, &["resync"]))
}

/// Whether the load's locking read waits a second or more on a row the test holds, before
/// the load ends.
async fn load_waits_a_second(
    db: &TestDb,
    load: &tokio::task::JoinHandle<std::process::Output>,
) -> bool {
    let waiting_load = db.load_waiting_sql();
    while !load.is_finished() {
        if db.count(&db.local, &waiting_load).await > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Holds users row `id` locked and starts `dbsync resync`; returns the lock, the load and
/// whether the load came to wait on that row.
async fn resync_waiting_on_user(
    db: &TestDb,
    id: i64,
) -> (
    sqlx::Transaction<'static, sqlx::MySql>,
    tokio::task::JoinHandle<std::process::Output>,
    bool,
) {
    let mut lock = db.local.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM users WHERE id = ? FOR UPDATE")
        .bind(id)
        .execute(&mut *lock)
        .await
        .expect("lock the row");
    let load = start_resync(db);
    let waited = load_waits_a_second(db, &load).await;
    (lock, load, waited)
}

/// A writer holding a row the initial load reads: the load waits its turn — db_b is not
/// silent meanwhile, and is not blamed — for up to about `SYNC_STALL_TIMEOUT` in all, then
/// pauses, saying why, and the next run resumes it. Before, a wait over the stall timeout
/// ended the run "db_b did not answer", and one over it and db_b's idle limit had db_b drop
/// the load's connection.
#[tokio::test]
async fn a_load_waits_on_a_writer_in_db_a_up_to_the_stall_timeout_then_pauses() {
    let db = TestDb::new(&[("SYNC_STALL_TIMEOUT", "15s")]).await;
    existing_site(&db, 3_000).await;
    let (lock, load, waited) = resync_waiting_on_user(&db, 2_000).await;
    assert!(waited, "the load did not wait for the locked row");
    tokio::time::sleep(Duration::from_secs(8)).await;
    lock.rollback().await.expect("release the row");
    let out = load.await.expect("load task");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("synced"), "{}", stdout(&out));

    let (lock, load, waited) = resync_waiting_on_user(&db, 2_000).await;
    assert!(waited, "the load did not wait for the locked row");
    let out = load.await.expect("load task");
    lock.rollback().await.expect("release the row");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{text}{}", stderr(&out));
    assert!(
        text.contains("a writer in db_a held rows the load reads for more than 15 s")
            && !text.contains("db_b did not answer"),
        "{text}"
    );
    let report = dbsync::services::sync::status::status(&db.local, true, false)
        .await
        .expect("status");
    assert_eq!(
        report.central,
        dbsync::services::sync::status::CentralReach::Reachable
    );
    let out = db.cli(&["sync"]);
    assert!(stdout(&out).contains("synced"), "{}", stdout(&out));
    assert_equal_and_all_synced(&db).await;
}

/// Changes that took their queue ids before a newer change committed, and commit only
/// while the load reads their rows (an update, a delete, an insert into a gap): the load
/// waits for them, and neither the copy nor the drain after it loses or regresses them.
#[tokio::test]
async fn changes_committing_after_newer_ones_are_not_lost_to_a_load() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 5_000).await;
    db.exec("DELETE FROM orders WHERE id = 2500").await;
    db.exec("DELETE FROM users WHERE id = 2500").await;
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
    let mut holder = db.local.acquire().await.expect("db_a connection");
    let mut late = holder.begin().await.expect("begin");
    for sql in [
        "UPDATE users SET name = 'late' WHERE id = 3000",
        "DELETE FROM orders WHERE id = 1200",
        "INSERT INTO users (id, name, email) VALUES (2500, 'late insert', 'late@x.io')",
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *late)
            .await
            .expect("late change");
    }
    // A newer change commits first: the queue's newest id is above the late ones.
    db.exec("UPDATE users SET name = 'early' WHERE id = 4000")
        .await;
    let load = start_resync(&db);
    let waited = load_waits_a_second(&db, &load).await;
    late.commit().await.expect("commit the late changes");
    assert!(waited, "the load did not wait for the late changes");
    let out = load.await.expect("load task");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    assert_equal_and_all_synced(&db).await;
    for (sql, expected) in [
        (
            "SELECT COUNT(*) FROM users WHERE id = 3000 AND name = 'late'",
            1,
        ),
        (
            "SELECT COUNT(*) FROM users WHERE id = 2500 AND name = 'late insert'",
            1,
        ),
        ("SELECT COUNT(*) FROM orders WHERE id = 1200", 0),
    ] {
        assert_eq!(db.count(&db.central, sql).await, expected, "{sql}");
    }
}

/// A chunk is read a few hundred rows at a time, each read under its own locks: a row read
/// early in a chunk and changed while a later read of that chunk waits keeps its change (the
/// chunk's copy of the row is older than the chunk's last position).
#[tokio::test]
async fn a_row_changed_between_two_reads_of_one_chunk_keeps_its_change() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 3_000).await;
    // Chunks of 64, 256, 1 024 rows: the third (ids 321–1 344) is read 500 rows at a time,
    // id 330 in its first read, id 900 in its second.
    let (lock, load, waited) = resync_waiting_on_user(&db, 900).await;
    let changed = sqlx::raw_sql(
        "SET SESSION innodb_lock_wait_timeout = 2; \
         UPDATE users SET name = 'changed mid-chunk' WHERE id = 330",
    )
    .execute(&db.local)
    .await;
    lock.rollback().await.expect("release the row");
    assert!(waited, "the load did not wait for the locked row");
    changed.expect("id 330 is not locked by the load any more");
    let out = load.await.expect("load task");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    assert_equal_and_all_synced(&db).await;
    let sql = "SELECT COUNT(*) FROM users WHERE id = 330 AND name = 'changed mid-chunk'";
    assert_eq!(db.count(&db.central, sql).await, 1);
}

/// A row the copy has passed takes a unique email and gives it up again, then a row the
/// copy has not reached takes it: the copy holds that row with the email, so replaying the
/// first row's in-between change clashes with it. That change is superseded (its record's
/// later change is queued), not rejected: one run converges, nothing left PENDING.
#[tokio::test]
async fn a_unique_value_handed_on_during_a_load_does_not_hold_up_the_queue() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 3_000).await;
    let (lock, load, waited) = resync_waiting_on_user(&db, 2500).await;
    for sql in [
        "UPDATE users SET email = 'handed@x.io' WHERE id = 1",
        "UPDATE users SET email = 'one@x.io' WHERE id = 1",
        "UPDATE users SET email = 'handed@x.io' WHERE id = 2800",
    ] {
        db.exec(sql).await;
    }
    lock.rollback().await.expect("release the row");
    assert!(waited, "the load did not wait for the locked row");
    let out = load.await.expect("load task");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    assert_equal_and_all_synced(&db).await;
}

/// A db_b that already holds rows — equal, stale and extra — ends equal to db_a.
#[tokio::test]
async fn a_load_into_a_partly_filled_central_converges() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 5_000).await;
    // db_b has half the users, some stale, and rows db_a never had.
    db.exec_central(&format!(
        "INSERT INTO users (id, name, email, updated_at) SELECT id, name, email, updated_at FROM `{}`.users WHERE id % 2 = 0",
        db.config.local.database
    ))
    .await;
    db.exec_central("UPDATE users SET name = 'stale' WHERE id % 10 = 0")
        .await;
    db.exec_central("INSERT INTO users (id, name, email, updated_at) VALUES (90001, 'extra', 'extra1@x.io', NOW(6)), (-3, 'extra', 'extra2@x.io', NOW(6))").await;
    db.exec_central("INSERT INTO orders (id, user_id, amount, status, updated_at) VALUES (90001, 90001, 1.00, 'pending', NOW(6))").await;
    let out = db.cli(&["init", "--load"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("removed 3"), "{}", stdout(&out));
    assert_equal_and_all_synced(&db).await;
}

/// The load said it removed rows only db_b has ahead of a chunk (it logs at info).
fn assert_removed_ahead(out: &std::process::Output) {
    assert!(
        stderr(out).contains("removing them in transactions of their own"),
        "{}",
        stderr(out)
    );
}

/// A db_b holding far more rows than db_a in a chunk's range (db_a restored from an older,
/// smaller backup): they are removed ahead of the chunk (in transactions of their own: the
/// Galera tests hold them to a writeset limit), and a record among them with changes still
/// queued (created and deleted in db_a meanwhile) is not brought back by its stale INSERT.
#[tokio::test]
async fn many_rows_only_db_b_has_are_removed_ahead_of_the_chunk() {
    let mut db = TestDb::new(&[]).await;
    db.set("RUST_LOG", "info");
    existing_site(&db, 40).await;
    db.exec_central(
        "INSERT INTO users (id, name, email, updated_at) \
         SELECT seq, 'gone', CONCAT('gone', seq, '@x.io'), NOW(6) FROM seq_100_to_6099",
    )
    .await;
    db.exec("INSERT INTO users (id, name, email) VALUES (7000, 'brief', 'brief@x.io')")
        .await;
    db.exec("DELETE FROM users WHERE id = 7000").await;
    db.exec_central(
        "INSERT INTO users (id, name, email, updated_at) VALUES (7000, 'brief', 'brief@x.io', NOW(6))",
    )
    .await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("removed 6001"), "{}", stdout(&out));
    assert_removed_ahead(&out);
    assert_equal_and_all_synced(&db).await;
}

/// Rows only db_b has are counted as such even where db_b lacks the chunk's own rows (every
/// third key in db_a, the other two in db_b): past a chunk's worth in one range they are
/// removed ahead of the chunk too.
#[tokio::test]
async fn rows_only_db_b_has_between_the_chunks_rows_count_toward_its_bound() {
    let mut db = TestDb::new(&[]).await;
    db.set("RUST_LOG", "info");
    db.exec(
        "INSERT INTO users (id, name, email) \
         SELECT seq * 3, 'kept', CONCAT('kept', seq, '@x.io') FROM seq_1_to_3344",
    )
    .await;
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
    db.exec_central(
        "INSERT INTO users (id, name, email, updated_at) \
         SELECT seq, 'gone', CONCAT('gone', seq, '@x.io'), NOW(6) FROM seq_1_to_10032 WHERE seq % 3 <> 0",
    )
    .await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("copied 3344, removed 6688"),
        "{}",
        stdout(&out)
    );
    assert_removed_ahead(&out);
    assert_equal_and_all_synced(&db).await;
}

/// db_b rows of the chunk's records that differ: wider than db_a's (compared by size, never
/// read whole), or as wide with other bytes or text (compared by value); equal rows are
/// left as they are — with nothing else in the range, and beside a row only db_b has.
#[tokio::test]
async fn stale_rows_of_any_width_are_rewritten_and_equal_ones_left() {
    let mut db = TestDb::new(&[]).await;
    db.exec(
        "CREATE TABLE docs (id INT PRIMARY KEY, title VARCHAR(20), body LONGBLOB); \
         INSERT INTO docs SELECT seq, CONCAT('t', seq), REPEAT('x', 100) FROM seq_1_to_30",
    )
    .await;
    db.set("SYNC_TABLES", "users,orders,docs");
    dbsync::services::setup::init(&db.config, false)
        .await
        .expect("init with docs");
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
    for extra in ["", "INSERT INTO docs VALUES (1000, 'only in db_b', 'z')"] {
        let out = db.cli(&["resync"]);
        assert!(out.status.success(), "{}", stderr(&out));
        db.exec_central(
            "UPDATE docs SET body = REPEAT('w', 1 << 20) WHERE id <= 10; \
             UPDATE docs SET body = REPEAT('y', 100) WHERE id BETWEEN 11 AND 13; \
             UPDATE docs SET title = CONCAT('T', id) WHERE id BETWEEN 14 AND 15",
        )
        .await;
        if !extra.is_empty() {
            db.exec_central(extra).await;
        }
        let out = db.cli(&["resync"]);
        let removed = if extra.is_empty() { 0 } else { 1 };
        assert!(
            stdout(&out).contains(&format!("copied 15, removed {removed} ")),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_equal_and_all_synced(&db).await;
    }
}

/// Into a db_b that already holds every row, a load writes nearly nothing: its progress
/// (status, the status page, the run that carries it on) counts the rows read, not the
/// rows written.
#[tokio::test]
async fn load_progress_counts_rows_read_into_a_central_that_has_them() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 12_000).await;
    for table in ["users", "orders"] {
        db.exec_central(&format!(
            "INSERT INTO {table} SELECT * FROM `{}`.{table}",
            db.config.local.database
        ))
        .await;
    }
    db.kill_load_at("resync", "users", 9000).await;
    let read = users_read(&db).await;
    assert!(read > 0 && read < 9_000, "the load had read {read} users");
    assert_eq!(rows_copied(&db).await, 0, "db_b held every row");
    // The killed run reads as cut short, not as running, once the server let go of its
    // run lock (it notices the closed connection within moments).
    let mut text = String::new();
    for _ in 0..50 {
        text = stdout(&db.cli(&["status"]));
        if !text.contains(": running") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        text.contains(&format!("initial load of users: {read} of about"))
            && text.contains("rows read, 0 written to db_b")
            && text.contains(": interrupted")
            && text.contains("the run ended without recording how (its process stopped"),
        "{text}"
    );
    // The run that carries the load on reads the rest.
    assert_eq!(rows_checked(&db.cli(&["sync"])), 24_000 - read);
    assert_equal_and_all_synced(&db).await;
}

/// db_b lost (recreated empty) while a load was cut short half-way: resuming from the
/// saved position would leave db_b without the rows before it. The next run sees that db_b
/// no longer holds the copied chunks and copies the tables again from their first row.
#[tokio::test]
async fn a_load_cut_short_into_a_central_that_was_then_lost_starts_again() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 12_000).await;
    db.kill_load_at("resync", "users", 9000).await;
    assert!(db.count(&db.central, "SELECT COUNT(*) FROM users").await > 0);

    db.recreate_central().await;
    let out = db.cli(&["sync"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("copying every table again"), "{text}");
    assert_equal_and_all_synced(&db).await;
}

/// The same after a finished load, with no change synced since: db_b is copied again.
#[tokio::test]
async fn a_finished_load_into_a_central_that_was_then_lost_is_copied_again() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 3_000).await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    db.recreate_central().await;
    let out = db.cli(&["sync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("copying every table again"),
        "{}",
        stdout(&out)
    );
    assert_equal_and_all_synced(&db).await;
}

/// Every table of db_b: the synced ones and dbsync's own.
const CENTRAL_TABLES: [&str; 6] = [
    "users",
    "orders",
    "sync_ledger",
    "sync_watermark",
    "sync_sites",
    "sync_load_marks",
];

/// Every table of db_b, copied into a backup database (as a dump would keep it).
async fn back_up_central(db: &TestDb) -> String {
    let central = db.config.central.database.clone();
    let backup = format!("{central}_bak");
    db.exec(&format!("CREATE DATABASE `{backup}`")).await;
    for table in CENTRAL_TABLES {
        db.exec(&format!(
            "CREATE TABLE `{backup}`.{table} LIKE `{central}`.{table}; \
             INSERT INTO `{backup}`.{table} SELECT * FROM `{central}`.{table}"
        ))
        .await;
    }
    backup
}

/// db_b put back as the backup has it.
async fn restore_central(db: &TestDb, backup: &str) {
    let central = db.config.central.database.clone();
    let mut sql = String::from("SET foreign_key_checks = 0;");
    for table in CENTRAL_TABLES {
        sql.push_str(&format!(
            "DELETE FROM `{central}`.{table}; \
             INSERT INTO `{central}`.{table} SELECT * FROM `{backup}`.{table};"
        ));
    }
    sql.push_str(&format!(
        "SET foreign_key_checks = 1; DROP DATABASE `{backup}`"
    ));
    db.exec(&sql).await;
}

/// db_b restored from a backup taken half-way through a load, after the load finished and
/// later changes were applied: the changes the backup lacks are in tables the load had
/// already finished too, so every table is copied again.
#[tokio::test]
async fn a_central_restored_from_a_backup_taken_mid_load_is_copied_again() {
    let db = TestDb::new(&[]).await;
    existing_site(&db, 12_000).await;
    db.kill_load_at("resync", "orders", 9000).await;
    let backup = back_up_central(&db).await;
    assert!(db.cli(&["sync"]).status.success(), "the load finishes");
    db.exec("UPDATE users SET name = CONCAT(name, ' (moved)') WHERE id <= 100")
        .await;
    db.exec("DELETE FROM orders WHERE id > 11990").await;
    assert!(db.cli(&["sync"]).status.success());
    restore_central(&db, &backup).await;

    let out = db.cli(&["sync"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("copying every table again"), "{text}");
    assert_equal_and_all_synced(&db).await;
}

/// Rows of 20 KB: a batch of 2 000 changes, or a chunk of 2 000 rows, is far over the
/// server's `max_allowed_packet` (16 MiB) as one statement, and the server would drop the
/// connection at every run. Statements are cut by bytes, and so are the queue's reads (a
/// batch is not held whole in memory): the drain and the load get through.
#[tokio::test]
async fn wide_rows_drain_and_load_in_statements_under_the_packet_limit() {
    let db = TestDb::with_table(
        "CREATE TABLE docs (id INT PRIMARY KEY, body MEDIUMTEXT NOT NULL)",
        "docs",
    )
    .await;
    let packet = db
        .count(&db.central, "SELECT CAST(@@max_allowed_packet AS SIGNED)")
        .await;
    let rows = (packet / 20_000 + 100).max(1000);
    db.exec(&format!(
        "INSERT INTO docs SELECT seq, REPEAT('a', 20000) FROM seq_1_to_{rows}"
    ))
    .await;
    // A read keeps at most READ_BYTES of payload (and the row that reaches it); successive
    // reads still see every change once, in order.
    let mut conn = db.local.acquire().await.unwrap();
    let (mut after, mut seen, mut reads) = (i64::MIN, Vec::new(), 0);
    loop {
        let batch = dbsync::db::queue::pending_changes(&mut conn, after, i64::MAX, 2000)
            .await
            .unwrap();
        let Some(last) = batch.last() else { break };
        let bytes: usize = batch.iter().map(|r| r.payload_bytes()).sum();
        let widest = batch.iter().map(|r| r.payload_bytes()).max();
        assert!(bytes < dbsync::db::queue::READ_BYTES + widest.unwrap_or(0));
        after = last.id;
        seen.extend(batch.iter().map(|r| r.id));
        reads += 1;
    }
    drop(conn);
    assert!(reads > 1, "the first read stopped at the byte budget");
    assert_eq!(seen.len(), rows as usize);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    let report = db.sync().await;
    assert_eq!(report.applied, rows as u64, "{report}");
    assert_equal_and_all_synced(&db).await;

    db.exec("UPDATE docs SET body = REPEAT('b', 20000)").await;
    db.exec_central("DELETE FROM docs WHERE id <= 10").await;
    let out = db.cli(&["resync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    db.sync().await;
    assert_equal_and_all_synced(&db).await;
}

/// db_b going silent in the middle of an initial load (a network dropping every packet)
/// pauses the load after SYNC_STALL_TIMEOUT instead of holding the run, and every run after
/// it, for ever; the next run resumes it.
#[tokio::test]
async fn a_db_b_gone_silent_mid_load_pauses_it_and_the_next_run_resumes() {
    use dbsync::domain::Outcome;
    use dbsync::services::sync::Preparation;

    let db = TestDb::new(&[]).await;
    db.insert_users(9000).await;
    let proxy = db.central_proxy().await;
    let port = proxy.port.to_string();
    let engine = db
        .engine_with(&db.config_with(&[("DB_CENTRAL_PORT", &port), ("SYNC_STALL_TIMEOUT", "15s")]));
    engine
        .prepare(Preparation::Resync { only: Vec::new() })
        .await
        .expect("resync set up");
    // The load waits on a row of its third chunk while db_b goes silent behind it.
    let mut holder = db.local.acquire().await.expect("db_a connection");
    let mut lock = holder.begin().await.expect("begin");
    sqlx::raw_sql("SELECT 1 FROM users WHERE id = 5000 FOR UPDATE")
        .execute(&mut *lock)
        .await
        .expect("lock the row");
    let run = tokio::spawn(async move { engine.run().await });
    while db.count(&db.local, &db.load_waiting_sql()).await == 0 {
        assert!(
            !run.is_finished(),
            "the load ended before reaching user 5000"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.freeze();
    lock.rollback().await.expect("rollback");
    let frozen_at = std::time::Instant::now();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.outcome, Outcome::Interrupted, "{report}");
    let note = report.message.clone().unwrap_or_default();
    assert!(note.contains("did not answer for 15 s"), "{note}");
    assert!(
        frozen_at.elapsed() < Duration::from_secs(22),
        "given up {:?} after db_b went silent",
        frozen_at.elapsed()
    );
    let unfinished = "SELECT COUNT(*) FROM sync_load WHERE finished_at IS NULL";
    assert!(
        db.count(&db.local, unfinished).await > 0,
        "the load is paused, not done"
    );
    proxy.thaw();
    let report = db.sync().await;
    assert_eq!(report.outcome, Outcome::Synced, "{report}");
    assert_eq!(
        db.count(&db.local, unfinished).await,
        0,
        "the next run finished the load"
    );
    db.assert_converged().await;
}

/// `dbsync init` (which queues a copy of the table a column was added to), then one run
/// that converges with nothing left in the queue.
async fn init_and_converge(db: &TestDb) {
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    db.sync_converges().await;
    let left = "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'";
    assert_eq!(db.count(&db.local, left).await, 0);
}

/// A child inserted and then deleted with its parent while changes waited, when the
/// parent's table is copied alone (a column was added; a key that refuses takes no other
/// table along): the parent's copy leaves the parent out, and the child's queued insert
/// finds no parent in db_b. db_a holds neither: the insert is applied as what db_a holds
/// of the row, none, not rejected. Before, it was retried and parked as FAILED for nothing.
#[tokio::test]
async fn a_child_gone_with_its_parent_is_not_rejected_after_the_parents_copy() {
    let db = TestDb::with_table(
        "CREATE TABLE carts (id INT PRIMARY KEY, note VARCHAR(20)); \
         CREATE TABLE cart_items (cart INT NOT NULL, line INT NOT NULL, qty INT, \
           PRIMARY KEY (cart, line), \
           CONSTRAINT item_cart FOREIGN KEY (cart) REFERENCES carts (id))",
        "carts,cart_items",
    )
    .await;
    db.exec("INSERT INTO carts VALUES (1, 'a'); INSERT INTO cart_items VALUES (1, 1, 5)")
        .await;
    db.sync_converges().await;
    db.exec(
        "INSERT INTO carts VALUES (7, 'b'); INSERT INTO cart_items VALUES (7, 1, 2), (7, 2, 3); \
         DELETE FROM cart_items WHERE cart = 7; DELETE FROM carts WHERE id = 7; \
         ALTER TABLE carts ADD COLUMN label VARCHAR(10)",
    )
    .await;
    init_and_converge(&db).await;
}

/// A child re-pointed to another parent, then deleted with it, when the parents' table is
/// copied alone: the re-pointing finds no parent in db_b and db_a no longer holds the
/// child, so db_b's old child row is removed (db_a's state of it), not kept as it was.
#[tokio::test]
async fn a_child_repointed_then_gone_with_its_new_parent_leaves_db_b_too() {
    let db = TestDb::with_table(
        "CREATE TABLE carts (id INT PRIMARY KEY); \
         CREATE TABLE cart_tags (id INT PRIMARY KEY, cart INT NOT NULL, \
           CONSTRAINT tag_cart FOREIGN KEY (cart) REFERENCES carts (id))",
        "carts,cart_tags",
    )
    .await;
    db.exec("INSERT INTO carts VALUES (1), (3); INSERT INTO cart_tags VALUES (1, 1)")
        .await;
    db.sync_converges().await;
    db.exec(
        "UPDATE cart_tags SET cart = 3 WHERE id = 1; DELETE FROM cart_tags WHERE id = 1; \
         DELETE FROM carts WHERE id = 3; ALTER TABLE carts ADD COLUMN label VARCHAR(10)",
    )
    .await;
    init_and_converge(&db).await;
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM cart_tags")
            .await,
        0
    );
}

/// A child made again under a new parent after its old one went, when the parents' table
/// is copied alone: the child's first insert finds no parent in db_b, and a later change of
/// the child is queued. That insert is superseded: before, it was retried and parked as
/// FAILED, its record's later changes waited behind it, and the child's own child used up
/// its retries meanwhile.
#[tokio::test]
async fn a_child_that_moved_on_to_a_new_parent_is_not_held_up_by_its_old_one() {
    let db = TestDb::with_table(
        "CREATE TABLE carts (id INT PRIMARY KEY); \
         CREATE TABLE cart_tags (id INT PRIMARY KEY, cart INT NOT NULL, \
           CONSTRAINT tag_cart FOREIGN KEY (cart) REFERENCES carts (id)); \
         CREATE TABLE tag_notes (id INT PRIMARY KEY, tag INT NOT NULL, \
           CONSTRAINT note_tag FOREIGN KEY (tag) REFERENCES cart_tags (id) ON DELETE CASCADE)",
        "carts,cart_tags,tag_notes",
    )
    .await;
    db.exec(
        "INSERT INTO carts VALUES (50); INSERT INTO cart_tags VALUES (5, 50); \
         DELETE FROM cart_tags WHERE id = 5; DELETE FROM carts WHERE id = 50; \
         INSERT INTO carts VALUES (60); \
         INSERT INTO cart_tags VALUES (5, 60); INSERT INTO tag_notes VALUES (7, 5); \
         ALTER TABLE carts ADD COLUMN label VARCHAR(10)",
    )
    .await;
    init_and_converge(&db).await;
}
