//! /orders handlers.

use serde::Deserialize;
use serde_json::value::RawValue;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{JsonBody, Query};
use crate::models::Listing;
use crate::services::orders::{self, OrderChanges, OrderFilter};
use crate::startup::AppState;
use crate::utils::http_error::{ApiError, respond};
use crate::utils::validation;

/// `amount` is kept as raw JSON text so it is parsed exactly, never through a float.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOrder {
    user_id: i64,
    amount: Box<RawValue>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateOrder {
    user_id: Option<i64>,
    amount: Option<Box<RawValue>>,
    status: Option<String>,
}

pub async fn create(body: JsonBody, state: AppState) -> Response {
    let result = async {
        let input: CreateOrder = body.parse()?;
        let amount = validation::amount(input.amount.get())?;
        let status = input.status.as_deref().unwrap_or("pending");
        Ok(orders::create(&state.local, input.user_id, amount, status).await?)
    };
    respond(result.await, StatusCode::CREATED)
}

pub async fn list(raw_query: String, state: AppState) -> Response {
    let result = async {
        let query = Query::parse(&raw_query, &["limit", "after_id", "user_id", "status"])?;
        let page = query.page()?;
        let filter = OrderFilter {
            user_id: query.int("user_id", 1, i64::MAX)?,
            status: query.get("status").map(str::to_string),
        };
        let items = orders::list(&state.local, &filter, page.after_id, page.limit).await?;
        Ok(Listing::new(items, page.limit, |o| o.id))
    };
    respond(result.await, StatusCode::OK)
}

pub async fn get(id: i64, state: AppState) -> Response {
    let result = async { Ok::<_, ApiError>(orders::get(&state.local, id).await?) };
    respond(result.await, StatusCode::OK)
}

pub async fn update(id: i64, body: JsonBody, state: AppState) -> Response {
    let result = async {
        let input: UpdateOrder = body.parse()?;
        // `"amount": null` reads as absent, like the other fields.
        let amount_text = input
            .amount
            .as_deref()
            .map(RawValue::get)
            .filter(|t| t.trim() != "null");
        if input.user_id.is_none() && amount_text.is_none() && input.status.is_none() {
            return Err(ApiError::unprocessable(
                None,
                "give at least one of user_id, amount, status",
            ));
        }
        let changes = OrderChanges {
            user_id: input.user_id,
            amount: amount_text.map(validation::amount).transpose()?,
            status: input.status,
        };
        Ok(orders::update(&state.local, id, changes).await?)
    };
    respond(result.await, StatusCode::OK)
}

pub async fn delete(id: i64, state: AppState) -> Response {
    let result = async {
        orders::delete(&state.local, id).await?;
        Ok::<_, ApiError>(serde_json::json!({ "deleted": id }))
    };
    respond(result.await, StatusCode::OK)
}
