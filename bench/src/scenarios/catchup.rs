//! `catchup`: the shop writes at a steady 1000 rows/s while offline, then comes online and
//! `dbsync sync` runs back to back while the writes go on, until the backlog is gone.

use std::time::{Duration, Instant};

use super::Ctx;
use crate::report::{Row, ms, rate, secs, thousands};
use crate::server::Pair;
use crate::writer::{Op, Writers};

const WRITERS: u64 = 4;
const PER_WRITER: u64 = 250;
const MAX_RUNS: usize = 100;

struct Phases {
    started: Instant,
    online: Instant,
    cleared: Instant,
    backlog: i64,
    runs: usize,
}

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let offline = Duration::from_secs(if ctx.quick { 10 } else { 30 });
    let pair = ctx.pair("catchup", &[]).await?;
    let result = measure(ctx, &pair, offline).await;
    pair.drop().await;
    result
}

async fn measure(ctx: &Ctx, pair: &Pair, offline: Duration) -> Result<Vec<Row>, String> {
    let writers = Writers::start(&pair.config.local, WRITERS, PER_WRITER, Op::Insert, 1).await?;
    let phases = phases(ctx, pair, offline).await;
    let written = writers.stop().await;
    let p = phases?;
    if let Some(err) = &written.first_error {
        return Err(format!("{} writes failed, first: {err}", written.errors));
    }
    // The first second warms the connections up.
    let before = written.window(p.started + Duration::from_secs(1), p.online);
    let during = written.window(p.online, p.cleared);
    let took = p.cleared - p.online;
    eprintln!(
        "catch-up: {} queued, cleared in {:.2} s",
        p.backlog,
        secs(took)
    );
    Ok(vec![
        Row::new(
            format!(
                "catch-up: {} s offline at {} writes/s ({} queued), then `dbsync sync` back to back",
                offline.as_secs(),
                WRITERS * PER_WRITER,
                thousands(p.backlog as u64)
            ),
            1,
            format!("backlog cleared in {:.2} s", secs(took)),
        )
        .ratio(format!(
            "{} run(s), ≈ {} changes/s",
            p.runs,
            rate(p.backlog as f64 / secs(took))
        )),
        Row::new(
            "catch-up: write latency offline → during catch-up",
            1,
            format!("p50 {} → {}", ms(before.p50()), ms(during.p50())),
        )
        .ratio(format!(
            "p99 {} → {} ({} writes during)",
            ms(before.p99()),
            ms(during.p99()),
            during.len()
        )),
    ])
}

async fn phases(ctx: &Ctx, pair: &Pair, offline: Duration) -> Result<Phases, String> {
    let started = Instant::now();
    tokio::time::sleep(offline / 2).await;
    let mut offline_env = pair.env.clone();
    offline_env.push(("IS_ONLINE".into(), "false".into()));
    // Offline, a run touches nothing and says so (exit 5).
    ctx.dbsync.expect(&offline_env, &["sync"], &[5]).await?;
    tokio::time::sleep(offline.saturating_sub(started.elapsed())).await;
    let backlog = pair
        .scalar("SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING'")
        .await?;
    let last_offline = pair.max_queue_id().await?;
    let online = Instant::now();
    for runs in 1..=MAX_RUNS {
        ctx.dbsync.sync(&pair.env).await?;
        let left = pair
            .scalar(&format!(
                "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING' AND id <= {last_offline}"
            ))
            .await?;
        if left == 0 {
            return Ok(Phases {
                started,
                online,
                cleared: Instant::now(),
                backlog,
                runs,
            });
        }
    }
    Err(format!("the backlog was not cleared after {MAX_RUNS} runs"))
}
