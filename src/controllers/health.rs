//! GET /health: 200 when db_a answers, 503 otherwise.

use std::time::Duration;

use warp::http::StatusCode;
use warp::reply::Response;

use crate::startup::AppState;
use crate::utils::http_error::{ApiError, respond};

pub async fn health(state: AppState) -> Response {
    let check = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("SELECT 1").execute(&state.local),
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
