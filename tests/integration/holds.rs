//! Changes held back while their rows, or rows they rely on, are locked in db_b: nothing is
//! blamed, only what relies on a held change waits for it, and db_b converges once the
//! locks go.

use std::time::{Duration, Instant};

use dbsync::domain::Outcome;

use crate::helpers::TestDb;

/// A row locked in db_b by someone else delays only its own record, for seconds, without
/// blaming its change.
#[tokio::test]
async fn a_row_locked_in_db_b_holds_back_only_its_record() {
    let db = TestDb::new(&[]).await;
    db.insert_users(200).await;
    db.sync().await;
    db.exec("UPDATE users SET name = CONCAT(name, ' v2')").await;
    let lock = db
        .hold_in_central(&["SELECT id FROM users WHERE id = 77 FOR UPDATE"])
        .await;
    let started = Instant::now();
    let report = db.engine().run().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        (report.outcome, report.failed, report.held_back),
        (Outcome::Partial, 0, 1),
        "{report}"
    );
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE name LIKE '% v2'"
        )
        .await,
        199
    );
    assert_eq!(db.total_retries().await, 0, "nobody blamed");
    lock.rollback().await.unwrap();
    db.sync().await;
    db.assert_converged().await;
}

/// Rows left locked in db_b by the hundred (an abandoned session's batch) are found in
/// seconds: once a piece of the batch waited out a lock, the pieces it is split into do not
/// wait again (at a second a wait, each level of the split cost a second per locked row).
#[tokio::test]
async fn many_rows_locked_in_db_b_are_held_back_in_seconds() {
    let db = TestDb::new(&[]).await;
    db.insert_users(400).await;
    db.sync().await;
    db.exec("UPDATE users SET name = CONCAT(name, ' v2')").await;
    let lock = db
        .hold_in_central(&["SELECT id FROM users WHERE id BETWEEN 101 AND 250 FOR UPDATE"])
        .await;
    let started = Instant::now();
    let report = db.engine().run().await.unwrap();
    let took = started.elapsed();
    assert_eq!(
        (report.outcome, report.failed, report.held_back),
        (Outcome::Partial, 0, 150),
        "{report}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}: {report}");
    lock.rollback().await.unwrap();
    db.sync().await;
    db.assert_converged().await;
    assert_eq!(db.total_retries().await, 0);
}

/// A change that depends on a held-back one (an order whose new user waits on a lock in
/// db_b; a user whose deleted order waits; a user taking the email a waiting user gives up)
/// is held back with it, not blamed: a lock wait is never a data error, not even one step
/// removed.
#[tokio::test]
async fn changes_depending_on_a_held_back_change_are_held_with_it() {
    let db = TestDb::new(&[]).await;
    db.insert_users(5).await;
    db.exec("INSERT INTO orders (id, user_id, amount, status) VALUES (1, 3, 5.00, 'pending')")
        .await;
    db.sync().await;
    db.exec(
        "INSERT INTO users (id, name, email) VALUES (900, 'new', 'new@example.com'); \
         INSERT INTO orders (id, user_id, amount, status) VALUES (7, 900, 1.00, 'pending'); \
         DELETE FROM orders WHERE id = 1; DELETE FROM users WHERE id = 3; \
         UPDATE users SET email = 'moved@example.com' WHERE id = 1; \
         UPDATE users SET email = 'user1@example.com' WHERE id = 4; \
         UPDATE users SET name = 'still syncing' WHERE id = 2",
    )
    .await;
    // Locks in db_b: user 900's email (another session gives it to user 5), user 1's row
    // and order 1's row.
    let lock = db
        .hold_in_central(&[
            "UPDATE users SET email = 'new@example.com' WHERE id = 5",
            "SELECT id FROM users WHERE id = 1 FOR UPDATE",
            "SELECT id FROM orders WHERE id = 1 FOR UPDATE",
        ])
        .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(
        (report.outcome, report.failed, report.held_back),
        (Outcome::Partial, 0, 6),
        "users 900 and 1 and order 1 wait on locks, order 7 and users 3 and 4 on them: {report}"
    );
    released_then_converged(&db, lock).await;
}

