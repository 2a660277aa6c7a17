//! Writers for stress tests, and dump/restore of db_a with the server's own tools.

use std::path::PathBuf;
use std::process::Command;

use rand::Rng;
use sqlx::Connection;
use sqlx::mysql::MySqlPool;

use crate::helpers::TestDb;

/// One random multi-statement transaction on users and orders, as a legacy tool would
/// write it: new users with orders, renames, an email swap through a temporary value,
/// orders moved between users, deletes; about one in eight is rolled back. Conflicts
/// between writers (deadlocks, duplicate keys) just roll the transaction back.
pub async fn one_transaction(pool: &MySqlPool, writer: u64, round: u64) -> Result<(), sqlx::Error> {
    // Drawn before the first await: the thread's generator stays on its thread.
    let (user, other, kind, orders, roll_back) = {
        let mut rng = rand::rng();
        (
            rng.random_range(1..=200i64),
            rng.random_range(1..=200i64),
            rng.random_range(0..6),
            rng.random_range(1..=3i64),
            rng.random_range(0..8) == 0,
        )
    };
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    match kind {
        0 => {
            let id = 1_000_000 * (writer as i64 + 1) + round as i64;
            sqlx::query("INSERT INTO users (id, name, email) VALUES (?, ?, ?)")
                .bind(id)
                .bind(format!("w{writer} r{round}"))
                .bind(format!("w{writer}r{round}@x.io"))
                .execute(&mut *tx)
                .await?;
            for n in 0..orders {
                sqlx::query(
                    "INSERT INTO orders (user_id, amount, status) VALUES (?, ?, 'pending')",
                )
                .bind(id)
                .bind(rust_decimal::Decimal::new(100 + n, 2))
                .execute(&mut *tx)
                .await?;
            }
        }
        1 => {
            sqlx::query("UPDATE users SET name = CONCAT('renamed ', ?) WHERE id = ?")
                .bind(round)
                .bind(user)
                .execute(&mut *tx)
                .await?;
        }
        2 if user != other => {
            let emails: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, email FROM users WHERE id IN (?, ?) ORDER BY id FOR UPDATE",
            )
            .bind(user)
            .bind(other)
            .fetch_all(&mut *tx)
            .await?;
            if let [(a, ea), (b, eb)] = emails.as_slice() {
                let temporary = format!("swap-{writer}-{round}@x.io");
                for (id, email) in [(a, &temporary), (b, ea), (a, eb)] {
                    sqlx::query("UPDATE users SET email = ? WHERE id = ?")
                        .bind(email)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        3 => {
            sqlx::query(
                "UPDATE orders SET user_id = ?, status = 'shipped' WHERE user_id = ? LIMIT 1",
            )
            .bind(other)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        }
        4 => {
            sqlx::query("DELETE FROM orders WHERE user_id = ? LIMIT 1")
                .bind(user)
                .execute(&mut *tx)
                .await?;
        }
        _ => {
            sqlx::query("UPDATE orders SET amount = amount + 1 WHERE user_id IN (?, ?)")
                .bind(user)
                .bind(other)
                .execute(&mut *tx)
                .await?;
        }
    }
    if roll_back {
        tx.rollback().await
    } else {
        tx.commit().await
    }
}

fn client_args(db: &TestDb) -> Vec<String> {
    let env = &db.env;
    let mut args = vec![
        "--protocol=TCP".to_string(),
        format!("-h{}", env["DB_HOST"]),
        format!("-P{}", env["DB_PORT"]),
        format!("-u{}", env["DB_USER"]),
    ];
    if !env["DB_PASSWORD"].is_empty() {
        args.push(format!("-p{}", env["DB_PASSWORD"]));
    }
    args
}

/// A dump of db_a with `mariadb-dump` (tables, triggers, data, AUTO_INCREMENT positions),
/// as an operator's nightly backup would be.
pub fn dump(db: &TestDb) -> PathBuf {
    let path = std::env::temp_dir().join(format!("dbsync-dump-{}.sql", db.config.local.database));
    let output = Command::new("mariadb-dump")
        .args(client_args(db))
        .args([
            "--single-transaction",
            "--triggers",
            &db.config.local.database,
        ])
        .output()
        .expect("mariadb-dump runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(&path, output.stdout).expect("write dump");
    path
}

/// Restores db_a from `dump`, as after a site's disk died.
pub fn restore(db: &TestDb, dump: &PathBuf) {
    let sql = std::fs::read(dump).expect("read dump");
    let mut child = Command::new("mariadb")
        .args(client_args(db))
        .arg(&db.config.local.database)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("mariadb runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&sql)
        .expect("feed dump");
    assert!(
        child.wait().expect("mariadb ends").success(),
        "restore failed"
    );
    let _ = std::fs::remove_file(dump);
}
