//! Applies a run of changes to db_b in one transaction, as a few multi-row statements.

use std::collections::HashMap;

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use super::change::{Action, Change};
use crate::db::central::{self, Table};

/// What one committed transaction did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Queue ids now in db_b (applied, or superseded by a newer applied change): all SYNCED.
    pub done: Vec<i64>,
}

/// Applies `changes` (in queue id order) in one db_b transaction; all or nothing.
///
/// A change whose record already has a newer change applied (per `sync_ledger`) is skipped
/// as superseded: this is what keeps a requeued or replayed change from moving a record
/// back in time.
pub async fn apply_changes(
    conn: &mut MySqlConnection,
    changes: &[&Change],
) -> Result<Applied, sqlx::Error> {
    let mut tx = conn.begin().await?;

    // Only a change at or below the watermark can have been superseded: look those up.
    let watermark = central::lock_watermark(&mut tx).await?;
    let mut newest_applied: HashMap<(Table, i64), i64> = HashMap::new();
    for table in [Table::Users, Table::Orders] {
        let ids: Vec<i64> = changes
            .iter()
            .filter(|c| c.table == table && c.queue_id <= watermark)
            .map(|c| c.record_id)
            .collect();
        for (record_id, change_id) in central::ledger_entries(&mut tx, table, &ids).await? {
            newest_applied.insert((table, record_id), change_id);
        }
    }
    let fresh: Vec<&Change> = changes
        .iter()
        .copied()
        .filter(|c| {
            newest_applied
                .get(&c.key())
                .is_none_or(|newest| c.queue_id > *newest)
        })
        .collect();

    // Consecutive changes of one table and kind share a statement; order is kept, so a
    // user's insert precedes its orders and an order's delete precedes its user's.
    for group in fresh.chunk_by(|a, b| a.table == b.table && a.is_delete() == b.is_delete()) {
        match &group[0].action {
            Action::Delete => {
                let ids: Vec<i64> = group.iter().map(|c| c.record_id).collect();
                central::delete_rows(&mut tx, group[0].table, &ids).await?;
            }
            Action::UpsertUser(_) => {
                let users: Vec<_> = group
                    .iter()
                    .filter_map(|c| match &c.action {
                        Action::UpsertUser(user) => Some(user),
                        _ => None,
                    })
                    .collect();
                central::upsert_users(&mut tx, &users).await?;
            }
            Action::UpsertOrder(_) => {
                let orders: Vec<_> = group
                    .iter()
                    .filter_map(|c| match &c.action {
                        Action::UpsertOrder(order) => Some(order),
                        _ => None,
                    })
                    .collect();
                central::upsert_orders(&mut tx, &orders).await?;
            }
        }
    }

    let mut ledger: HashMap<(Table, i64), i64> = HashMap::new();
    for change in &fresh {
        ledger.insert(change.key(), change.queue_id);
    }
    let mut ledger: Vec<(Table, i64, i64)> =
        ledger.into_iter().map(|((t, r), c)| (t, r, c)).collect();
    // A stable order keeps two writers of the ledger from deadlocking on each other.
    ledger.sort_unstable();
    central::advance_ledger(&mut tx, &ledger).await?;
    if let Some(newest) = fresh.iter().map(|c| c.queue_id).max() {
        central::raise_watermark(&mut tx, newest).await?;
    }
    tx.commit().await?;

    Ok(Applied {
        done: changes.iter().map(|c| c.queue_id).collect(),
    })
}
