//! `sites`: N sites, each its own db_a with `SITE_ID=site-k` and 100 000 queued changes,
//! draining at once into one standalone central; optionally (`--galera`) into the 3-node
//! Galera cluster.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{Ctx, galera};
use crate::child::Dbsync;
use crate::report::{Row, median, rate, secs, thousands};
use crate::server::{self, Env, Pair, Server};
use crate::workload;

pub const CHANGES: u64 = 100_000;
/// Runs per site before a drain counts as stuck.
const MAX_RUNS: usize = 10;

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let counts: &[usize] = if ctx.quick { &[1, 3] } else { &[1, 3, 10] };
    let max = counts.iter().copied().max().unwrap_or(1);
    let central = ctx.db_name("sites_central");
    let mut sites = Vec::new();
    let mut queued = 0;
    let started = Instant::now();
    for k in 1..=max {
        let pair = site_pair(ctx, k, &central, &[]).await?;
        queued = workload::queue_mix(&pair, CHANGES, 1).await?;
        sites.push(pair);
    }
    eprintln!(
        "sites: {max} sites filled in {:.1} s",
        secs(started.elapsed())
    );
    let standalone = Central {
        label: "a standalone central",
        nodes: None,
    };
    let result = measure(ctx, &sites, counts, queued, &standalone).await;
    let galera = if ctx.galera && result.is_ok() {
        galera::run(ctx, counts, queued).await
    } else {
        Vec::new()
    };
    for pair in sites {
        pair.drop().await;
    }
    let mut rows = result?;
    rows.extend(galera);
    Ok(rows)
}

/// Site `k`'s pair: db_a `site<k>_a` with `SITE_ID=site-<k>`, db_b `central`; `extra`
/// settings (where db_b lives) win.
pub async fn site_pair(
    ctx: &Ctx,
    k: usize,
    central: &str,
    extra: &[(&str, &str)],
) -> Result<Pair, String> {
    let site = format!("site-{k}");
    let mut settings = vec![("SITE_ID", site.as_str())];
    settings.extend_from_slice(extra);
    Pair::ready(
        &ctx.server,
        &ctx.db_name(&format!("site{k}_a")),
        central,
        &settings,
    )
    .await
}

/// Where the sites drain to, for the rows: a name, and for a Galera cluster its nodes,
/// whose certification failures and brute-force aborts each drain adds are counted.
pub struct Central<'a> {
    pub label: &'a str,
    pub nodes: Option<&'a [Server]>,
}

/// One row per count in `counts`: that many sites draining at once, `ctx.reps()` times.
pub async fn measure(
    ctx: &Ctx,
    sites: &[Pair],
    counts: &[usize],
    queued: u64,
    central: &Central<'_>,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut single = f64::NAN;
    for &n in counts {
        let (mut rates, mut most_runs, mut conflicts) = (Vec::new(), 0, [0i64; 2]);
        for _ in 0..ctx.reps() {
            reset(&sites[..n]).await?;
            let before = galera::counters(central.nodes).await?;
            let (wall, runs) = drain_all(&ctx.dbsync, &sites[..n]).await?;
            let after = galera::counters(central.nodes).await?;
            for i in 0..2 {
                conflicts[i] += after[i] - before[i];
            }
            rates.push((n as u64 * queued) as f64 / secs(wall));
            most_runs = most_runs.max(runs.iter().copied().max().unwrap_or(0));
        }
        check_site_counts(&sites[..n]).await?;
        let aggregate = median(&rates);
        if n == 1 {
            single = aggregate;
        }
        eprintln!(
            "sites: {n} at once into {}, {aggregate:.0} changes/s, at most {most_runs} runs per site",
            central.label
        );
        let row = site_row(ctx, n, aggregate, single, most_runs, central.label);
        rows.push(match central.nodes {
            None => row,
            Some(_) => {
                let ratio = format!(
                    "{}; cert failures {}, BF aborts {} (all nodes, {} runs)",
                    row.ratio,
                    conflicts[0],
                    conflicts[1],
                    ctx.reps()
                );
                row.ratio(ratio)
            }
        });
    }
    Ok(rows)
}

pub fn site_row(
    ctx: &Ctx,
    n: usize,
    aggregate: f64,
    single: f64,
    runs: usize,
    central: &str,
) -> Row {
    let row = Row::new(
        format!(
            "sites: {n} × {} changes draining at once into {central}",
            thousands(CHANGES)
        ),
        ctx.reps(),
        format!("{} changes/s in all", rate(aggregate)),
    );
    let runs = format!("at most {runs} run(s) per site");
    if n == 1 {
        return row.ratio(runs);
    }
    let ratio = aggregate / single;
    row.ratio(format!(
        "{ratio:.2} × one site ({} changes/s); {runs}",
        rate(single)
    ))
    .goal("≥ 0.8 × one site", ratio >= 0.8)
}

/// Every change of these sites PENDING again, and their central empty (dropped, then made
/// again by each site's `init`).
pub async fn reset(sites: &[Pair]) -> Result<(), String> {
    for pair in sites {
        pair.reset_queue(0).await?;
    }
    if let Some(first) = sites.first() {
        server::drop_database(&first.config.central)
            .await
            .map_err(|e| format!("dropping the central database: {e}"))?;
    }
    for pair in sites {
        pair.init().await?;
    }
    match sites.first() {
        Some(pair) => server::settle(&pair.local).await,
        None => Ok(()),
    }
}

/// Starts `dbsync sync` for every site at once, each again until its queue is drained;
/// the wall time until the last is done, and the runs each needed.
pub async fn drain_all(dbsync: &Dbsync, sites: &[Pair]) -> Result<(Duration, Vec<usize>), String> {
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (k, pair) in sites.iter().enumerate() {
        let (dbsync, env, local) = (dbsync.clone(), pair.env.clone(), pair.local.clone());
        tasks.spawn(async move { (k, drain_site(&dbsync, &env, &local).await) });
    }
    let mut runs = vec![0; sites.len()];
    while let Some(joined) = tasks.join_next().await {
        let (k, result) = joined.map_err(|e| format!("site task: {e}"))?;
        runs[k] = result.map_err(|e| format!("site-{}: {e}", k + 1))?;
    }
    Ok((started.elapsed(), runs))
}

/// Runs `dbsync sync` until nothing is PENDING; `interrupted` and `partial` runs count.
async fn drain_site(dbsync: &Dbsync, env: &Env, local: &sqlx::MySqlPool) -> Result<usize, String> {
    for runs in 1..=MAX_RUNS {
        dbsync.expect(env, &["sync"], &[0, 3, 4]).await?;
        let left = server::scalar(
            local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'",
        )
        .await?;
        if left == 0 {
            return Ok(runs);
        }
    }
    Err(format!("changes still unsynced after {MAX_RUNS} runs"))
}

/// Each site's users are all in the central, under its site id.
pub async fn check_site_counts(sites: &[Pair]) -> Result<(), String> {
    for pair in sites {
        let site = pair.config.sync.site_id.clone().unwrap_or_default();
        let local = pair.scalar("SELECT COUNT(*) FROM users").await?;
        let sql = format!("SELECT COUNT(*) FROM users WHERE site_id = '{site}'");
        let central = server::scalar(&pair.central, &sql).await?;
        if local != central {
            return Err(format!(
                "{site}: db_a has {local} users, the central {central}"
            ));
        }
    }
    Ok(())
}
