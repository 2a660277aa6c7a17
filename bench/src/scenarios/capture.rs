//! `capture`: what the triggers cost the writer. The same writes on a synced table and on a
//! copy of it without triggers, for `users` and for the 12-column `mixed` table.

use std::time::Instant;

use dbsync::db::{self, Role};
use sqlx::{AssertSqlSafe, MySqlConnection};

use super::Ctx;
use crate::mixed_table;
use crate::report::{Row, median};
use crate::server::{Pair, settle};
use crate::workload::Table;

/// Seconds per kind of write: [single INSERTs, single UPDATEs, bulk INSERTs].
type Times = [Vec<f64>; 3];

struct Sizes {
    single: u64,
    batches: u64,
}

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let sizes = if ctx.quick {
        Sizes {
            single: 500,
            batches: 5,
        }
    } else {
        Sizes {
            single: 2000,
            batches: 20,
        }
    };
    let pair = mixed_pair(ctx, "capture").await?;
    let result = measure(ctx, &pair, &sizes).await;
    pair.drop().await;
    let [users, mixed] = result?;
    Ok(rows(ctx, &sizes, &users, &mixed))
}

/// A pair syncing users, orders and the `mixed` table.
pub async fn mixed_pair(ctx: &Ctx, tag: &str) -> Result<Pair, String> {
    let (a, b) = (
        ctx.db_name(&format!("{tag}_a")),
        ctx.db_name(&format!("{tag}_b")),
    );
    let tables = format!("users,orders,{}", mixed_table::NAME);
    let pair = Pair::new(&ctx.server, &a, &b, &[("SYNC_TABLES", &tables)]).await?;
    pair.exec(&mixed_table::create_sql(mixed_table::NAME))
        .await?;
    pair.init().await?;
    Ok(pair)
}

/// [with triggers, without] times for users, then for mixed.
async fn measure(ctx: &Ctx, pair: &Pair, sizes: &Sizes) -> Result<[[Times; 2]; 2], String> {
    pair.exec("CREATE TABLE users_plain LIKE users").await?;
    pair.exec(&format!(
        "CREATE TABLE mixed_plain LIKE {}",
        mixed_table::NAME
    ))
    .await?;
    let mut conn = db::connect_one(Role::Local, &pair.config.local)
        .await
        .map_err(|e| e.to_string())?;
    let mut times: [[Times; 2]; 2] = Default::default();
    for _ in 0..ctx.reps() {
        for (k, table) in [Table::Users, Table::Mixed].into_iter().enumerate() {
            for (t, name) in [table.name().to_string(), format!("{}_plain", table.name())]
                .iter()
                .enumerate()
            {
                empty(&mut conn, name).await?;
                settle(&pair.local).await?;
                let took = writes(&mut conn, table, name, sizes).await?;
                for (kind, secs) in took.into_iter().enumerate() {
                    times[k][t][kind].push(secs);
                }
            }
        }
    }
    Ok(times)
}

/// Empties `name` and the queue. TRUNCATE, not DELETE: a DELETE leaves the server
/// purging the old rows in the background while the next measurement runs. `orders`
/// refers to `users` (and is empty): without the check, TRUNCATE is allowed.
async fn empty(conn: &mut MySqlConnection, name: &str) -> Result<(), String> {
    exec(conn, "SET SESSION foreign_key_checks = 0").await?;
    exec(conn, &format!("TRUNCATE TABLE `{name}`")).await?;
    exec(conn, "TRUNCATE TABLE sync_queue").await?;
    exec(conn, "SET SESSION foreign_key_checks = 1").await
}

/// Times the three kinds of writes on `name`.
async fn writes(
    conn: &mut MySqlConnection,
    table: Table,
    name: &str,
    sizes: &Sizes,
) -> Result<[f64; 3], String> {
    let started = Instant::now();
    for i in 1..=sizes.single {
        exec(conn, &table.insert_sql(name, i, i + 1)).await?;
    }
    let inserts = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for i in 1..=sizes.single {
        let sql = format!("UPDATE `{name}` SET {} WHERE id = {i}", table.set_clause());
        exec(conn, &sql).await?;
    }
    let updates = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for b in 0..sizes.batches {
        let first = 1_000_000 + b * 1000;
        exec(conn, &table.insert_sql(name, first, first + 1000)).await?;
    }
    Ok([inserts, updates, started.elapsed().as_secs_f64()])
}

async fn exec(conn: &mut MySqlConnection, sql: &str) -> Result<(), String> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| format!("capture: {e}"))
}

fn rows(ctx: &Ctx, sizes: &Sizes, users: &[Times; 2], mixed: &[Times; 2]) -> Vec<Row> {
    let kinds = [
        (
            format!("{} single-row autocommit INSERTs", sizes.single),
            1.3,
        ),
        (
            format!("{} single-row autocommit UPDATEs", sizes.single),
            1.3,
        ),
        (format!("{} × 1000-row INSERTs", sizes.batches), 2.5),
    ];
    let mut rows = Vec::new();
    for (kind, (label, goal)) in kinds.iter().enumerate() {
        for (table, times) in [("users", users), ("mixed (12 columns)", mixed)] {
            let (with, without) = (median(&times[0][kind]), median(&times[1][kind]));
            let ratio = with / without;
            rows.push(
                Row::new(
                    format!("capture, {table}: {label}"),
                    ctx.reps(),
                    format!(
                        "{:.0} ms with triggers, {:.0} ms without",
                        with * 1000.0,
                        without * 1000.0
                    ),
                )
                .ratio(format!("{ratio:.2}×"))
                .goal(&format!("≤ {goal}×"), ratio <= *goal),
            );
        }
    }
    rows
}
