//! `mixed`: draining changes of a 12-column table of mixed types, beside the same mix of
//! changes on `users`, in one pair (`SYNC_TABLES=users,orders,mixed`).

use super::Ctx;
use super::capture::mixed_pair;
use super::drain::{Drains, check_counts, drain_queued};
use crate::cpu::ServerCpu;
use crate::report::{Row, median, rate, thousands};
use crate::server::Pair;
use crate::workload::{self, Table};

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let changes = if ctx.quick { 50_000 } else { 100_000 };
    let pair = mixed_pair(ctx, "mixed").await?;
    let result = measure(ctx, &pair, changes).await;
    pair.drop().await;
    let [users, mixed] = result?;
    let ratio = mixed.rate / users.rate;
    eprintln!(
        "mixed drain {:.0} changes/s, users {:.0} ({ratio:.2}×)",
        mixed.rate, users.rate
    );
    let mut rows = vec![
        Row::new(
            format!(
                "drain {} changes of `mixed` (12 columns: DECIMAL, DOUBLE, DATETIME(6), TIMESTAMP(3), TEXT, VARBINARY, ENUM, JSON…)",
                thousands(changes)
            ),
            ctx.reps(),
            format!("{} changes/s", rate(mixed.rate)),
        )
        .ratio(format!(
            "{ratio:.2} × the same mix on users ({} changes/s)",
            rate(users.rate)
        ))
        .goal("≥ 0.8", ratio >= 0.8),
    ];
    let per_change = |secs: f64| secs / changes as f64 * 1e6;
    rows.push(
        Row::new(
            "… CPU per change: dbsync's own",
            ctx.reps(),
            format!("{:.1} µs", per_change(mixed.client_cpu)),
        )
        .ratio(format!(
            "{:.2} × users ({:.1} µs)",
            mixed.client_cpu / users.client_cpu,
            per_change(users.client_cpu)
        )),
    );
    if let (Some(u), Some(m)) = (users.server, mixed.server) {
        for (what, u, m) in [
            ("the server's, all threads", u.total, m.total),
            (
                "the server's busiest thread (db_b's connection: each batch one transaction on it)",
                u.busiest,
                m.busiest,
            ),
        ] {
            rows.push(
                Row::new(
                    format!("… CPU per change: {what}"),
                    ctx.reps(),
                    format!("{:.1} µs", per_change(m)),
                )
                .ratio(format!("{:.2} × users ({:.1} µs)", m / u, per_change(u))),
            );
        }
    }
    Ok(rows)
}

/// Medians of one table's drains.
struct Figures {
    rate: f64,
    client_cpu: f64,
    /// The server's CPU, when it runs on this machine.
    server: Option<ServerCpu>,
}

/// Medians of the drains of each table: [users, mixed], ≈70% inserts, 25% updates, 5%
/// deletes each. Both mixes are queued first, then drained one table at a time, the order
/// alternating from one repetition to the next: the machine's speed drifts over minutes,
/// and both tables see the same stretch of it.
async fn measure(ctx: &Ctx, pair: &Pair, changes: u64) -> Result<[Figures; 2], String> {
    let first = pair.max_queue_id().await? + 1;
    let mut ranges = Vec::new();
    for table in [Table::Users, Table::Mixed] {
        let start = pair.max_queue_id().await? + 1;
        let queued = workload::queue_table_mix(pair, table, changes, 1).await?;
        ranges.push((table, start..=pair.max_queue_id().await?, queued));
    }
    pair.save_changes(first).await?;
    let mut drains = [Drains::new(), Drains::new()];
    for rep in 0..ctx.reps() {
        for k in [rep % 2, 1 - rep % 2] {
            let (table, range, queued) = &ranges[k];
            pair.reset_to_range(first, range.clone()).await?;
            drains[k].add(&drain_queued(ctx, pair, *queued).await?);
            check_counts(pair, table.name()).await?;
        }
    }
    let each = |d: &Drains| {
        let rates: Vec<String> = d.rates.iter().map(|r| format!("{r:.0}")).collect();
        rates.join(", ")
    };
    eprintln!(
        "drains, changes/s in order: users {}; mixed {}",
        each(&drains[0]),
        each(&drains[1])
    );
    Ok(drains.map(|drains| {
        let server_median = |of: fn(&ServerCpu) -> f64| {
            median(&drains.server_cpu.iter().map(of).collect::<Vec<_>>())
        };
        let server = (!drains.server_cpu.is_empty()).then(|| ServerCpu {
            total: server_median(|c| c.total),
            busiest: server_median(|c| c.busiest),
        });
        Figures {
            rate: median(&drains.rates),
            client_cpu: median(&drains.client_cpu),
            server,
        }
    }))
}
