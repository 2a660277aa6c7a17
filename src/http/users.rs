//! /users handlers.

use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;

use super::AppState;
use super::error::ApiError;
use super::filters::{JsonBody, json, page_limit, parse_query};
use crate::domain::Listing;
use crate::services::users::{self, UserChanges};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    name: String,
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUser {
    name: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u32>,
    after_id: Option<i64>,
}

pub async fn create(body: JsonBody, state: AppState) -> Result<Response, ApiError> {
    let input: CreateUser = body.parse()?;
    let user = users::create(&state.records, &input.name, &input.email).await?;
    Ok(json(StatusCode::CREATED, &user))
}

pub async fn list(raw_query: String, state: AppState) -> Result<Response, ApiError> {
    let query: ListQuery = parse_query(&raw_query)?;
    let limit = page_limit(query.limit)?;
    let items = users::list(&state.records, query.after_id, limit).await?;
    Ok(json(StatusCode::OK, &Listing::new(items, limit, |u| u.id)))
}

pub async fn get(id: i64, state: AppState) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &users::get(&state.records, id).await?))
}

pub async fn update(id: i64, body: JsonBody, state: AppState) -> Result<Response, ApiError> {
    let input: UpdateUser = body.parse()?;
    if input.name.is_none() && input.email.is_none() {
        return Err(ApiError::unprocessable(
            None,
            "give at least one of name, email",
        ));
    }
    let changes = UserChanges {
        name: input.name,
        email: input.email,
    };
    Ok(json(
        StatusCode::OK,
        &users::update(&state.records, id, changes).await?,
    ))
}

pub async fn delete(id: i64, state: AppState) -> Result<Response, ApiError> {
    users::delete(&state.records, id).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "deleted": id })))
}
