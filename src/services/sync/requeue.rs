//! Putting stuck changes back in line, for the CLI, the API and the status page alike:
//! FAILED changes get a fresh retry budget, and changes backing off after a rejection can
//! be made due now (after the cause was fixed in db_b, nobody should wait out the backoff).

use sqlx::mysql::MySqlPool;

use super::tables;
use crate::db::queue::{self, RequeueSelection};
use crate::domain::QueueEntry;
use crate::services::{FieldError, ServiceError};

/// Requeues the selected changes, logging the error each one failed with. A given id that
/// is neither FAILED nor waiting is `NotFound`.
pub async fn requeue(
    pool: &MySqlPool,
    selection: &RequeueSelection,
    synced: &[String],
) -> Result<Vec<QueueEntry>, ServiceError> {
    // A misspelt table would otherwise put back nothing and look like a clean queue.
    if let Some(message) = tables::not_synced(synced, selection.table.as_deref()) {
        return Err(ServiceError::Invalid(FieldError {
            field: "table",
            message,
        }));
    }
    let entries = queue::requeue(pool, selection).await?;
    if let (Some(id), true) = (selection.id, entries.is_empty()) {
        return Err(ServiceError::NotFound {
            entity: if selection.include_waiting {
                "FAILED or waiting change"
            } else {
                "FAILED change"
            },
            id,
        });
    }
    for entry in &entries {
        tracing::info!(
            queue_id = entry.id,
            status = entry.sync_status.as_str(),
            last_error = entry.last_error.as_deref().unwrap_or(""),
            "change requeued"
        );
    }
    Ok(entries)
}
