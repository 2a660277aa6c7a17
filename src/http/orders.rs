//! /orders handlers.

use serde::Deserialize;
use serde_json::value::RawValue;
use warp::http::StatusCode;
use warp::reply::Response;

use super::AppState;
use super::error::ApiError;
use super::filters::{JsonBody, json, page_limit, parse_query};
use crate::domain::validation;
use crate::domain::{Listing, OrderStatus};
use crate::services::orders::{self, OrderChanges, OrderFilter};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u32>,
    after_id: Option<i64>,
    user_id: Option<i64>,
    status: Option<String>,
}

fn status(value: Option<&str>) -> Result<Option<OrderStatus>, ApiError> {
    Ok(value.map(validation::status).transpose()?)
}

pub async fn create(body: JsonBody, state: AppState) -> Result<Response, ApiError> {
    let input: CreateOrder = body.parse()?;
    let amount = validation::amount(input.amount.get())?;
    let status = status(input.status.as_deref())?.unwrap_or(OrderStatus::Pending);
    let order = orders::create(&state.records, input.user_id, amount, status).await?;
    Ok(json(StatusCode::CREATED, &order))
}

pub async fn list(raw_query: String, state: AppState) -> Result<Response, ApiError> {
    let query: ListQuery = parse_query(&raw_query)?;
    let limit = page_limit(query.limit)?;
    let filter = OrderFilter {
        user_id: query.user_id,
        status: status(query.status.as_deref())?,
    };
    let items = orders::list(&state.records, &filter, query.after_id, limit).await?;
    Ok(json(StatusCode::OK, &Listing::new(items, limit, |o| o.id)))
}

pub async fn get(id: i64, state: AppState) -> Result<Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        &orders::get(&state.records, id).await?,
    ))
}

pub async fn update(id: i64, body: JsonBody, state: AppState) -> Result<Response, ApiError> {
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
        status: status(input.status.as_deref())?,
    };
    Ok(json(
        StatusCode::OK,
        &orders::update(&state.records, id, changes).await?,
    ))
}

pub async fn delete(id: i64, state: AppState) -> Result<Response, ApiError> {
    orders::delete(&state.records, id).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "deleted": id })))
}
