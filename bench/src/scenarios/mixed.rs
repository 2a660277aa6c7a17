//! `mixed`: draining changes of a 12-column table of mixed types, beside the same mix of
//! changes on `users`, in one pair (`SYNC_TABLES=users,orders,mixed`).

use super::Ctx;
use super::capture::mixed_pair;
use super::drain::{check_counts, drain_reps};
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
/// deletes each.
async fn measure(ctx: &Ctx, pair: &Pair, changes: u64) -> Result<[Figures; 2], String> {
    let mut figures = Vec::new();
    for table in [Table::Users, Table::Mixed] {
        let first = pair.max_queue_id().await? + 1;
        let queued = workload::queue_table_mix(pair, table, changes, 1).await?;
        let drains = drain_reps(ctx, pair, first, queued).await?;
        check_counts(pair, table.name()).await?;
        let server_median = |of: fn(&ServerCpu) -> f64| {
            median(&drains.server_cpu.iter().map(of).collect::<Vec<_>>())
        };
        let server = (!drains.server_cpu.is_empty()).then(|| ServerCpu {
            total: server_median(|c| c.total),
            busiest: server_median(|c| c.busiest),
        });
        figures.push(Figures {
            rate: median(&drains.rates),
            client_cpu: median(&drains.client_cpu),
            server,
        });
    }
    figures
        .try_into()
        .map_err(|_| "two tables measured".to_string())
}
