//! /users handlers.

use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{JsonBody, Query};
use crate::models::Listing;
use crate::services::users::{self, UserChanges};
use crate::startup::AppState;
use crate::utils::http_error::{ApiError, respond};

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

pub async fn create(body: JsonBody, state: AppState) -> Response {
    let result = async {
        let input: CreateUser = body.parse()?;
        Ok(users::create(&state.local, &input.name, &input.email).await?)
    };
    respond(result.await, StatusCode::CREATED)
}

pub async fn list(raw_query: String, state: AppState) -> Response {
    let result = async {
        let page = Query::parse(&raw_query, &["limit", "after_id"])?.page()?;
        let items = users::list(&state.local, page.after_id, page.limit).await?;
        Ok(Listing::new(items, page.limit, |u| u.id))
    };
    respond(result.await, StatusCode::OK)
}

pub async fn get(id: i64, state: AppState) -> Response {
    let result = async { Ok::<_, ApiError>(users::get(&state.local, id).await?) };
    respond(result.await, StatusCode::OK)
}

pub async fn update(id: i64, body: JsonBody, state: AppState) -> Response {
    let result = async {
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
        Ok(users::update(&state.local, id, changes).await?)
    };
    respond(result.await, StatusCode::OK)
}

pub async fn delete(id: i64, state: AppState) -> Response {
    let result = async {
        users::delete(&state.local, id).await?;
        Ok::<_, ApiError>(serde_json::json!({ "deleted": id }))
    };
    respond(result.await, StatusCode::OK)
}
