//! `load`: the initial load. db_a filled with users and orders by plain SQL, then the real
//! `dbsync resync` copies them into an empty db_b while a shop writer keeps writing;
//! beside it the server's own `INSERT … SELECT`, and the writer's latency idle, during the
//! load and during the server's own copy (what the same writer sees beside the limit).

use std::time::{Duration, Instant};

use super::Ctx;
use crate::report::{Latencies, Row, median, ms, rate, secs, thousands};
use crate::server::Pair;
use crate::workload;
use crate::writer::{Op, Writers};

/// Writes per second of the shop writer (single-row autocommit, INSERT and UPDATE in turn).
const WRITER_RATE: u64 = 200;

struct Rep {
    rate: f64,
    limit: f64,
    peak_rss_mib: f64,
    during: Latencies,
    /// The writer during the server's own copy.
    beside_limit: Latencies,
}

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let rows = if ctx.quick { 100_000 } else { 500_000 };
    let pair = filled_pair(ctx, rows).await?;
    let result = measure(ctx, &pair, rows).await;
    pair.drop().await;
    result
}

/// Users and orders inserted before `dbsync init` installs the triggers: nothing queued.
async fn filled_pair(ctx: &Ctx, rows: u64) -> Result<Pair, String> {
    let (a, b) = (ctx.db_name("load_a"), ctx.db_name("load_b"));
    let pair = Pair::new(&ctx.server, &a, &b, &[]).await?;
    dbsync::db::schema::apply_local_schema(&pair.local)
        .await
        .map_err(|e| format!("db_a schema: {e}"))?;
    dbsync::db::schema::apply_sample_tables(&pair.local, &["users", "orders"])
        .await
        .map_err(|e| format!("db_a schema: {e}"))?;
    let started = Instant::now();
    workload::fill_users_orders(&pair, rows, rows).await?;
    eprintln!(
        "load: filled {rows} users and {rows} orders in {:.1} s",
        secs(started.elapsed())
    );
    pair.init().await?;
    Ok(pair)
}

async fn measure(ctx: &Ctx, pair: &Pair, rows: u64) -> Result<Vec<Row>, String> {
    nothing_to_drain(ctx, pair).await?;
    let idle = idle_writer(
        pair,
        rows,
        Duration::from_secs(if ctx.quick { 3 } else { 5 }),
    )
    .await?;
    let mut reps = Vec::new();
    for rep in 0..ctx.reps() {
        if rep > 0 {
            pair.recreate_central().await?;
        }
        reps.push(one_load(ctx, pair, rows, rep as u64).await?);
    }
    ctx.dbsync.sync(&pair.env).await?;
    let verified = ctx.dbsync.run(&pair.env, &["verify"]).await?;
    Ok(report(ctx, rows, &idle, &reps, &verified))
}

/// The bulk fill left nothing for `dbsync sync` to do.
async fn nothing_to_drain(ctx: &Ctx, pair: &Pair) -> Result<(), String> {
    let queued = pair.scalar("SELECT COUNT(*) FROM sync_queue").await?;
    let run = ctx.dbsync.sync(&pair.env).await?;
    if queued != 0 || !run.stdout.contains("applied 0,") {
        return Err(format!(
            "after the bulk fill the queue holds {queued} rows and `dbsync sync` said: {}",
            run.stdout.trim()
        ));
    }
    Ok(())
}

async fn idle_writer(pair: &Pair, users: u64, time: Duration) -> Result<Latencies, String> {
    let op = Op::InsertUpdate { users };
    let writers = Writers::start(&pair.config.local, 1, WRITER_RATE, op, 5_000_000_000).await?;
    let started = Instant::now();
    tokio::time::sleep(time).await;
    let written = writers.stop().await;
    if let Some(err) = written.first_error {
        return Err(format!("idle writer: {err}"));
    }
    Ok(written.window(started + Duration::from_millis(500), Instant::now()))
}

