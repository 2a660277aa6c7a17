//! For operators and their tools: GET /health, GET /metrics, the status page, the API
//! description.

use std::time::Duration;

use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::AppState;
use super::error::ApiError;
use super::filters::json;
use crate::db::{error, queue};
use crate::services::sync::status::queue_depth;

/// The OpenAPI 3 description of every route.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// The status page: one self-contained HTML file, compiled in.
pub const STATUS_PAGE_HTML: &str = include_str!("status_page.html");

/// 200 when db_a answers (its queue table included), 503 otherwise, saying which.
pub async fn health(state: AppState) -> Result<Response, ApiError> {
    let check = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("SELECT 1 FROM sync_queue LIMIT 1").execute(&state.local),
    )
    .await;
    let why = match check {
        Ok(Ok(_)) => return Ok(json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))),
        Ok(Err(err)) => error::describe(&err),
        Err(_) => "no answer within 2 s".to_string(),
    };
    tracing::warn!(reason = %why, "health check failed");
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("the local database (db_a) does not answer the health check: {why}"),
    ))
}

/// Prometheus text format. Queue gauges are read from db_a now; if it does not answer they
/// keep their last value, `dbsync_queue_read_ok` says so, and the rest is still served.
pub async fn metrics(state: AppState) -> Result<Response, ApiError> {
    let metrics = state.engine.metrics();
    let read = read_queue_gauges(&state).await;
    if let Err(err) = &read {
        tracing::warn!(error = %error::describe(err), "metrics: could not read the queue from db_a");
    }
    metrics.queue_read_ok.set(i64::from(read.is_ok()));
    Ok(warp::reply::with_header(
        metrics.render(),
        "content-type",
        "text/plain; version=0.0.4",
    )
    .into_response())
}

async fn read_queue_gauges(state: &AppState) -> Result<(), sqlx::Error> {
    let metrics = state.engine.metrics();
    let (counts, oldest_age) = queue_depth(&state.local).await?;
    for (status, count) in [
        ("PENDING", counts.pending),
        ("SYNCED", counts.synced),
        ("FAILED", counts.failed),
    ] {
        metrics.queue_depth.with_label_values(&[status]).set(count);
    }
    metrics.oldest_pending_age.set(oldest_age);
    let tables = queue::open_counts_by_table(&state.local).await?;
    // Every synced table has its series: one whose changes all went through shows 0.
    for table in state.tables.iter() {
        for status in ["PENDING", "FAILED"] {
            metrics
                .queue_depth_by_table
                .with_label_values(&[table.as_str(), status])
                .set(0);
        }
    }
    for (table, pending, failed) in tables
        .into_iter()
        .filter(|(t, _, _)| state.tables.contains(t))
    {
        let by_table = &metrics.queue_depth_by_table;
        by_table
            .with_label_values(&[table.as_str(), "PENDING"])
            .set(pending);
        by_table
            .with_label_values(&[table.as_str(), "FAILED"])
            .set(failed);
    }
    Ok(())
}

pub fn status_page() -> Response {
    let page = warp::reply::html(STATUS_PAGE_HTML);
    warp::reply::with_header(
        page,
        "content-security-policy",
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         connect-src 'self'; img-src 'self' data:",
    )
    .into_response()
}

pub fn openapi() -> Response {
    warp::reply::with_header(OPENAPI_JSON, "content-type", "application/json").into_response()
}
