//! Changes queued by plain SQL through the triggers, bulk fills, and the server's own copy
//! rate (`INSERT … SELECT`) to compare the engine with.

use std::time::{Duration, Instant};

use crate::mixed_table;
use crate::server::{self, Pair};

/// Rows per multi-row INSERT, and per ranged UPDATE/DELETE.
const INSERT_ROWS: u64 = 1000;
const RANGE_ROWS: u64 = 5000;

/// `[start, end)` ranges of at most `size` covering `count` ids from `first`.
fn chunks(first: u64, count: u64, size: u64) -> Vec<(u64, u64)> {
    let end = first + count;
    (first..end)
        .step_by(size.max(1) as usize)
        .map(|s| (s, (s + size).min(end)))
        .collect()
}

fn user_rows(start: u64, end: u64) -> String {
    (start..end)
        .map(|i| format!("({i},'Customer {i}','customer{i}@example.com')"))
        .collect::<Vec<_>>()
        .join(",")
}

fn order_rows(start: u64, end: u64, first_user: u64, users: u64) -> String {
    (start..end)
        .map(|i| {
            let user = first_user + i % users.max(1);
            format!("({i},{user},{}.{:02},'pending')", i % 5000, i % 100)
        })
        .collect::<Vec<_>>()
        .join(",")
}

async fn insert_users(pair: &Pair, first: u64, count: u64, size: u64) -> Result<(), String> {
    for (start, end) in chunks(first, count, size) {
        let sql = format!(
            "INSERT INTO users (id, name, email) VALUES {}",
            user_rows(start, end)
        );
        pair.exec(&sql).await?;
    }
    Ok(())
}

async fn insert_orders(
    pair: &Pair,
    first: u64,
    count: u64,
    users: (u64, u64),
) -> Result<(), String> {
    for (start, end) in chunks(first, count, INSERT_ROWS) {
        let sql = format!(
            "INSERT INTO orders (id, user_id, amount, status) VALUES {}",
            order_rows(start, end, users.0, users.1)
        );
        pair.exec(&sql).await?;
    }
    Ok(())
}

async fn ranged(pair: &Pair, template: &str, first: u64, count: u64) -> Result<(), String> {
    for (start, end) in chunks(first, count, RANGE_ROWS) {
        let sql = template
            .replace("{start}", &start.to_string())
            .replace("{end}", &end.to_string());
        pair.exec(&sql).await?;
    }
    Ok(())
}

/// Queues about `changes` changes of users and orders by plain SQL: 35% user inserts, 35%
/// order inserts, 10% user updates, 15% order updates, 5% order deletes, ids from
/// `first_id`. Returns the changes queued.
pub async fn queue_mix(pair: &Pair, changes: u64, first_id: u64) -> Result<u64, String> {
    let users = changes * 35 / 100;
    let orders = changes * 35 / 100;
    let user_updates = (changes * 10 / 100).min(users);
    let order_updates = (changes * 15 / 100).min(orders);
    let deletes = (changes - users - orders - user_updates - order_updates).min(orders);
    let before = queued(pair).await?;
    insert_users(pair, first_id, users, INSERT_ROWS).await?;
    insert_orders(pair, first_id, orders, (first_id, users)).await?;
    let set_name = "UPDATE users SET name = CONCAT(name, ' *') WHERE id >= {start} AND id < {end}";
    ranged(pair, set_name, first_id, user_updates).await?;
    let ship = "UPDATE orders SET status = 'shipped' WHERE id >= {start} AND id < {end}";
    ranged(pair, ship, first_id, order_updates).await?;
    let delete = "DELETE FROM orders WHERE id >= {start} AND id < {end}";
    ranged(pair, delete, first_id + orders - deletes, deletes).await?;
    Ok((queued(pair).await? - before) as u64)
}