/// A change db_b would take but that relies on a held-back one waits for it: applied first,
/// it would leave db_b different from db_a once the held change goes through. A re-created
/// user's new note (the user's delayed delete cascades to notes), a re-created user's new
/// order (the delayed delete would be refused for it, for ever), an email taken before a
/// change waiting behind a held one takes it, the delete of a user a held order moves to;
/// and a delete refused for a row two references down.
#[tokio::test]
async fn changes_relying_on_a_held_back_change_wait_for_it() {
    let db = TestDb::with_table(
        "CREATE TABLE notes (id INT PRIMARY KEY, user_id BIGINT NOT NULL, \
           FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE); \
         CREATE TABLE marks (id INT PRIMARY KEY, note_id INT NOT NULL, \
           FOREIGN KEY (note_id) REFERENCES notes (id))",
        "notes,marks",
    )
    .await;
    db.insert_users(7).await;
    db.exec(
        "INSERT INTO notes VALUES (30, 3), (40, 4); INSERT INTO marks VALUES (300, 30); \
         INSERT INTO orders (id, user_id, amount, status) VALUES \
           (20, 5, 1.00, 'pending'), (11, 1, 3.00, 'pending')",
    )
    .await;
    db.sync().await;
    db.exec(
        "DELETE FROM marks WHERE id = 300; DELETE FROM users WHERE id = 3; \
         DELETE FROM users WHERE id = 4; \
         INSERT INTO users (id, name, email) VALUES (4, 'again', 'again@example.com'); \
         INSERT INTO notes VALUES (41, 4); \
         DELETE FROM orders WHERE id = 20; DELETE FROM users WHERE id = 5; \
         INSERT INTO users (id, name, email) VALUES (5, 'back', 'back@example.com'); \
         INSERT INTO orders (id, user_id, amount, status) VALUES (21, 5, 2.00, 'pending'); \
         UPDATE users SET name = 'first' WHERE id = 1; \
         UPDATE users SET email = 'tmp@example.com' WHERE id = 1; \
         UPDATE users SET email = 'user1@example.com' WHERE id = 2; \
         UPDATE users SET email = 'user2@example.com' WHERE id = 1; \
         INSERT INTO users (id, name, email) VALUES (8, 'late', 'tmp@example.com'); \
         UPDATE orders SET user_id = 6 WHERE id = 11; \
         UPDATE orders SET user_id = 2 WHERE id = 11; DELETE FROM users WHERE id = 6; \
         UPDATE users SET name = 'still syncing' WHERE id = 7",
    )
    .await;
    let lock = db
        .hold_in_central(&[
            "SELECT id FROM marks WHERE id = 300 FOR UPDATE",
            "SELECT id FROM notes WHERE id = 40 FOR UPDATE",
            "SELECT id FROM orders WHERE id IN (11, 20) FOR UPDATE",
            "SELECT id FROM users WHERE id = 1 FOR UPDATE",
        ])
        .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(
        (report.outcome, report.failed),
        (Outcome::Partial, 0),
        "{report}"
    );
    assert!(report.held_back >= 12, "{report}");
    for (sql, rows, what) in [
        (
            "SELECT COUNT(*) FROM notes WHERE id = 41",
            0,
            "user 4's new note",
        ),
        (
            "SELECT COUNT(*) FROM orders WHERE id = 21",
            0,
            "user 5's new order",
        ),
        (
            "SELECT COUNT(*) FROM users WHERE id = 8",
            0,
            "user 8 taking user 1's next email",
        ),
        (
            "SELECT COUNT(*) FROM users WHERE id = 6",
            1,
            "the delete of user 6",
        ),
    ] {
        let found = db.count(&db.central, sql).await;
        assert_eq!(found, rows, "{what} went ahead of a held change: {report}");
    }
    released_then_converged(&db, lock).await;
}

