//! A copy of some tables (`resync --table`, `init`'s copy after a column is added) takes
//! along the tables linked to them by foreign keys that cascade: db_a's cascades change
//! the linked rows without firing a trigger, so a copy of one side alone left db_b's other
//! side different while the runs said `synced`.

use crate::helpers::{TestDb, stderr, stdout};

/// carts ← cart_items (ON DELETE CASCADE), carts ← cart_notes (ON DELETE SET NULL).
async fn carts() -> TestDb {
    let db = TestDb::with_table(
        "CREATE TABLE carts (id INT PRIMARY KEY, label VARCHAR(20)); \
         CREATE TABLE cart_items (cart INT NOT NULL, line INT NOT NULL, qty INT, \
           PRIMARY KEY (cart, line), \
           CONSTRAINT item_cart FOREIGN KEY (cart) REFERENCES carts (id) ON DELETE CASCADE); \
         CREATE TABLE cart_notes (id INT PRIMARY KEY, cart INT NULL, body VARCHAR(20), \
           CONSTRAINT note_cart FOREIGN KEY (cart) REFERENCES carts (id) ON DELETE SET NULL)",
        "carts,cart_items,cart_notes",
    )
    .await;
    db.exec(
        "INSERT INTO carts VALUES (1, 'a'), (2, 'b'); \
         INSERT INTO cart_items VALUES (1, 1, 5), (1, 2, 6), (2, 1, 7); \
         INSERT INTO cart_notes VALUES (1, 1, 'n1'), (2, 2, 'n2')",
    )
    .await;
    db.sync_converges().await;
    db
}

fn resync(db: &TestDb, tables: &[&str]) -> String {
    let mut args = vec!["resync"];
    for table in tables {
        args.extend(["--table", table]);
    }
    let out = db.cli(&args);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    text
}

/// The parents' copy removes a cart db_a deleted (its delete still queued, then superseded
/// by the copy): db_a's cascade took the cart's items and cleared its note's reference, so
/// the copy takes both child tables along and db_b ends the same.
#[tokio::test]
async fn a_copy_of_parents_takes_the_cascading_children_along() {
    let db = carts().await;
    db.exec("DELETE FROM carts WHERE id = 1").await;
    let text = resync(&db, &["carts"]);
    db.assert_converged().await;
    for child in ["cart_items", "cart_notes"] {
        assert!(
            text.contains(&format!(
                "`{child}` is copied too: it is linked to `carts` by a foreign key that"
            )),
            "{text}"
        );
    }
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM cart_items WHERE cart = 1"
        )
        .await,
        0
    );
}

/// The children's copy of a cart deleted and made again with a new item (all queued): the
/// cart's queued delete, replayed after the copy, would cascade in db_b to the new item
/// the copy placed (its insert superseded by the copy). The parents are copied too.
#[tokio::test]
async fn a_copy_of_children_takes_their_cascading_parents_along() {
    let db = carts().await;
    db.exec(
        "DELETE FROM carts WHERE id = 2; INSERT INTO carts VALUES (2, 'again'); \
         INSERT INTO cart_items VALUES (2, 5, 9); UPDATE cart_notes SET cart = 2 WHERE id = 2",
    )
    .await;
    let text = resync(&db, &["cart_items"]);
    db.assert_converged().await;
    assert!(
        text.contains("`carts` is copied too: it is linked to `cart_items` by a foreign key that"),
        "{text}"
    );
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM cart_items WHERE cart = 2"
        )
        .await,
        1
    );
}

