//! `history`: the same drain with a large number of old SYNCED rows in the queue. Reuses the
//! queue `drain` left after its 1 000 000-change drain when both run.

use super::Ctx;
use super::drain::drain_reps;
use crate::report::{Row, median, rate, thousands};
use crate::server::Pair;
use crate::workload;

const FRESH: u64 = 100_000;
/// Ids of the fresh changes start here, above anything the history used.
const FRESH_FIRST_ID: u64 = 10_000_000;

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let old = if ctx.quick { 200_000 } else { 1_000_000 };
    let pair = match ctx.drained_million.take() {
        Some(pair) => pair,
        None => with_history(ctx, old).await?,
    };
    let result = measure(ctx, &pair).await;
    pair.drop().await;
    let (synced, rate_with) = result?;
    let baseline = match ctx.drain_100k {
        Some(r) => r,
        None => baseline(ctx).await?,
    };
    let ratio = rate_with / baseline;
    eprintln!("drain {FRESH} over {synced} SYNCED: {rate_with:.0} changes/s ({ratio:.2}×)");
    Ok(vec![
        Row::new(
            format!(
                "drain {} changes with {} old SYNCED rows in the queue",
                thousands(FRESH),
                thousands(synced)
            ),
            ctx.reps(),
            format!("{} changes/s", rate(rate_with)),
        )
        .ratio(format!(
            "{ratio:.2} × the same drain without history ({} changes/s)",
            rate(baseline)
        ))
        .goal("≥ 0.8", ratio >= 0.8),
    ])
}

/// A pair whose queue holds `old` changes, all SYNCED: captured while the queue's default
/// status is SYNCED, so the rows are born as a drain (and InnoDB's purge) leaves them,
/// without a million-row UPDATE whose purge would run into the measurement.
async fn with_history(ctx: &Ctx, old: u64) -> Result<Pair, String> {
    let pair = ctx.pair("history", &[]).await?;
    pair.exec("ALTER TABLE sync_queue ALTER COLUMN sync_status SET DEFAULT 'SYNCED'")
        .await?;
    let queued = workload::queue_mix(&pair, old, 1).await;
    pair.exec("ALTER TABLE sync_queue ALTER COLUMN sync_status SET DEFAULT 'PENDING'")
        .await?;
    queued?;
    Ok(pair)
}

/// (SYNCED rows, median rate of draining FRESH new changes over them).
async fn measure(ctx: &Ctx, pair: &Pair) -> Result<(u64, f64), String> {
    // drain's copy of its queue (for putting it back between runs) is not history.
    pair.exec("DROP TABLE IF EXISTS bench_queue_copy").await?;
    let synced = pair
        .scalar("SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'SYNCED'")
        .await? as u64;
    let first_new = pair.max_queue_id().await? + 1;
    let queued = workload::queue_mix(pair, FRESH, FRESH_FIRST_ID).await?;
    let drains = drain_reps(ctx, pair, first_new, queued).await?;
    Ok((synced, median(&drains.rates)))
}

/// The same drain on a queue without history, when `drain` did not measure it.
async fn baseline(ctx: &Ctx) -> Result<f64, String> {
    let pair = ctx.pair("nohistory", &[]).await?;
    let result = async {
        let queued = workload::queue_mix(&pair, FRESH, 1).await?;
        drain_reps(ctx, &pair, 0, queued).await
    }
    .await;
    pair.drop().await;
    Ok(median(&result?.rates))
}