/// A held change referring to a parent by a unique column (not its key) keeps every later
/// change of the parent table waiting: any of them may move that value, and db_b's own
/// `ON UPDATE CASCADE` would then miss the held row.
#[tokio::test]
async fn a_change_held_under_a_parent_referred_to_by_a_unique_column_keeps_that_value_still() {
    let db = TestDb::with_table(
        "CREATE TABLE tickets (id BIGINT PRIMARY KEY, user_email VARCHAR(255) NULL, \
           FOREIGN KEY (user_email) REFERENCES users (email) ON UPDATE CASCADE)",
        "tickets",
    )
    .await;
    db.insert_users(3).await;
    db.sync().await;
    db.exec(
        "INSERT INTO tickets VALUES (10, 'user1@example.com'); \
         UPDATE users SET email = 'z@example.com' WHERE id = 1; \
         UPDATE users SET email = 'user1@example.com' WHERE id = 2; \
         INSERT INTO orders (id, user_id, amount, status) VALUES (5, 3, 1.00, 'pending')",
    )
    .await;
    // Another db_b session is inserting ticket 10 itself.
    let lock = db
        .hold_in_central(&["INSERT INTO tickets VALUES (10, NULL)"])
        .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(
        (report.outcome, report.failed, report.held_back),
        (Outcome::Partial, 0, 3),
        "the ticket waits on the lock, both users' changes on it: {report}"
    );
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM orders WHERE id = 5")
            .await,
        1,
        "other tables went through"
    );
    lock.rollback().await.unwrap();
    db.sync().await;
    db.assert_converged().await;
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM tickets WHERE user_email = 'z@example.com'"
        )
        .await,
        1,
        "the ticket follows user 1"
    );
    assert_eq!(db.total_retries().await, 0, "nobody blamed");
}

/// A value equal to one a held change takes only as db_b's collation compares is taken
/// after it, not before. Taken first (user 8's email), the held user's change taking it is
/// passed over as superseded, and the swap of emails behind it clashes in every run,
/// though db_a holds every row side by side. Accents and case (`utf8mb4_unicode_ci`); and
/// rules of a collation's own beyond ASCII (`unicode_ci` weighs every emoji alike, others
/// take `ø` for `o` or `ü` for `y`), so such a held value makes any later value wait.
#[tokio::test]
async fn a_value_equal_only_under_the_collation_waits_for_the_held_change_taking_it() {
    for (taken, alike) in [("josé", "JOSE"), ("a😀", "a😁")] {
        let mut db = TestDb::new(&[]).await;
        db.insert_users(3).await;
        let swap = format!(
            "UPDATE users SET name = 'first' WHERE id = 1; \
             UPDATE users SET email = '{taken}@example.com' WHERE id = 1; \
             UPDATE users SET email = 'user1@example.com' WHERE id = 2; \
             UPDATE users SET email = 'user2@example.com' WHERE id = 1; \
             INSERT INTO users (id, name, email) VALUES (8, 'late', '{alike}@example.com')"
        );
        swap_behind_a_held_row(&mut db, "users", &swap).await;
    }
}

/// The same for a unique key on a prefix (`UNIQUE (url(10))`): two URLs alike in their
/// first ten characters clash in db_b.
#[tokio::test]
async fn a_value_equal_on_a_unique_prefix_waits_for_the_held_change_taking_it() {
    let mut db = TestDb::with_table(
        "CREATE TABLE links (id INT PRIMARY KEY, url VARCHAR(100) NOT NULL, \
           note VARCHAR(20) NOT NULL DEFAULT '', UNIQUE KEY link_site (url(10)))",
        "links",
    )
    .await;
    db.insert_users(3).await;
    db.exec(
        "INSERT INTO links (id, url) VALUES (1, 'https://a.example/1'), (2, 'https://b.example/2')",
    )
    .await;
    let swap = "UPDATE links SET note = 'first' WHERE id = 1; \
         UPDATE links SET url = 'https://t.example/1' WHERE id = 1; \
         UPDATE links SET url = 'https://a.example/2' WHERE id = 2; \
         UPDATE links SET url = 'https://b.example/1' WHERE id = 1; \
         INSERT INTO links (id, url) VALUES (8, 'https://t.example/other')";
    swap_behind_a_held_row(&mut db, "links", swap).await;
}

/// The same for a unique key on a virtual generated column, whose value no image carries:
/// a later change of the table waits for any held change of it.
#[tokio::test]
async fn a_value_of_a_unique_virtual_column_waits_for_the_held_change_taking_it() {
    let mut db = TestDb::with_table(
        "CREATE TABLE tags (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, \
           note VARCHAR(20) NOT NULL DEFAULT '', \
           slug VARCHAR(50) AS (REPLACE(LOWER(name), ' ', '-')) VIRTUAL, UNIQUE KEY (slug))",
        "tags",
    )
    .await;
    db.insert_users(3).await;
    db.exec("INSERT INTO tags (id, name) VALUES (1, 'alpha'), (2, 'beta')")
        .await;
    let swap = "UPDATE tags SET note = 'first' WHERE id = 1; \
         UPDATE tags SET name = 'Temp one' WHERE id = 1; \
         UPDATE tags SET name = 'alpha' WHERE id = 2; \
         UPDATE tags SET name = 'beta' WHERE id = 1; \
         INSERT INTO tags (id, name) VALUES (8, 'temp-one')";
    swap_behind_a_held_row(&mut db, "tags", swap).await;
}

