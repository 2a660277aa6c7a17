//! After a clean run: SYNCED queue rows older than `SYNC_RETENTION` and old runs are
//! deleted, so db_a's bookkeeping stays bounded.

use super::SyncEngine;
use crate::db::{queue, runs};

/// SYNCED queue rows deleted per statement when purging old history.
const PURGE_CHUNK: u32 = 5000;
/// Runs kept in `sync_runs` beyond the retention window (however often runs start).
const RUNS_KEPT: u32 = 10_000;

impl SyncEngine {
    /// Deletes SYNCED queue rows older than `SYNC_RETENTION`, and old runs; failures are
    /// logged, never a run's outcome.
    pub(super) async fn purge_history(&self) {
        let cutoff = (!self.settings.retention.is_zero())
            .then(|| chrono::Duration::from_std(self.settings.retention).ok())
            .flatten()
            .and_then(|retention| chrono::Utc::now().checked_sub_signed(retention));
        if let Some(cutoff) = cutoff {
            match queue::purge_synced(&self.local, cutoff, PURGE_CHUNK).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged old SYNCED queue rows"),
                Err(err) => tracing::warn!(error = %err, "could not purge old SYNCED queue rows"),
            }
        }
        if let Err(err) = runs::purge_runs(&self.local, cutoff, RUNS_KEPT).await {
            tracing::warn!(error = %err, "could not purge old runs");
        }
    }
}
