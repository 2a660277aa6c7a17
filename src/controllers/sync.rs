//! /sync handlers: the queue's state, starting a run, requeueing FAILED changes.

use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;

use super::{JsonBody, Query};
use crate::models::SyncStatus;
use crate::services::sync::{requeue, status};
use crate::startup::AppState;
use crate::utils::http_error::{ApiError, respond};

pub async fn status(raw_query: String, state: AppState) -> Response {
    let result = async {
        let query = Query::parse(&raw_query, &["status", "limit", "after_id"])?;
        let page = query.page()?;
        let filter = match query.get("status") {
            None => None,
            Some(s) => Some(SyncStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request("status must be one of PENDING, SYNCED, FAILED")
            })?),
        };
        status::status_page(
            &state.local,
            state.engine.is_online(),
            state.engine.is_running(),
            filter,
            page.after_id,
            page.limit,
        )
        .await
        .map_err(database)
    };
    respond(result.await, StatusCode::OK)
}

/// Starts a run in the background: 202, or 409 while one is already running here.
pub async fn run(state: AppState) -> Response {
    match state.engine.start_in_background() {
        Ok(()) => respond(
            Ok::<_, ApiError>(serde_json::json!({ "started": true })),
            StatusCode::ACCEPTED,
        ),
        Err(_) => ApiError::new(
            StatusCode::CONFLICT,
            "sync_running",
            "a sync run is already in progress",
        )
        .into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequeueRequest {
    id: Option<i64>,
    #[serde(default)]
    all_failed: bool,
}

#[derive(Serialize)]
struct RequeueResponse {
    requeued: usize,
    ids: Vec<i64>,
}

/// FAILED → PENDING for one change (`{"id": n}`) or all (`{"all_failed": true}`).
pub async fn requeue(body: JsonBody, state: AppState) -> Response {
    let result = async {
        let input: RequeueRequest = body.parse()?;
        let id = match (input.id, input.all_failed) {
            (Some(id), false) => Some(id),
            (None, true) => None,
            _ => {
                return Err(ApiError::unprocessable(
                    None,
                    "give either \"id\" or \"all_failed\": true",
                ));
            }
        };
        let entries = requeue::requeue(&state.local, id).await?;
        Ok(RequeueResponse {
            requeued: entries.len(),
            ids: entries.iter().map(|e| e.id).collect(),
        })
    };
    respond(result.await, StatusCode::OK)
}

fn database(err: sqlx::Error) -> ApiError {
    crate::services::ServiceError::Database(err).into()
}

/// Queue depth samples of the last hour (for the status page's chart).
pub async fn history(state: AppState) -> Response {
    let samples = state.history.samples();
    respond(
        Ok::<_, ApiError>(serde_json::json!({ "samples": samples })),
        StatusCode::OK,
    )
}
