//! `mixed`: draining changes of a 12-column table of mixed types, beside the same mix of
//! changes on `users`, in one pair (`SYNC_TABLES=users,orders,mixed`).

use super::Ctx;
use super::capture::mixed_pair;
use super::drain::{check_counts, drain_reps};
use crate::report::{Row, median, rate, thousands};
use crate::server::Pair;
use crate::workload::{self, Table};

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let changes = if ctx.quick { 50_000 } else { 100_000 };
    let pair = mixed_pair(ctx, "mixed").await?;
    let result = measure(ctx, &pair, changes).await;
    pair.drop().await;
    let (users, mixed) = result?;
    let ratio = mixed / users;
    eprintln!("mixed drain {mixed:.0} changes/s, users {users:.0} ({ratio:.2}×)");
    Ok(vec![
        Row::new(
            format!(
                "drain {} changes of `mixed` (12 columns: DECIMAL, DOUBLE, DATETIME(6), TIMESTAMP(3), TEXT, VARBINARY, ENUM, JSON…)",
                thousands(changes)
            ),
            ctx.reps(),
            format!("{} changes/s", rate(mixed)),
        )
        .ratio(format!(
            "{ratio:.2} × the same mix on users ({} changes/s)",
            rate(users)
        ))
        .goal("≥ 0.8", ratio >= 0.8),
    ])
}

/// Median drain rates: (users, mixed), ≈70% inserts, 25% updates, 5% deletes each.
async fn measure(ctx: &Ctx, pair: &Pair, changes: u64) -> Result<(f64, f64), String> {
    let mut rates = Vec::new();
    for table in [Table::Users, Table::Mixed] {
        let first = pair.max_queue_id().await? + 1;
        let queued = workload::queue_table_mix(pair, table, changes, 1).await?;
        let drains = drain_reps(ctx, pair, first, queued).await?;
        check_counts(pair, table.name()).await?;
        rates.push(median(&drains.rates));
    }
    Ok((rates[0], rates[1]))
}
