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
