//! GET /health (200 when db_a answers, 503 otherwise) and GET /metrics (Prometheus text).

use std::time::Duration;

use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::services::sync::status::queue_depth;
use crate::startup::AppState;
use crate::utils::http_error::{ApiError, respond};

pub async fn health(state: AppState) -> Response {
    let check = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("SELECT 1 FROM sync_queue LIMIT 1").execute(&state.local),
    )
    .await;
    match check {
        Ok(Ok(_)) => respond(
            Ok::<_, ApiError>(serde_json::json!({ "status": "ok" })),
            StatusCode::OK,
        ),
        _ => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the local database (db_a) does not answer",
        )
        .into(),
    }
}

/// Prometheus text format. Queue gauges are read from db_a now; if it does not answer they
/// keep their last value and the rest is still served.
pub async fn metrics(state: AppState) -> Response {
    let metrics = state.engine.metrics();
    if let Ok((counts, oldest_age)) = queue_depth(&state.local).await {
        for (status, count) in [
            ("PENDING", counts.pending),
            ("SYNCED", counts.synced),
            ("FAILED", counts.failed),
        ] {
            metrics.queue_depth.with_label_values(&[status]).set(count);
        }
        metrics.oldest_pending_age.set(oldest_age.unwrap_or(0));
    }
    warp::reply::with_header(
        metrics.render(),
        "content-type",
        "text/plain; version=0.0.4",
    )
    .into_response()
}
