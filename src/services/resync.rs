//! `dbsync resync`: rebuild a new or drifted db_b through the queue, like any other change.
//!
//! Rows db_b has and db_a has not are queued as DELETEs (orders before users, for the
//! foreign key), then every db_a row as an INSERT (users before orders). Replayed in order,
//! that leaves db_b equal to db_a; every step is an ordinary queue change, so the engine's
//! ordering, retries and ledger apply to it unchanged.

use serde::Serialize;
use sqlx::mysql::MySqlPool;

use crate::db::central::{self, Table};
use crate::db::local;

const PAGE: u32 = 5000;

#[derive(Debug, Default, Serialize)]
pub struct ResyncReport {
    /// DELETEs queued for rows only db_b has.
    pub deletes: u64,
    /// INSERTs queued for every row db_a has.
    pub inserts: u64,
}

pub async fn resync(
    local_pool: &MySqlPool,
    central_pool: &MySqlPool,
) -> Result<ResyncReport, sqlx::Error> {
    let mut report = ResyncReport::default();
    for table in [Table::Orders, Table::Users] {
        let extra = ids_only_in_central(local_pool, central_pool, table).await?;
        for chunk in extra.chunks(1000) {
            report.deletes += local::queue_deletes(local_pool, table, chunk).await?;
        }
    }
    report.inserts = local::queue_snapshot(local_pool).await?;
    Ok(report)
}

/// Walks both id lists in order, page by page, and keeps the ids db_a lacks.
async fn ids_only_in_central(
    local_pool: &MySqlPool,
    central_pool: &MySqlPool,
    table: Table,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut extra = Vec::new();
    let mut local_ids = central::record_ids(local_pool, table, 0, PAGE).await?;
    let mut local_at = 0;
    let mut after = 0;
    loop {
        let central_ids = central::record_ids(central_pool, table, after, PAGE).await?;
        let Some(&last) = central_ids.last() else {
            return Ok(extra);
        };
        after = last;
        for id in central_ids {
            // Advance db_a's list to the first id >= this one, fetching pages as needed.
            loop {
                if local_at == local_ids.len() {
                    let Some(&local_last) = local_ids.last() else {
                        break;
                    };
                    local_ids = central::record_ids(local_pool, table, local_last, PAGE).await?;
                    local_at = 0;
                    if local_ids.is_empty() {
                        break;
                    }
                }
                if local_ids[local_at] < id {
                    local_at += 1;
                } else {
                    break;
                }
            }
            if local_ids.get(local_at) != Some(&id) {
                extra.push(id);
            }
        }
    }
}