async fn one_load(ctx: &Ctx, pair: &Pair, rows: u64, rep: u64) -> Result<Rep, String> {
    crate::server::settle(&pair.local).await?;
    let op = Op::InsertUpdate { users: rows };
    let base = 10_000_000_000 + rep * 1_000_000_000;
    let writers = Writers::start(&pair.config.local, 1, WRITER_RATE, op, base).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let copy_started = Instant::now();
    let copy = workload::copy_limit(pair, &["users", "orders"]).await;
    let copy_ended = Instant::now();
    let written = writers.stop().await;
    let (copied, took) = copy?;
    if let Some(err) = written.first_error {
        return Err(format!("writer during the server's own copy: {err}"));
    }
    let beside_limit = written.window(copy_started, copy_ended);
    crate::server::settle(&pair.local).await?;
    let writers =
        Writers::start(&pair.config.local, 1, WRITER_RATE, op, base + 500_000_000).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let resync = ctx.dbsync.expect(&pair.env, &["resync"], &[0]).await;
    let ended = Instant::now();
    let written = writers.stop().await;
    let resync = resync?;
    if let Some(err) = written.first_error {
        return Err(format!("writer during the load: {err}"));
    }
    // The rows db_a held when the load started (the copy just counted them).
    let rate = copied as f64 / secs(resync.elapsed);
    eprintln!(
        "load rep {rep}: {rate:.0} rows/s, limit {:.0} rows/s ({})",
        copied as f64 / secs(took),
        resync.stdout.trim()
    );
    Ok(Rep {
        rate,
        limit: copied as f64 / secs(took),
        peak_rss_mib: resync.peak_rss_mib,
        during: written.window(started, ended),
        beside_limit,
    })
}

fn report(
    ctx: &Ctx,
    rows: u64,
    idle: &Latencies,
    reps: &[Rep],
    verified: &crate::child::Finished,
) -> Vec<Row> {
    let n = ctx.reps();
    let pick = |f: &dyn Fn(&Rep) -> f64| median(&reps.iter().map(f).collect::<Vec<_>>());
    let (rate_, limit) = (pick(&|r| r.rate), pick(&|r| r.limit));
    let ratio = rate_ / limit;
    let (p50, p99) = (pick(&|r| r.during.p50()), pick(&|r| r.during.p99()));
    let worst = reps.iter().map(|r| r.during.max()).fold(f64::NAN, f64::max);
    let peak = reps.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max);
    let p99_ratio = p99 / idle.p99();
    let limit_p99 = pick(&|r| r.beside_limit.p99());
    let equal = verified.code == Some(0);
    let total = thousands(2 * rows);
    vec![
        Row::new(format!("initial load: `dbsync resync` of {total} rows ({} users + {} orders) into an empty db_b", thousands(rows), thousands(rows)), n, format!("{} rows/s", rate(rate_)))
            .ratio(format!("{ratio:.2} × INSERT…SELECT ({} rows/s)", rate(limit)))
            .goal("≥ 0.4 × INSERT…SELECT", ratio >= 0.4),
        Row::new(format!("initial load: shop writer ({WRITER_RATE}/s single-row INSERT/UPDATE on users) p50 idle → during"), n, format!("{} → {}", ms(idle.p50()), ms(p50))),
        Row::new("initial load: shop writer p99 idle → during", n, format!("{} → {}", ms(idle.p99()), ms(p99)))
            .ratio(format!("{p99_ratio:.2} × idle"))
            .goal("≤ 3 × idle p99", p99_ratio <= 3.0),
        Row::new("initial load: shop writer p99 during the server's own INSERT…SELECT copy (the limit)", n, ms(limit_p99))
            .ratio(format!("{:.2} × idle; the load's p99 is {:.2} × it", limit_p99 / idle.p99(), p99 / limit_p99)),
        Row::new("initial load: shop writer max latency during the load (worst run)", n, ms(worst))
            .ratio(format!("idle max {}", ms(idle.max())))
            .goal("≤ 100 ms", worst <= 100.0),
        Row::new("peak RSS of `dbsync resync`", n, format!("{peak:.1} MiB")),
        Row::new("initial load: db_b equals db_a afterwards (`dbsync verify`)", 1, if equal { "equal".to_string() } else { verified.describe() })
            .goal("exit 0", equal),
    ]
}
