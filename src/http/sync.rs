//! /sync handlers: the queue's state, starting a run, requeueing stuck changes, history.

use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;

use super::AppState;
use super::error::ApiError;
use super::filters::{JsonBody, json, page_limit, parse_query};
use crate::db::queue::{EntryFilter, RequeueSelection};
use crate::db::runs;
use crate::domain::SyncStatus;
use crate::services::ServiceError;
use crate::services::sync::{requeue, status};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    status: Option<String>,
    limit: Option<u32>,
    after_id: Option<i64>,
}

pub async fn status(raw_query: String, state: AppState) -> Result<Response, ApiError> {
    let query: StatusQuery = parse_query(&raw_query)?;
    let limit = page_limit(query.limit)?;
    let filter = match query.status.as_deref() {
        None => EntryFilter::All,
        Some(s) if s.eq_ignore_ascii_case("WAITING") => EntryFilter::Waiting,
        Some(s) => EntryFilter::Status(SyncStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request("status must be one of PENDING, SYNCED, FAILED, WAITING")
        })?),
    };
    let page = status::status_page(
        &state.local,
        state.engine.is_online(),
        state.engine.is_running(),
        filter,
        query.after_id.unwrap_or(0),
        limit,
    )
    .await?;
    Ok(json(StatusCode::OK, &page))
}

/// Starts a run in the background: 202, or 409 while one is already running, here or in
/// another process (the run would only find the lock taken).
pub async fn run(state: AppState) -> Result<Response, ApiError> {
    let elsewhere = runs::lock_taken(&state.local)
        .await
        .map_err(ServiceError::from)?;
    let started = match elsewhere {
        true => Err(()),
        false => state.engine.start_in_background().map_err(|_| ()),
    };
    match started {
        Ok(()) => Ok(json(
            StatusCode::ACCEPTED,
            &serde_json::json!({ "started": true }),
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "sync_running",
            "a sync run is already in progress",
        )),
    }
}

/// FAILED → PENDING with a fresh retry budget: `{"id": n}` or `{"all_failed": true}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequeueRequest {
    id: Option<i64>,
    #[serde(default)]
    all_failed: bool,
}

/// Makes stuck changes due now — FAILED ones with a fresh retry budget, and ones backing
/// off after a rejection: `{"id": n}`, `{"all": true}` or `{"table": "users"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryRequest {
    id: Option<i64>,
    #[serde(default)]
    all: bool,
    table: Option<String>,
}

#[derive(Serialize)]
struct RequeueResponse {
    requeued: usize,
    ids: Vec<i64>,
}

async fn put_back(state: &AppState, selection: RequeueSelection) -> Result<Response, ApiError> {
    let entries = requeue::requeue(&state.local, &selection, &state.tables).await?;
    Ok(json(
        StatusCode::OK,
        &RequeueResponse {
            requeued: entries.len(),
            ids: entries.iter().map(|e| e.id).collect(),
        },
    ))
}

pub async fn requeue(body: JsonBody, state: AppState) -> Result<Response, ApiError> {
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
    put_back(
        &state,
        RequeueSelection {
            id,
            table: None,
            include_waiting: false,
        },
    )
    .await
}

pub async fn retry(body: JsonBody, state: AppState) -> Result<Response, ApiError> {
    let input: RetryRequest = body.parse()?;
    let chosen = [input.id.is_some(), input.all, input.table.is_some()]
        .iter()
        .filter(|c| **c)
        .count();
    if chosen != 1 {
        return Err(ApiError::unprocessable(
            None,
            "give exactly one of \"id\", \"all\": true, \"table\"",
        ));
    }
    put_back(
        &state,
        RequeueSelection {
            id: input.id,
            table: input.table,
            include_waiting: true,
        },
    )
    .await
}

/// Queue depth samples of the last hour (for the status page's chart).
pub async fn history(state: AppState) -> Result<Response, ApiError> {
    let samples = state.history.samples();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "samples": samples }),
    ))
}
