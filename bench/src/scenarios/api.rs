//! `api`: `dbsync serve` as a child on a free port under keep-alive HTTP/1.1 load from this
//! process, beside the same INSERT from plain database connections; and serve's memory.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dbsync::db::{self, Role};

use super::Ctx;
use crate::child::{self, free_port, rss_mib};
use crate::http_load::{self, Kind, LoadResult};
use crate::report::{Latencies, Row, ms, rate};
use crate::server::Pair;

const USERS: u64 = 1000;
const CONCURRENCY: [u32; 3] = [1, 16, 64];
const PLAIN_CONNECTIONS: u64 = 16;

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let pair = ctx.pair("api", &[]).await?;
    let result = measure(ctx, &pair).await;
    pair.drop().await;
    result
}

async fn measure(ctx: &Ctx, pair: &Pair) -> Result<Vec<Row>, String> {
    let values: Vec<String> = (1..=USERS)
        .map(|i| format!("({i},'Reader {i}','reader{i}@example.com')"))
        .collect();
    pair.exec(&format!(
        "INSERT INTO users (id, name, email) VALUES {}",
        values.join(",")
    ))
    .await?;
    let port = free_port()?;
    let mut env = pair.env.clone();
    env.push(("PORT".into(), port.to_string()));
    let mut serve = ctx.dbsync.spawn(&env, &["serve"])?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let outcome = async {
        wait_for_port(addr).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle = rss_mib(&serve, "VmRSS:");
        let cells = load_cells(ctx, &format!("http://{addr}")).await?;
        let peak = rss_mib(&serve, "VmHWM:");
        Ok::<_, String>((idle, peak, cells))
    }
    .await;
    child::stop(&mut serve).await;
    let (idle, peak, cells) = outcome?;
    let duration = cell_duration(ctx);
    let plain = plain_inserts(pair, duration).await?;
    Ok(rows(&cells, &plain, idle, peak, duration))
}

fn cell_duration(ctx: &Ctx) -> Duration {
    Duration::from_secs(if ctx.quick { 1 } else { 5 })
}

async fn wait_for_port(addr: SocketAddr) -> Result<(), String> {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("dbsync serve did not listen on {addr} within 15 s"))
}

async fn load_cells(ctx: &Ctx, base: &str) -> Result<Vec<(Kind, u32, LoadResult)>, String> {
    let mut cells = Vec::new();
    for kind in Kind::ALL {
        for concurrency in CONCURRENCY {
            let tag = format!("{}-{concurrency}", ctx.run_id);
            let result =
                http_load::run(base, kind, concurrency, cell_duration(ctx), USERS, &tag).await?;
            eprintln!(
                "{} c={concurrency}: {:.0} req/s p50 {:.2} ms p99 {:.2} ms errors {}{}",
                kind.label(),
                result.per_second,
                result.latencies.p50(),
                result.latencies.p99(),
                result.errors,
                result
                    .first_error
                    .as_deref()
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default()
            );
            cells.push((kind, concurrency, result));
        }
    }
    Ok(cells)
}

/// Single-row INSERTs into users (triggers firing) from 16 plain connections: rows/s and
/// latencies.
async fn plain_inserts(pair: &Pair, duration: Duration) -> Result<(f64, Latencies), String> {
    let mut conns = Vec::new();
    for _ in 0..PLAIN_CONNECTIONS {
        conns.push(
            db::connect_one(Role::Local, &pair.config.local)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(worker, conn)| tokio::spawn(plain_writer(conn, worker as u64, deadline)))
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.append(&mut task.await.map_err(|e| format!("plain writer: {e}"))??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((all.len() as f64 / elapsed, Latencies::new(all)))
}

async fn plain_writer(
    mut conn: sqlx::MySqlConnection,
    worker: u64,
    deadline: Instant,
) -> Result<Vec<f64>, String> {
    let mut latencies = Vec::new();
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let started = Instant::now();
        sqlx::query("INSERT INTO users (name, email) VALUES (?, ?)")
            .bind(format!("Plain {worker}-{n}"))
            .bind(format!("plain-{worker}-{n}@example.com"))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("plain INSERT: {e}"))?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(latencies)
}

fn rows(
    cells: &[(Kind, u32, LoadResult)],
    plain: &(f64, Latencies),
    idle: f64,
    peak: f64,
    duration: Duration,
) -> Vec<Row> {
    let secs = duration.as_secs();
    let mut rows: Vec<Row> = cells
        .iter()
        .map(|(kind, c, r)| {
            Row::new(
                format!("API {} at concurrency {c} ({secs} s)", kind.label()),
                1,
                format!("{} req/s", rate(r.per_second)),
            )
            .ratio(format!(
                "p50 {}, p99 {}, {} errors",
                ms(r.latencies.p50()),
                ms(r.latencies.p99()),
                r.errors
            ))
            .goal("no errors", r.errors == 0)
        })
        .collect();
    rows.extend(beside_plain(cells, plain, secs));
    rows.push(
        Row::new("`dbsync serve` RSS, idle", 1, format!("{idle:.1} MiB"))
            .goal("≤ 25 MiB", idle <= 25.0),
    );
    rows.push(
        Row::new(
            "`dbsync serve` peak RSS under the load above",
            1,
            format!("{peak:.1} MiB"),
        )
        .goal("≤ 64 MiB", peak <= 64.0),
    );
    rows
}

/// The plain INSERTs, POST /users at 16 beside them, and the POST p99 at 16.
fn beside_plain(
    cells: &[(Kind, u32, LoadResult)],
    plain: &(f64, Latencies),
    secs: u64,
) -> Vec<Row> {
    let at16 = |k: &str| {
        cells
            .iter()
            .find(|(kind, c, _)| kind.label() == k && *c == 16)
            .map(|x| &x.2)
    };
    let (plain_rate, plain_lat) = plain;
    let mut rows = vec![
        Row::new(
            format!("plain SQL: single-row INSERT into users from {PLAIN_CONNECTIONS} connections ({secs} s)"),
            1,
            format!("{} rows/s", rate(*plain_rate)),
        )
        .ratio(format!("p50 {}, p99 {}", ms(plain_lat.p50()), ms(plain_lat.p99()))),
    ];
    if let Some(post) = at16("POST /users") {
        let ratio = post.per_second / plain_rate;
        rows.push(
            Row::new(
                "POST /users at 16 ÷ plain INSERTs at 16",
                1,
                format!("{ratio:.2}×"),
            )
            .ratio(format!(
                "{} vs {} rows/s",
                rate(post.per_second),
                rate(*plain_rate)
            ))
            .goal("≥ 0.5×", ratio >= 0.5),
        );
    }
    let worst = ["POST /users", "POST /orders"]
        .iter()
        .filter_map(|k| at16(k))
        .map(|r| r.latencies.p99())
        .fold(f64::NAN, f64::max);
    rows.push(
        Row::new(
            "POST p99 at concurrency 16 (worse of /users and /orders)",
            1,
            ms(worst),
        )
        .goal("≤ 5 ms", worst <= 5.0),
    );
    rows
}
