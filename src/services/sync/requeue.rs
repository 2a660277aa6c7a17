//! FAILED → PENDING, for the CLI and the API alike.

use sqlx::mysql::MySqlPool;

use crate::db::local;
use crate::models::QueueEntry;
use crate::services::ServiceError;

/// Requeues one FAILED change (`Some(id)`) or all of them (`None`) with a fresh retry
/// budget, logging the error each one failed with. A given id that is not FAILED is
/// `NotFound`.
pub async fn requeue(pool: &MySqlPool, id: Option<i64>) -> Result<Vec<QueueEntry>, ServiceError> {
    let entries = local::requeue_failed(pool, id).await?;
    if let (Some(id), true) = (id, entries.is_empty()) {
        return Err(ServiceError::NotFound {
            entity: "FAILED change",
            id,
        });
    }
    for entry in &entries {
        tracing::info!(
            queue_id = entry.id,
            last_error = entry.last_error.as_deref().unwrap_or(""),
            "FAILED change requeued"
        );
    }
    Ok(entries)
}