/// `init` after a column is added to the parents copies the parents anew, and the tables
/// their cascades reach with them.
#[tokio::test]
async fn inits_copy_after_a_column_is_added_takes_the_linked_tables_along() {
    let db = carts().await;
    db.exec("DELETE FROM carts WHERE id = 1; ALTER TABLE carts ADD COLUMN shop INT DEFAULT 3")
        .await;
    let out = db.cli(&["init"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("cart_items: it is linked to `carts`, copied anew, by a foreign key that"),
        "{text}"
    );
    db.sync_converges().await;
}

/// Tables linked by keys that refuse (RESTRICT) are not taken along: db_a's deletes of
/// their rows are queued like any other change.
#[tokio::test]
async fn a_restricting_key_does_not_take_a_table_along() {
    let db = TestDb::new(&[]).await;
    db.insert_users(3).await;
    db.sync_converges().await;
    let text = resync(&db, &["users"]);
    assert!(!text.contains("copied too"), "{text}");
    assert!(
        text.contains("`orders` refers to `users` and only one of them is copied"),
        "{text}"
    );
    db.assert_converged().await;
}

/// [`TestDb::during_copy`], which must succeed; its output.
async fn during_copy(db: &TestDb, args: &[&str], row: (&str, i64), then: &str) -> String {
    let out = db.during_copy(args, row, then).await;
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

/// A parent and its child, the child's table listed first.
async fn child_listed_first() -> TestDb {
    let db = TestDb::with_table(
        "CREATE TABLE pz (id INT PRIMARY KEY, v INT); \
         CREATE TABLE ca (id INT PRIMARY KEY, p INT, \
           CONSTRAINT ca_pz FOREIGN KEY (p) REFERENCES pz (id) ON DELETE CASCADE)",
        "ca,pz",
    )
    .await;
    db.exec(
        "INSERT INTO pz VALUES (1, 1), (5, 5), (9, 9); \
         INSERT INTO ca VALUES (10, 1), (50, 5), (51, 5), (90, 9)",
    )
    .await;
    db.sync_converges().await;
    db
}

/// A parent deleted while its table's copy waits for it (the children's table listed
/// first): the parents are copied first, and the children's copy then removes the children
/// db_a's cascade took.
#[tokio::test]
async fn a_parent_deleted_during_its_copy_takes_its_children_in_db_b_too() {
    let db = child_listed_first().await;
    let text = during_copy(
        &db,
        &["resync", "--table", "pz"],
        ("pz", 5),
        "DELETE FROM pz WHERE id = 5",
    )
    .await;
    assert!(text.contains("`ca` is copied too"), "{text}");
    db.sync_converges().await;
}

/// A parent deleted and made again while its table's copy waits for it, its children gone
/// with the delete: the parents' table is copied before the children's (whatever the order
/// of SYNC_TABLES), so the children's copy sees them gone.
#[tokio::test]
async fn parents_are_copied_before_their_children() {
    let db = child_listed_first().await;
    during_copy(
        &db,
        &["resync"],
        ("pz", 5),
        "DELETE FROM pz WHERE id = 5; INSERT INTO pz VALUES (5, 55)",
    )
    .await;
    db.sync_converges().await;
    assert_eq!(
        db.count(&db.central, "SELECT COUNT(*) FROM ca WHERE p = 5")
            .await,
        0
    );
}

/// A table whose rows refer to its own rows, deletes cascading.
async fn cascading_tree() -> TestDb {
    TestDb::with_table(
        "CREATE TABLE tree (id INT PRIMARY KEY, parent INT NULL, \
           CONSTRAINT tree_up FOREIGN KEY (parent) REFERENCES tree (id) ON DELETE CASCADE)",
        "tree",
    )
    .await
}

/// A table whose rows refer to its own rows, a row db_a moved away from its parent (the
/// move still queued) before deleting that parent: the copy removes the parent from db_b
/// without db_b's cascade, which would take the moved row there — and, with it, the rows
/// referring to it that the copy had already passed, which nothing would bring back.
#[tokio::test]
async fn a_copys_removal_spares_rows_db_a_moved_away_from_it() {
    let db = cascading_tree().await;
    db.exec(
        "INSERT INTO tree SELECT seq, NULL FROM seq_1_to_6000; \
         UPDATE tree SET parent = 10 WHERE id = 5000; UPDATE tree SET parent = 5000 WHERE id = 1",
    )
    .await;
    db.sync_converges().await;
    db.exec("UPDATE tree SET parent = NULL WHERE id = 5000; DELETE FROM tree WHERE id = 10")
        .await;
    resync(&db, &["tree"]);
    db.sync_converges().await;
    assert_eq!(
        db.count(
            &db.central,
            "SELECT COUNT(*) FROM tree WHERE id = 1 AND parent = 5000"
        )
        .await,
        1
    );
}

/// A parent with children by a key that cascades and by one that refuses, removed by its
/// table's copy while the refusing child's delete is still queued: the removal goes
/// through (the copy's session has foreign key checks off), the cascading children's copy
/// removes theirs, and the queued delete follows.
#[tokio::test]
async fn a_removal_a_refusing_key_holds_on_to_goes_through() {
    let db = TestDb::with_table(
        "CREATE TABLE pp (id INT PRIMARY KEY); \
         CREATE TABLE soft (id INT PRIMARY KEY, p INT, \
           CONSTRAINT soft_pp FOREIGN KEY (p) REFERENCES pp (id) ON DELETE CASCADE); \
         CREATE TABLE firm (id INT PRIMARY KEY, p INT, \
           CONSTRAINT firm_pp FOREIGN KEY (p) REFERENCES pp (id))",
        "pp,soft,firm",
    )
    .await;
    db.exec(
        "INSERT INTO pp VALUES (1), (2); INSERT INTO soft VALUES (10, 1), (20, 2); \
         INSERT INTO firm VALUES (11, 1), (21, 2)",
    )
    .await;
    db.sync_converges().await;
    db.exec("DELETE FROM firm WHERE id = 11; DELETE FROM pp WHERE id = 1")
        .await;
    let text = resync(&db, &["pp"]);
    assert!(text.contains("`soft` is copied too"), "{text}");
    assert!(!text.contains("`firm` is copied too"), "{text}");
    db.assert_converged().await;
}

/// A synced table whose key to a table not synced cascades: db_b cannot follow db_a's
/// cascades from it, and `init` says so.
#[tokio::test]
async fn init_warns_of_a_cascade_from_a_table_not_synced() {
    let db = TestDb::with_table(
        "CREATE TABLE owners (id INT PRIMARY KEY); \
         CREATE TABLE pets (id INT PRIMARY KEY, owner INT, \
           CONSTRAINT pet_owner FOREIGN KEY (owner) REFERENCES owners (id) ON DELETE CASCADE)",
        "pets",
    )
    .await;
    let out = db.cli(&["init"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains(
            "warning: `pets`'s foreign key `pet_owner` to `owners`, which is not synced, cascades"
        ),
        "{text}"
    );
    assert!(!text.contains("`users`'s"), "{text}");
}

/// A removal whose cascade in db_b would run deeper than InnoDB's 15 levels (db_b's rows
/// still chained as they were before changes queued, the link db_a broke in a later
/// chunk): a copy's removal cascades nothing in db_b, so the copy goes on; one that
/// cascaded stalled every run on InnoDB's error 193.
#[tokio::test]
async fn a_removal_cascading_too_deep_goes_through() {
    let db = cascading_tree().await;
    db.exec(
        "INSERT INTO tree SELECT seq, NULL FROM seq_1_to_5000; \
         INSERT INTO tree SELECT 10000 + seq, IF(seq = 1, 1, 10000 + seq - 1) FROM seq_1_to_20",
    )
    .await;
    db.sync_converges().await;
    db.exec("UPDATE tree SET parent = NULL WHERE id = 10005; DELETE FROM tree WHERE id = 1")
        .await;
    resync(&db, &["tree"]);
    db.sync_converges().await;
}

/// A row pointed at a parent that is then deleted (db_a sets the reference NULL, queuing
/// nothing) while the copy waits for that parent: the copy removes the parent, and the
/// row's queued update finds no parent in db_b. db_a's row as it is now is applied
/// instead; before, the update was retried and parked as FAILED, and db_b kept the old row.
#[tokio::test]
async fn a_change_whose_parent_a_copy_removed_applies_as_db_a_holds_the_row() {
    let db = TestDb::with_table(
        "CREATE TABLE tree (id INT PRIMARY KEY, up INT NULL, v INT NOT NULL DEFAULT 0, \
           CONSTRAINT tree_up FOREIGN KEY (up) REFERENCES tree (id) ON DELETE SET NULL)",
        "tree",
    )
    .await;
    db.exec("INSERT INTO tree (id) SELECT seq FROM seq_1_to_5000")
        .await;
    db.sync_converges().await;
    during_copy(
        &db,
        &["resync", "--table", "tree"],
        ("tree", 4000),
        "UPDATE tree SET up = 4000, v = 1 WHERE id = 5; DELETE FROM tree WHERE id = 4000",
    )
    .await;
    db.sync_converges().await;
    assert_eq!(
        db.count(
            &db.central,
            "SELECT v FROM tree WHERE id = 5 AND up IS NULL"
        )
        .await,
        1
    );
}
