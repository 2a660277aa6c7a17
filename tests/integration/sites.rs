//! Many sites, one central: rows of different sites never collide, each site sees and
//! repairs only its own slice, head office sees every site.

use crate::helpers::{TestDb, stderr, stdout};

fn central_name() -> String {
    format!(
        "dbsync_t_{}_c",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn site(central: &str, id: &str) -> TestDb {
    TestDb::new(&[("SITE_ID", id), ("DB_CENTRAL_DB", central)]).await
}

/// Sites `shop-1` and `shop-2`, sharing one new central.
async fn two_sites() -> (TestDb, TestDb) {
    let central = central_name();
    (
        site(&central, "shop-1").await,
        site(&central, "shop-2").await,
    )
}

/// Two shops with the same ids and the same customer emails: both in db_b, apart by site.
#[tokio::test]
async fn two_sites_with_the_same_ids_and_emails_live_side_by_side() {
    let (first, second) = two_sites().await;
    for (db, name) in [(&first, "first"), (&second, "second")] {
        db.exec(&format!(
            "INSERT INTO users (id, name, email) VALUES (1, 'Ana {name}', 'ana@example.com'), (2, 'Bo', 'bo@example.com'); \
             INSERT INTO orders (id, user_id, amount) VALUES (1, 1, 9.99)"
        ))
        .await;
        let report = db.sync().await;
        assert_eq!(report.failed, 0, "{report}");
    }
    assert_eq!(
        first
            .count(
                &first.central,
                "SELECT COUNT(*) FROM users WHERE email = 'ana@example.com'"
            )
            .await,
        2
    );
    assert_eq!(
        first
            .count(
                &first.central,
                "SELECT COUNT(*) FROM users WHERE site_id = 'shop-2' AND name = 'Ana second'"
            )
            .await,
        1
    );
    first.assert_converged().await;
    second.assert_converged().await;

    // A resync of one site leaves the other's rows alone; verify sees only its own slice.
    first
        .exec("DELETE FROM orders; DELETE FROM users WHERE id = 2")
        .await;
    let out = first.cli(&["resync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    first.assert_converged().await;
    second.assert_converged().await;
    assert_eq!(
        first
            .count(
                &first.central,
                "SELECT COUNT(*) FROM users WHERE site_id = 'shop-2'"
            )
            .await,
        2
    );

    let out = second.cli(&["sites"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("shop-1") && text.contains("shop-2"), "{text}");
    let out = second.cli(&["sites", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows}");
    assert_eq!(rows[0]["pending_changes"], 0);
}

/// A site's database configured with another site's SITE_ID (a copied .env): sync, resync,
/// rebase and verify refuse, saying so, and the other site's rows stay as they are, and
/// so does its line in `sync_sites`.
#[tokio::test]
async fn a_site_cannot_write_over_another_sites_rows() {
    let (first, second) = two_sites().await;
    for (db, name) in [(&first, "first"), (&second, "second")] {
        db.exec(&format!(
            "INSERT INTO users (id, name, email) VALUES (1, 'Ana {name}', 'ana@example.com')"
        ))
        .await;
        assert_eq!(db.sync().await.failed, 0);
    }
    first
        .exec("UPDATE users SET name = 'Ana first, later' WHERE id = 1")
        .await;
    let mut env = first.env.clone();
    env.insert("SITE_ID".into(), "shop-2".into());
    for command in ["sync", "resync", "rebase", "verify"] {
        let out = crate::helpers::run_cli(&env, &[command]);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        let expected = if command == "verify" { 2 } else { 6 };
        assert_eq!(out.status.code(), Some(expected), "{command}: {text}");
        assert!(
            text.contains("written by another db_a"),
            "{command}: {text}"
        );
    }
    let theirs = "SELECT COUNT(*) FROM users WHERE site_id = 'shop-2' AND name = 'Ana second'";
    assert_eq!(first.count(&first.central, theirs).await, 1);
    let line = "SELECT COUNT(*) FROM sync_sites WHERE site_id = 'shop-2' \
                AND last_run_outcome = 'synced' AND pending_changes = 0";
    assert_eq!(first.count(&first.central, line).await, 1);
    second.assert_converged().await;
    assert_eq!(second.sync().await.failed, 0);
}

/// Only the db_a that writes a single-site central may move it under a SITE_ID.
#[tokio::test]
async fn migrate_site_is_refused_to_another_database() {
    let central = central_name();
    let owner = TestDb::new(&[("DB_CENTRAL_DB", &central)]).await;
    owner.insert_users(3).await;
    assert_eq!(owner.sync().await.failed, 0);
    let other = TestDb::new(&[("DB_CENTRAL_DB", &central)]).await;
    let mut env = other.env.clone();
    env.insert("SITE_ID".into(), "x".into());
    let out = crate::helpers::run_cli(&env, &["migrate-site"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("written by another db_a"),
        "{}",
        stderr(&out)
    );
    let moved = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'site_id' AND TABLE_NAME = 'users'";
    assert_eq!(owner.count(&owner.central, moved).await, 0);
    assert_eq!(owner.sync().await.failed, 0);
    owner.assert_converged().await;
}

/// A single-site deployment gets a SITE_ID: `migrate-site` moves its rows, `init` takes up
/// the new layout, and it keeps syncing beside another site.
#[tokio::test]
async fn a_single_site_deployment_moves_under_a_site_id() {
    let mut single = TestDb::new(&[]).await;
    single.insert_users(20).await;
    single
        .exec("INSERT INTO orders (id, user_id, amount) VALUES (1, 1, 1.00), (2, 2, 2.00)")
        .await;
    single.sync().await;
    single
        .exec("UPDATE users SET name = 'pending' WHERE id = 3")
        .await;

    single.set("SITE_ID", "shop-9");
    let out = single.cli(&["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("primary key") && said.contains("migrate-site") && !said.contains("drop"),
        "{said}"
    );
    let out = single.cli(&["migrate-site"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a pending change must be synced first: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("PENDING"), "{}", stderr(&out));
    let mut env = single.env.clone();
    env.remove("SITE_ID");
    assert!(crate::helpers::run_cli(&env, &["sync"]).status.success());

    let out = single.cli(&["migrate-site"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = single.cli(&["init"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    single.exec("UPDATE users SET name = 'after the move' WHERE id = 4; INSERT INTO users (id, name, email) VALUES (21, 'n', 'n21@x.io')").await;
    let report = single.sync().await;
    assert_eq!((report.failed, report.applied), (0, 2), "{report}");
    single.assert_converged().await;

    let other = site(&single.config.central.database, "shop-10").await;
    other.insert_users(5).await;
    other.sync().await;
    other.assert_converged().await;
    single.assert_converged().await;
    assert_eq!(
        single
            .count(&single.central, "SELECT COUNT(*) FROM users WHERE id = 1")
            .await,
        2
    );
}

/// With SITE_ID set, db_b's copy of a table gets a `site_id` column: a table of db_a that
/// has its own is refused by `init` with one line naming it, before anything is created.
#[tokio::test]
async fn init_refuses_a_table_with_its_own_site_id_column() {
    let mut db = site(&central_name(), "shop-s").await;
    db.exec("CREATE TABLE tags (id INT PRIMARY KEY, label VARCHAR(20))")
        .await;
    db.exec("CREATE TABLE things (id INT PRIMARY KEY, site_id INT, v VARCHAR(10))")
        .await;
    db.set("SYNC_TABLES", "users,orders,tags,things");
    let out = db.cli(&["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("table `things` has a column named `site_id`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    let created = "SELECT COUNT(*) FROM information_schema.TABLES \
                   WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('tags', 'things')";
    assert_eq!(db.count(&db.central, created).await, 0, "nothing created");
}

/// `migrate-site` refuses such a table too (a `site_id` of its own would look moved already).
#[tokio::test]
async fn migrate_site_refuses_a_table_with_its_own_site_id_column() {
    let mut single = TestDb::new(&[]).await;
    single
        .exec("CREATE TABLE things (id INT PRIMARY KEY, Site_Id INT)")
        .await;
    single.set("SYNC_TABLES", "users,orders,things");
    dbsync::services::setup::init(&single.config, false)
        .await
        .expect("init with things");
    single.set("SITE_ID", "shop-m");
    let out = single.cli(&["migrate-site"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("table `things` has a column named `site_id`"),
        "{}",
        stderr(&out)
    );
    let moved = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                 AND COLUMN_NAME = 'site_id' AND TABLE_NAME = 'users'";
    assert_eq!(
        single.count(&single.central, moved).await,
        0,
        "nothing moved"
    );
}

/// A foreign key written the usual way — named, with no index of its own (db_a makes one
/// of the key's name) — with a SITE_ID: `init` creates db_b's copies, `migrate-site` moves
/// a single-site copy, and the key cascades in db_b on both.
#[tokio::test]
async fn a_foreign_key_without_an_index_of_its_own_works_under_a_site_id() {
    const TABLES: &str = "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB; \
        CREATE TABLE c (id INT PRIMARY KEY, pid INT, \
          CONSTRAINT fk_c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB; \
        INSERT INTO p VALUES (1), (2); INSERT INTO c VALUES (10, 1), (20, 2)";
    let mut fresh = site(&central_name(), "shop-f").await;
    let mut single = TestDb::new(&[]).await;
    for db in [&mut fresh, &mut single] {
        db.exec(TABLES).await;
        db.set("SYNC_TABLES", "users,orders,p,c");
    }
    let out = single.cli(&["init"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    single.cli(&["resync"]);
    single.set("SITE_ID", "shop-m");
    let out = single.cli(&["migrate-site"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    for db in [&fresh, &single] {
        let out = db.cli(&["init"]);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        db.cli(&["resync"]);
        db.exec("DELETE FROM p WHERE id = 1").await;
        let report = db.sync().await;
        assert_eq!(report.failed, 0, "{report}");
        db.assert_converged().await;
        let cascaded = "SELECT COUNT(*) FROM c WHERE id = 10";
        assert_eq!(db.count(&db.central, cascaded).await, 0, "cascaded in db_b");
    }
}

/// With a SITE_ID, a foreign key between synced tables that sets NULL cannot be kept in db_b
/// (`site_id` leads the key there and is never NULL): `init` refuses it up front with what
/// to do, and so does `migrate-site`, before moving anything.
#[tokio::test]
async fn a_foreign_key_setting_null_is_refused_under_a_site_id() {
    const TABLES: &str = "CREATE TABLE p (id INT PRIMARY KEY); \
        CREATE TABLE c (id INT PRIMARY KEY, pid INT, \
          CONSTRAINT fk_c_sets_null FOREIGN KEY (pid) REFERENCES p (id) ON DELETE SET NULL)";
    let mut single = TestDb::new(&[]).await;
    single.exec(TABLES).await;
    single.set("SYNC_TABLES", "users,orders,p,c");
    assert!(single.cli(&["init"]).status.success());
    single.set("SITE_ID", "shop-n");
    for command in ["init", "migrate-site"] {
        let out = single.cli(&[command]);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("foreign key `fk_c_sets_null` sets NULL"),
            "{command}: {}",
            stderr(&out)
        );
    }
    let moved = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         AND COLUMN_NAME = 'site_id' AND TABLE_NAME IN ('users', 'orders', 'p', 'c')";
    assert_eq!(
        single.count(&single.central, moved).await,
        0,
        "nothing moved"
    );
}

/// `init` run on one site, output checked.
fn init_ok(db: &TestDb) -> String {
    let out = db.cli(&["init"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

/// db_b's copy of a table holds every site's rows: a column one site's db_a drops stays
/// there, with the other sites' values, and is made nullable for the site without it;
/// a column only another site has (NOT NULL, no default) is added nullable and does not
/// stop a site either.
/// Before, the first site's `init` dropped the column with every other site's values,
/// and the other way round `init` refused the site lacking the column.
#[tokio::test]
async fn a_column_one_site_drops_or_adds_stays_for_the_others() {
    let (first, second) = two_sites().await;
    for db in [&first, &second] {
        db.exec("ALTER TABLE orders ADD COLUMN note VARCHAR(40) NOT NULL")
            .await;
        init_ok(db);
        db.exec(
            "INSERT INTO users (id, name, email) VALUES (1, 'Ana', 'ana@example.com'); \
             INSERT INTO orders (id, user_id, amount, note) VALUES (1, 1, 9.99, 'keep me')",
        )
        .await;
        db.sync_converges().await;
    }

    first.exec("ALTER TABLE orders DROP COLUMN note").await;
    let said = init_ok(&first);
    assert!(said.contains("`orders`.`note` kept"), "{said}");
    first
        .exec("INSERT INTO orders (id, user_id, amount) VALUES (2, 1, 5.00)")
        .await;
    first.sync_converges().await;
    second
        .exec(
            "UPDATE orders SET note = 'still here' WHERE id = 1; \
             INSERT INTO orders (id, user_id, amount, note) VALUES (2, 1, 1.00, 'new')",
        )
        .await;
    second.sync_converges().await;
    let notes = |site: &str| {
        format!(
            "SELECT COUNT(*) FROM orders WHERE site_id = '{site}' AND note IN ('keep me', 'still here', 'new')"
        )
    };
    assert_eq!(first.count(&first.central, &notes("shop-2")).await, 2);
    let first_rows = "SELECT COUNT(*) FROM orders WHERE site_id = 'shop-1' AND \
                      (id = 1 AND note = 'keep me' OR id = 2 AND note IS NULL)";
    assert_eq!(first.count(&first.central, first_rows).await, 2);
    // Neither site's `init` drops it or refuses afterwards.
    init_ok(&first);
    init_ok(&second);
    first.assert_converged().await;
    second.assert_converged().await;

    // Added NOT NULL without a default by one site: nullable in db_b from the start, so the
    // other site's rows hold NULL there, not an implicit ''.
    second
        .exec("ALTER TABLE users ADD COLUMN phone VARCHAR(20) NOT NULL")
        .await;
    init_ok(&second);
    let ana = "SELECT COUNT(*) FROM users WHERE site_id = 'shop-1' AND id = 1 AND phone IS NULL";
    assert_eq!(first.count(&first.central, ana).await, 1);
    second.sync_converges().await;
    init_ok(&first);
    first
        .exec("INSERT INTO users (id, name, email) VALUES (3, 'Cy', 'cy@example.com')")
        .await;
    first.sync_converges().await;
    let phone = "SELECT COUNT(*) FROM users WHERE site_id = 'shop-1' AND id = 3 AND phone IS NULL";
    assert_eq!(first.count(&first.central, phone).await, 1);
    second.assert_converged().await;
}

/// A number column one site widens: db_b follows, and another site's `init` takes it as it
/// is where its values read back alike (more digits before the point); more decimals (which
/// read back otherwise) are refused naming the ALTER that gives db_a db_b's type. Before,
/// every other site's `init` was refused, telling it to narrow db_b under the first site.
#[tokio::test]
async fn a_number_column_one_site_widens_leaves_the_others_syncing() {
    let (first, second) = two_sites().await;
    first
        .exec("ALTER TABLE orders MODIFY amount DECIMAL(14,2) NOT NULL")
        .await;
    init_ok(&first);
    second
        .exec("ALTER TABLE users ADD COLUMN phone VARCHAR(20)")
        .await;
    init_ok(&second);
    second
        .exec(
            "INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x.io'); \
             INSERT INTO orders (id, user_id, amount, status) VALUES (1, 1, 9.99, 'pending')",
        )
        .await;
    second.sync_converges().await;
    first
        .exec("ALTER TABLE orders MODIFY amount DECIMAL(16,4) NOT NULL")
        .await;
    init_ok(&first);
    second
        .exec("ALTER TABLE users ADD COLUMN fax VARCHAR(20)")
        .await;
    let out = second.cli(&["init"]);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}{said}", stdout(&out));
    assert!(
        said.contains("give db_a's column db_b's type")
            && said.contains("MODIFY COLUMN `amount` decimal(16,4)"),
        "{said}"
    );
    second
        .exec("ALTER TABLE orders MODIFY amount DECIMAL(16,4) NOT NULL")
        .await;
    init_ok(&second);
    second.sync_converges().await;
    first.sync_converges().await;

    // A column one site has ZEROFILL (values read `0000000042`): the other is told to match,
    // not to change db_b's under the first site's rows.
    first
        .exec("ALTER TABLE users ADD COLUMN code INT UNSIGNED ZEROFILL")
        .await;
    init_ok(&first);
    second
        .exec("ALTER TABLE users ADD COLUMN code INT UNSIGNED")
        .await;
    let out = second.cli(&["init"]);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}{said}", stdout(&out));
    assert!(
        said.contains("MODIFY COLUMN `code` int(10) unsigned zerofill"),
        "{said}"
    );

    // A BIT value reads back as its number at any width: fewer bits than db_b's are taken
    // as they are (before, refused as if they read otherwise).
    second
        .exec("ALTER TABLE users MODIFY code INT UNSIGNED ZEROFILL")
        .await;
    first
        .exec("ALTER TABLE users ADD COLUMN flags BIT(8)")
        .await;
    init_ok(&first);
    second
        .exec("ALTER TABLE users ADD COLUMN flags BIT(4)")
        .await;
    init_ok(&second);
    second
        .exec("INSERT INTO users (id, name, email, code, flags) VALUES (2, 'B', 'b@x.io', 7, b'1010')")
        .await;
    second.sync_converges().await;
    let flags = "SELECT COUNT(*) FROM users WHERE site_id = 'shop-2' AND id = 2 AND flags = 10";
    assert_eq!(second.count(&second.central, flags).await, 1);
    first.sync_converges().await;
}

/// A site joining with a primary key compared another way than db_b's (`_bin` beside the
/// first site's `_ci`): its `init` is refused (exit 2) naming the ALTER that gives its db_a
/// db_b's collation, and db_b stays as the first site needs it. Before, the joining site's
/// `init` changed db_b's key without a word and the first site's runs stopped for good.
#[tokio::test]
async fn a_site_joining_with_a_key_compared_otherwise_is_refused() {
    let central = central_name();
    let tags = |collation: &str| {
        format!(
            "CREATE TABLE tags (code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE {collation} \
             PRIMARY KEY, label VARCHAR(20))"
        )
    };
    let mut first = site(&central, "shop-1").await;
    first.exec(&tags("utf8mb4_general_ci")).await;
    first.set("SYNC_TABLES", "users,orders,tags");
    init_ok(&first);
    first.exec("INSERT INTO tags VALUES ('a', 'x')").await;
    first.sync_converges().await;
    let mut second = site(&central, "shop-2").await;
    second.exec(&tags("utf8mb4_bin")).await;
    second.set("SYNC_TABLES", "users,orders,tags");
    let out = second.cli(&["init"]);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}{said}", stdout(&out));
    assert!(
        said.contains("COLLATE utf8mb4_general_ci") && said.contains("every site's rows"),
        "{said}"
    );
    first.exec("INSERT INTO tags VALUES ('B', 'y')").await;
    first.sync_converges().await;
    second
        .exec("ALTER TABLE tags MODIFY code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL")
        .await;
    init_ok(&second);
    second.exec("INSERT INTO tags VALUES ('A', 'z')").await;
    second.sync_converges().await;
    first.sync_converges().await;
}

/// A unique key's collation made stricter on one site (`_ci` → `_bin`) follows into db_b,
/// where it still refuses nothing the other sites' `_ci` allows: they keep syncing, their
/// `init` leaves it, and the first site going back to `_ci` leaves it too. Before, every
/// other site's runs stopped as `schema_changed`, and each `init` undid the other's.
#[tokio::test]
async fn a_unique_key_made_stricter_on_one_site_does_not_stop_the_others() {
    let (first, second) = two_sites().await;
    let to = |collation: &str| {
        format!(
            "ALTER TABLE users MODIFY email VARCHAR(100) CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL"
        )
    };
    first.exec(&to("utf8mb4_bin")).await;
    init_ok(&first);
    first
        .exec("INSERT INTO users (id, name, email) VALUES (1, 'A', 'Case@x.io'), (2, 'B', 'case@x.io')")
        .await;
    first.sync_converges().await;
    second
        .exec("INSERT INTO users (id, name, email) VALUES (1, 'C', 'case@x.io')")
        .await;
    second.sync_converges().await;
    let said = init_ok(&second);
    assert!(!said.contains("email"), "{said}");
    first.exec("DELETE FROM users WHERE id = 2").await;
    first.exec(&to("utf8mb4_unicode_ci")).await;
    let said = init_ok(&first);
    assert!(!said.contains("email"), "{said}");
    first.sync_converges().await;
    second.sync_converges().await;
}

/// A primary key's column one site moves to a narrower character set (db_b must compare
/// it as db_a does, so it would follow) while db_b holds another site's characters that
/// set lacks: `init` refuses (exit 2, saying why and what to do) and changes none of them.
/// Before, db_b's column was converted in a permissive session and the other site's
/// emoji became `?` for good.
#[tokio::test]
async fn a_column_change_that_would_alter_another_sites_values_is_refused() {
    let central = central_name();
    let mut sites = Vec::new();
    for id in ["shop-1", "shop-2"] {
        let mut db = site(&central, id).await;
        db.exec("CREATE TABLE tags (code VARCHAR(20) PRIMARY KEY, label VARCHAR(20))")
            .await;
        db.set("SYNC_TABLES", "users,orders,tags");
        init_ok(&db);
        sites.push(db);
    }
    let (first, second) = (&sites[0], &sites[1]);
    second.exec("INSERT INTO tags VALUES ('hot😀', 'x')").await;
    second.sync_converges().await;
    first
        .exec("ALTER TABLE tags MODIFY code VARCHAR(20) CHARACTER SET latin1 NOT NULL")
        .await;
    let out = first.cli(&["init"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let said = stderr(&out);
    assert!(
        said.contains("MODIFY COLUMN `code`") && said.contains("every site's rows"),
        "{said}"
    );
    let kept = "SELECT COUNT(*) FROM tags WHERE site_id = 'shop-2' AND code = 'hot😀'";
    assert_eq!(first.count(&first.central, kept).await, 1);
    second.sync_converges().await;
}

/// A generated column's expression changed on one site stays as it is in db_b, which
/// computes it for every site's rows (`init` says so): before, the other sites' stored
/// values were computed anew by the one site's expression, and their `verify` could not
/// tell (db_b computes its own generated values).
#[tokio::test]
async fn a_generated_columns_new_expression_on_one_site_leaves_the_others_values() {
    let (first, second) = two_sites().await;
    for db in [&first, &second] {
        db.exec("ALTER TABLE users ADD COLUMN name_len INT AS (CHAR_LENGTH(name)) STORED")
            .await;
        init_ok(db);
    }
    second
        .exec("INSERT INTO users (id, name, email) VALUES (1, 'Ana', 'ana@example.com')")
        .await;
    second.sync_converges().await;
    first
        .exec("ALTER TABLE users MODIFY name_len INT AS (CHAR_LENGTH(name) * 2) STORED")
        .await;
    let said = init_ok(&first);
    assert!(said.contains("keeps db_b's expression"), "{said}");
    let kept = "SELECT COUNT(*) FROM users WHERE site_id = 'shop-2' AND name_len = 3";
    assert_eq!(first.count(&first.central, kept).await, 1);
    first.sync_converges().await;
    second.sync_converges().await;
}

/// A site that forgot its SITE_ID, pointed at a db_b other sites share, is told to set it,
/// not to drop db_b's table (which holds every site's rows), and the refused `init` leaves
/// its db_a as it found it: none of dbsync's tables, no sample tables, and no database
/// where there was none.
#[tokio::test]
async fn a_site_without_site_id_on_a_shared_db_b_is_told_to_set_it() {
    let central = central_name();
    let first = site(&central, "shop-1").await;
    first
        .exec("INSERT INTO users (id, name, email) VALUES (1, 'Ana', 'ana@example.com')")
        .await;
    first.sync_converges().await;
    let db_a = &first.config.local.database;
    // `_x` does not exist; `_y` does, empty.
    first.exec(&format!("CREATE DATABASE `{db_a}_y`")).await;
    let mut outputs = Vec::new();
    for suffix in ["x", "y"] {
        let mut env = first.env.clone();
        env.remove("SITE_ID");
        env.insert("DB_OFFLINE_DB".into(), format!("{db_a}_{suffix}"));
        outputs.push(first.cli_async_with(&env, &["init"]).await);
    }
    let databases = format!(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA \
         WHERE SCHEMA_NAME IN ('{db_a}_x', '{db_a}_y')"
    );
    let databases = first.count(&first.local, &databases).await;
    let tables = format!(
        "SELECT COUNT(*) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA IN ('{db_a}_x', '{db_a}_y')"
    );
    let tables = first.count(&first.local, &tables).await;
    for suffix in ["x", "y"] {
        first
            .exec(&format!("DROP DATABASE IF EXISTS `{db_a}_{suffix}`"))
            .await;
    }
    for out in &outputs {
        let said = stderr(out);
        assert_eq!(out.status.code(), Some(2), "{}{said}", stdout(out));
        assert!(
            said.contains("SITE_ID is not set") && !said.contains("drop db_b's table ("),
            "{said}"
        );
    }
    assert_eq!(
        (databases, tables),
        (1, 0),
        "the refused init made no table in db_a, and removed the database it had made"
    );
    let rows = "SELECT COUNT(*) FROM users WHERE site_id = 'shop-1'";
    assert_eq!(first.count(&first.central, rows).await, 1);
}

/// `migrate-site` on a site already under its SITE_ID, with changes pending, has nothing
/// to move and says so (before, it sent the operator to sync without SITE_ID, which
/// would be refused).
#[tokio::test]
async fn migrate_site_on_a_site_already_moved_has_nothing_to_do() {
    let central = central_name();
    let first = site(&central, "shop-1").await;
    first
        .exec("INSERT INTO users (id, name, email) VALUES (1, 'Ana', 'ana@example.com')")
        .await;
    let out = first.cli(&["migrate-site"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("nothing to move"), "{}", stdout(&out));
    first.sync_converges().await;
}

/// A unique key's column moved to a narrower character set on one site (`latin1`), while
/// another site's stays `utf8mb4`: db_b's column keeps `utf8mb4` and takes its binary
/// collation, which tells apart every site's values, so neither site's runs stop and
/// neither site's `init` undoes the other's. Before, db_b was narrowed to `latin1` (the
/// other site stopped at its first emoji) and widened back, and each site stopped the
/// other in turn.
#[tokio::test]
async fn a_unique_keys_column_narrowed_on_one_site_keeps_what_the_others_need() {
    let (first, second) = two_sites().await;
    first
        .exec("ALTER TABLE users MODIFY email VARCHAR(100) CHARACTER SET latin1 NOT NULL")
        .await;
    let said = init_ok(&first);
    assert!(
        said.contains("CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
        "{said}"
    );
    first
        .exec("INSERT INTO users (id, name, email) VALUES (1, 'Ana', 'ana@example.com')")
        .await;
    first.sync_converges().await;
    second
        .exec("INSERT INTO users (id, name, email) VALUES (1, 'Bo', 'bo😀@example.com')")
        .await;
    second.sync_converges().await;
    for db in [&second, &first] {
        let said = init_ok(db);
        assert!(!said.contains("email"), "{said}");
        db.sync_converges().await;
    }

    // A widening elsewhere keeps db_b's binary collation too.
    second
        .exec(
            "ALTER TABLE users MODIFY email VARCHAR(120) CHARACTER SET utf8mb4 \
             COLLATE utf8mb4_general_ci NOT NULL",
        )
        .await;
    let said = init_ok(&second);
    assert!(
        said.contains("varchar(120) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
        "{said}"
    );
    second.sync_converges().await;
    first.sync_converges().await;
}

/// A column one site widens and makes `NOT NULL` stays nullable in db_b, where another
/// site's rows hold NULLs: before, `init` copied the `NOT NULL` over (refused in the
/// strict session, and the site stopped for good; or, before the NULLs arrived, the other
/// site stopped).
#[tokio::test]
async fn a_column_made_not_null_on_one_site_keeps_the_others_nulls() {
    let (first, second) = two_sites().await;
    for db in [&first, &second] {
        db.exec("ALTER TABLE users ADD COLUMN note VARCHAR(20) NULL")
            .await;
        init_ok(db);
    }
    second
        .exec("INSERT INTO users (id, name, email) VALUES (1, 'Bo', 'bo@example.com')")
        .await;
    second.sync_converges().await;
    first
        .exec("ALTER TABLE users MODIFY note VARCHAR(40) NOT NULL DEFAULT 'd'")
        .await;
    let said = init_ok(&first);
    assert!(
        said.contains("`note` varchar(40)") && !said.contains("NOT NULL DEFAULT 'd'"),
        "{said}"
    );
    first
        .exec("INSERT INTO users (id, name, email) VALUES (1, 'Ana', 'ana@example.com')")
        .await;
    first.sync_converges().await;
    second.sync_converges().await;
    let nulls = "SELECT COUNT(*) FROM users WHERE site_id = 'shop-2' AND note IS NULL";
    assert_eq!(first.count(&first.central, nulls).await, 1);
    let said = init_ok(&first);
    assert!(!said.contains("`note`"), "{said}");
}

/// Two sites whose TEXT column is in different sets: db_b's is in the wider one (utf8mb4),
/// and large enough for the other site's characters once they take more bytes there
/// (MEDIUMTEXT: a cp1251 TEXT's 65 535 characters are up to 262 140 bytes in utf8mb4).
/// Before, `init` wrote the same TEXT again and every run ended `schema_changed`. A copy
/// again rewrites nothing: values are compared in the site's own set.
#[tokio::test]
async fn sites_with_text_in_different_character_sets_share_one_column() {
    let central = central_name();
    let mut unicode = site(&central, "shop-u").await;
    let mut cyrillic = site(&central, "shop-c").await;
    unicode
        .exec("CREATE TABLE notes (id INT PRIMARY KEY, body TEXT CHARACTER SET utf8mb4, code VARCHAR(10) CHARACTER SET utf8mb4)")
        .await;
    cyrillic
        .exec("CREATE TABLE notes (id INT PRIMARY KEY, body TEXT CHARACTER SET cp1251, code VARCHAR(10) CHARACTER SET cp1251)")
        .await;
    for db in [&mut unicode, &mut cyrillic] {
        db.set("SYNC_TABLES", "users,orders,notes");
        init_ok(db);
    }
    init_ok(&unicode);
    unicode
        .exec("INSERT INTO notes VALUES (1, '😀 note', 'u')")
        .await;
    cyrillic
        .exec("INSERT INTO notes VALUES (1, UNHEX('C8E2E0ED'), UNHEX('E0E1')), (2, REPEAT(UNHEX('C8'), 30000), 'x')")
        .await;
    for db in [&unicode, &cyrillic] {
        db.sync_converges().await;
    }
    let body =
        "SELECT COUNT(*) FROM notes WHERE site_id = 'shop-c' AND body = 'Иван' AND code = 'аб'";
    assert_eq!(cyrillic.count(&cyrillic.central, body).await, 1);
    let out = cyrillic.cli(&["resync"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("copied 0"), "{}", stdout(&out));
}

/// Two sites whose column is in sets neither of which holds the other (cp1251, latin1):
/// db_b's takes utf8mb4, which holds both. Before, each site's `init` turned it into its
/// own set, refusing the other's values.
#[tokio::test]
async fn sites_with_text_in_sets_that_do_not_nest_share_one_column() {
    let central = central_name();
    let mut cyrillic = site(&central, "shop-c").await;
    let mut western = site(&central, "shop-w").await;
    cyrillic
        .exec("CREATE TABLE labels (id INT PRIMARY KEY, v VARCHAR(20) CHARACTER SET cp1251)")
        .await;
    western
        .exec("CREATE TABLE labels (id INT PRIMARY KEY, v VARCHAR(20) CHARACTER SET latin1)")
        .await;
    cyrillic.exec("INSERT INTO labels VALUES (1, 'Жук')").await;
    western.exec("INSERT INTO labels VALUES (1, 'café')").await;
    for db in [&mut cyrillic, &mut western] {
        db.set("SYNC_TABLES", "users,orders,labels");
        init_ok(db);
        let out = db.cli(&["resync"]);
        assert!(out.status.success(), "{}", stdout(&out));
    }
    init_ok(&cyrillic);
    for db in [&cyrillic, &western] {
        db.sync_converges().await;
    }
    let both = "SELECT COUNT(*) FROM labels WHERE v IN ('Жук', 'café')";
    assert_eq!(western.count(&western.central, both).await, 2);
}
