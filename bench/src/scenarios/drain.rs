//! `drain`: a realistic mix queued by plain SQL through the triggers, drained by the real
//! `dbsync sync` into an empty db_b, beside the server copying the same rows itself.

use super::Ctx;
use crate::cpu::{self, ServerCpu, ServerThreads};
use crate::report::{Row, median, rate, secs, thousands};
use crate::server::Pair;
use crate::workload;

/// What repeated drains of one queue measured.
pub struct Drains {
    /// Changes per second, one per repetition.
    pub rates: Vec<f64>,
    pub peak_rss_mib: f64,
    /// `dbsync`'s own CPU seconds, one per repetition.
    pub client_cpu: Vec<f64>,
    /// The server's CPU during each drain (when it runs on this machine).
    pub server_cpu: Vec<ServerCpu>,
}

/// What one drain measured.
pub struct DrainRun {
    pub rate: f64,
    pub peak_rss_mib: f64,
    pub client_cpu: f64,
    pub server_cpu: Option<ServerCpu>,
}

/// Drains the changes from `from_queue_id` on (`queued` of them) `reps` times, each time
/// into an empty db_b with the changes PENDING again.
pub async fn drain_reps(
    ctx: &Ctx,
    pair: &Pair,
    from_queue_id: i64,
    queued: u64,
) -> Result<Drains, String> {
    let mut drains = Drains::new();
    for _ in 0..ctx.reps() {
        drains.add(&drain_once(ctx, pair, from_queue_id, queued).await?);
    }
    Ok(drains)
}

impl Drains {
    pub fn new() -> Self {
        Drains {
            rates: Vec::new(),
            peak_rss_mib: 0.0,
            client_cpu: Vec::new(),
            server_cpu: Vec::new(),
        }
    }

    pub fn add(&mut self, run: &DrainRun) {
        self.rates.push(run.rate);
        self.peak_rss_mib = self.peak_rss_mib.max(run.peak_rss_mib);
        self.client_cpu.push(run.client_cpu);
        self.server_cpu.extend(run.server_cpu);
    }
}

/// One drain of the changes from `from_queue_id` on into an empty db_b.
pub async fn drain_once(
    ctx: &Ctx,
    pair: &Pair,
    from_queue_id: i64,
    queued: u64,
) -> Result<DrainRun, String> {
    pair.reset_drain(from_queue_id).await?;
    drain_queued(ctx, pair, queued).await
}

/// One drain of the `queued` PENDING changes, db_b and the queue already set up.
pub async fn drain_queued(ctx: &Ctx, pair: &Pair, queued: u64) -> Result<DrainRun, String> {
    let before = ctx.server_threads.as_ref().map(ServerThreads::snapshot);
    let run = ctx.dbsync.sync(&pair.env).await?;
    let server_cpu = ctx
        .server_threads
        .as_ref()
        .zip(before)
        .map(|(threads, before)| cpu::spent(&before, &threads.snapshot()));
    let left = pair.pending().await?;
    if left != 0 {
        return Err(format!(
            "`dbsync sync` left {left} changes unsynced ({})",
            run.describe()
        ));
    }
    Ok(DrainRun {
        rate: queued as f64 / secs(run.elapsed),
        peak_rss_mib: run.peak_rss_mib,
        client_cpu: run.cpu_secs,
        server_cpu,
    })
}

/// db_a and db_b hold as many rows of `table`.
pub async fn check_counts(pair: &Pair, table: &str) -> Result<(), String> {
    let sql = format!("SELECT COUNT(*) FROM `{table}`");
    let (a, b) = (
        pair.scalar(&sql).await?,
        crate::server::scalar(&pair.central, &sql).await?,
    );
    if a == b {
        Ok(())
    } else {
        Err(format!("after the drain db_a has {a} {table}, db_b {b}"))
    }
}

struct SizeFigures {
    rate: f64,
    limit: f64,
    /// The median of each repetition's drain ÷ copy: the machine's speed drifts over
    /// minutes, and a drain is compared with the copy timed right after it.
    ratio: f64,
    peak_rss_mib: f64,
}

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let sizes: &[u64] = if ctx.quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    let mut rows = Vec::new();
    let mut rates = Vec::new();
    for &size in sizes {
        let figures = one_size(ctx, size).await?;
        eprintln!(
            "drain {size}: {:.0} changes/s, limit {:.0} rows/s, peak RSS {:.1} MiB",
            figures.rate, figures.limit, figures.peak_rss_mib
        );
        rows.extend(size_rows(ctx, size, &figures, sizes));
        rates.push((size, figures.rate));
    }
    if let Some(&(_, r100k)) = rates.iter().find(|(s, _)| *s == 100_000) {
        ctx.drain_100k = Some(r100k);
        if let Some(&(_, r1m)) = rates.iter().find(|(s, _)| *s == 1_000_000) {
            let ratio = r1m / r100k;
            rows.push(
                Row::new(
                    "scaling: drain rate at 1 000 000 ÷ rate at 100 000",
                    ctx.reps(),
                    format!("{ratio:.2}"),
                )
                .goal("≥ 0.8", ratio >= 0.8),
            );
        }
    }
    Ok(rows)
}

async fn one_size(ctx: &mut Ctx, size: u64) -> Result<SizeFigures, String> {
    let pair = ctx.pair(&format!("drain{size}"), &[]).await?;
    let queued = workload::queue_mix(&pair, size, 1).await?;
    let mut drains = Drains::new();
    let (mut limits, mut ratios) = (Vec::new(), Vec::new());
    for _ in 0..ctx.reps() {
        let run = drain_once(ctx, &pair, 0, queued).await?;
        let rate = run.rate;
        drains.add(&run);
        let (copied, took) = workload::copy_limit(&pair, &["users", "orders"]).await?;
        let limit = copied as f64 / secs(took);
        limits.push(limit);
        ratios.push(rate / limit);
    }
    check_counts(&pair, "users").await?;
    check_counts(&pair, "orders").await?;
    if size == 1_000_000 && ctx.wants("history") {
        ctx.drained_million = Some(pair);
    } else {
        pair.drop().await;
    }
    Ok(SizeFigures {
        rate: median(&drains.rates),
        limit: median(&limits),
        ratio: median(&ratios),
        peak_rss_mib: drains.peak_rss_mib,
    })
}

fn size_rows(ctx: &Ctx, size: u64, f: &SizeFigures, sizes: &[u64]) -> Vec<Row> {
    let ratio = f.ratio;
    let mut drain = Row::new(
        format!(
            "drain {} changes (`dbsync sync`, ≈70% inserts, 25% updates, 5% deletes)",
            thousands(size)
        ),
        ctx.reps(),
        format!("{} changes/s", rate(f.rate)),
    )
    .ratio(format!(
        "{ratio:.2} × INSERT…SELECT ({} rows/s; median of each run's ratio to the copy timed right after it)",
        rate(f.limit)
    ));
    if size == 100_000 {
        drain = drain.goal("≥ 0.3 × INSERT…SELECT", ratio >= 0.3);
    }
    let mut rss = Row::new(
        format!("peak RSS of `dbsync sync`, {} changes", thousands(size)),
        ctx.reps(),
        format!("{:.1} MiB", f.peak_rss_mib),
    );
    if Some(&size) == sizes.last() {
        rss = rss.goal("≤ 64 MiB", f.peak_rss_mib <= 64.0);
    }
    vec![drain, rss]
}