/// A table whose changes make a single-table mix.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Mixed,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Mixed => mixed_table::NAME,
        }
    }

    /// A multi-row INSERT of ids `[start, end)` into `table` (this table or a copy of it).
    pub fn insert_sql(self, table: &str, start: u64, end: u64) -> String {
        match self {
            Table::Users => format!(
                "INSERT INTO `{table}` (id, name, email) VALUES {}",
                user_rows(start, end)
            ),
            Table::Mixed => {
                let rows: Vec<String> = (start..end).map(mixed_table::row).collect();
                format!(
                    "INSERT INTO `{table}` ({}) VALUES {}",
                    mixed_table::COLUMNS,
                    rows.join(",")
                )
            }
        }
    }

    pub fn set_clause(self) -> &'static str {
        match self {
            Table::Users => "name = CONCAT(name, ' *')",
            Table::Mixed => mixed_table::update_set(),
        }
    }
}

/// Queues about `changes` changes of one table: 70% inserts, 25% updates, 5% deletes.
pub async fn queue_table_mix(
    pair: &Pair,
    table: Table,
    changes: u64,
    first_id: u64,
) -> Result<u64, String> {
    let inserts = changes * 70 / 100;
    let updates = (changes * 25 / 100).min(inserts);
    let deletes = (changes - inserts - updates).min(inserts);
    let before = queued(pair).await?;
    for (start, end) in chunks(first_id, inserts, INSERT_ROWS) {
        pair.exec(&table.insert_sql(table.name(), start, end))
            .await?;
    }
    let name = table.name();
    let update = format!(
        "UPDATE `{name}` SET {} WHERE id >= {{start}} AND id < {{end}}",
        table.set_clause()
    );
    ranged(pair, &update, first_id, updates).await?;
    let delete = format!("DELETE FROM `{name}` WHERE id >= {{start}} AND id < {{end}}");
    ranged(pair, &delete, first_id + inserts - deletes, deletes).await?;
    Ok((queued(pair).await? - before) as u64)
}

async fn queued(pair: &Pair) -> Result<i64, String> {
    pair.scalar("SELECT COUNT(*) FROM sync_queue").await
}

/// `users` users and as many orders, ids from 1, in statements of 5000 rows (before the
/// triggers exist, so nothing is queued).
pub async fn fill_users_orders(pair: &Pair, users: u64, orders: u64) -> Result<(), String> {
    insert_users(pair, 1, users, RANGE_ROWS).await?;
    for (start, end) in chunks(1, orders, RANGE_ROWS) {
        let sql = format!(
            "INSERT INTO orders (id, user_id, amount, status) VALUES {}",
            order_rows(start, end, 1, users)
        );
        pair.exec(&sql).await?;
    }
    Ok(())
}

/// The server's own limit: rows and time to copy db_a's `tables` into empty tables of the
/// same shape (no triggers) in a scratch database, one `INSERT … SELECT` per table.
pub async fn copy_limit(pair: &Pair, tables: &[&str]) -> Result<(u64, Duration), String> {
    let a = &pair.config.local.database;
    let copy = format!("{a}_copy");
    let target = pair.scratch_database(&copy);
    let mut setup = format!("DROP DATABASE IF EXISTS `{copy}`; CREATE DATABASE `{copy}`;");
    for table in tables {
        setup.push_str(&format!(
            "CREATE TABLE `{copy}`.`{table}` LIKE `{a}`.`{table}`;"
        ));
    }
    pair.exec(&setup).await?;
    let started = Instant::now();
    let mut rows = 0;
    for table in tables {
        rows += pair
            .exec(&format!(
                "INSERT INTO `{copy}`.`{table}` SELECT * FROM `{a}`.`{table}`"
            ))
            .await?;
    }
    let elapsed = started.elapsed();
    server::drop_database(&target)
        .await
        .map_err(|e| format!("dropping {copy}: {e}"))?;
    Ok((rows, elapsed))
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_cover_the_range() {
        assert_eq!(super::chunks(1, 5, 2), vec![(1, 3), (3, 5), (5, 6)]);
        assert!(super::chunks(1, 0, 2).is_empty());
    }
}