/// Synced, then `swap` on db_a — row 1 of `table` changes three times (taking a unique value
/// then giving up its own), row 2 takes row 1's old value, row 1 takes row 2's, and row 8
/// takes the value row 1 took first, alike only as db_b compares — while row 1 is locked in
/// db_b. Row 1's three changes wait on the lock and rows 2 and 8 on them, nobody blamed, an
/// order of user 3 goes through beside them; once the lock goes, one run converges.
/// Batches of one change, so each of row 1's changes is written on its own (in one batch
/// they would be written as its last).
async fn swap_behind_a_held_row(db: &mut TestDb, table: &str, swap: &str) {
    db.set("SYNC_BATCH_SIZE", "1");
    db.sync().await;
    db.exec(&format!(
        "{swap}; INSERT INTO orders (id, user_id, amount, status) VALUES (77, 3, 1.00, 'pending')"
    ))
    .await;
    let lock = db
        .hold_in_central(&[&format!("SELECT id FROM {table} WHERE id = 1 FOR UPDATE")])
        .await;
    let report = db.engine().run().await.unwrap();
    assert_eq!(
        (report.outcome, report.failed, report.held_back),
        (Outcome::Partial, 0, 5),
        "{table}: row 1's three changes wait on the lock, rows 2 and 8 on them: {report}"
    );
    assert_eq!(db.total_retries().await, 0, "nobody blamed");
    let beside = "SELECT COUNT(*) FROM orders WHERE id = 77";
    assert_eq!(
        db.count(&db.central, beside).await,
        1,
        "the order went through"
    );
    lock.rollback().await.unwrap();
    db.sync().await;
    db.assert_converged().await;
    assert_eq!(db.total_retries().await, 0);
}

/// With changes held back: nobody was blamed and the change renaming a user to `still
/// syncing` went through beside them; once the locks go, one run converges.
async fn released_then_converged(db: &TestDb, lock: sqlx::Transaction<'static, sqlx::MySql>) {
    assert_eq!(db.total_retries().await, 0, "nobody blamed");
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM users WHERE name = 'still syncing'"
        )
        .await,
        1,
        "other records went through"
    );
    lock.rollback().await.unwrap();
    db.sync().await;
    db.assert_converged().await;
    assert_eq!(db.total_retries().await, 0);
}

/// A whole table locked in db_b (`LOCK TABLES … WRITE`, an `ALTER` in progress) holds back
/// that table's changes after one wait per batch, not one wait per change, and every other
/// table's changes go through in the same run. Before, the pieces the batch split into
/// still waited out db_b's table lock wait (10 s) each: a hundred changes took many minutes
/// and the unrelated table waited behind them.
#[tokio::test]
async fn a_table_locked_in_db_b_holds_back_only_its_changes_and_quickly() {
    use sqlx::{ConnectOptions, Connection};
    let db = TestDb::with_table(
        "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20))",
        "notes",
    )
    .await;
    db.insert_users(100).await;
    db.sync().await;
    db.exec(
        "UPDATE users SET name = CONCAT(name, ' v2'); \
         INSERT INTO notes SELECT seq, 'note' FROM seq_1_to_100",
    )
    .await;
    // A session of its own: table locks outlive a transaction, and end with the session.
    let mut locker = dbsync::db::connect_options(&db.config.central, true)
        .connect()
        .await
        .expect("a db_b session");
    sqlx::raw_sql("SET SESSION wait_timeout = 60; LOCK TABLES users WRITE")
        .execute(&mut locker)
        .await
        .expect("users locked");
    let started = Instant::now();
    let report = db.engine().run().await.unwrap();
    let took = started.elapsed();
    locker.close().await.expect("lock released");
    assert_eq!(
        (report.outcome, report.failed, report.held_back),
        (Outcome::Partial, 0, 100),
        "{report}"
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let notes = "SELECT COUNT(*) FROM notes";
    assert_eq!(db.count(&db.central, notes).await, 100);
    db.sync().await;
    db.assert_converged().await;
    assert_eq!(db.total_retries().await, 0, "nobody blamed");
}
