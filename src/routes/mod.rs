//! warp filters: which path and method reach which handler. No logic lives here.

use std::convert::Infallible;

use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::controllers::{self, JsonBody};
use crate::startup::AppState;
use crate::utils::http_error::ApiError;

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// The OpenAPI 3 description of every route below.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// Every route, with JSON errors for unknown paths, wrong methods and oversized bodies, and
/// one log line per request.
pub fn api(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    users(state.clone())
        .or(orders(state.clone()))
        .unify()
        .or(sync(state.clone()))
        .unify()
        .or(misc(state))
        .unify()
        .recover(rejection_to_json)
        .unify()
        .with(warp::log::custom(|info| {
            tracing::info!(
                method = %info.method(),
                path = info.path(),
                status = info.status().as_u16(),
                latency_ms = info.elapsed().as_secs_f64() * 1000.0,
                "request"
            );
        }))
}

fn with_state(state: AppState) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

fn json_body() -> impl Filter<Extract = (JsonBody,), Error = Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY_BYTES)
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::bytes())
        .map(|content_type, bytes| JsonBody {
            content_type,
            bytes,
        })
}

/// The raw query string, empty when there is none.
fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

fn users(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    use controllers::users;
    let collection = warp::path!("users");
    let item = warp::path!("users" / i64);
    collection
        .and(warp::get())
        .and(raw_query())
        .and(with_state(state.clone()))
        .then(users::list)
        .or(collection
            .and(warp::post())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(users::create))
        .unify()
        .or(item
            .and(warp::get())
            .and(with_state(state.clone()))
            .then(users::get))
        .unify()
        .or(item
            .and(warp::put())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(users::update))
        .unify()
        .or(item
            .and(warp::delete())
            .and(with_state(state))
            .then(users::delete))
        .unify()
}

fn orders(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    use controllers::orders;
    let collection = warp::path!("orders");
    let item = warp::path!("orders" / i64);
    collection
        .and(warp::get())
        .and(raw_query())
        .and(with_state(state.clone()))
        .then(orders::list)
        .or(collection
            .and(warp::post())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(orders::create))
        .unify()
        .or(item
            .and(warp::get())
            .and(with_state(state.clone()))
            .then(orders::get))
        .unify()
        .or(item
            .and(warp::put())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(orders::update))
        .unify()
        .or(item
            .and(warp::delete())
            .and(with_state(state))
            .then(orders::delete))
        .unify()
}

fn sync(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    use controllers::sync;
    warp::path!("sync" / "status")
        .and(warp::get())
        .and(raw_query())
        .and(with_state(state.clone()))
        .then(sync::status)
        .or(warp::path!("sync" / "run")
            .and(warp::post())
            .and(with_state(state.clone()))
            .then(sync::run))
        .unify()
        .or(warp::path!("sync" / "requeue")
            .and(warp::post())
            .and(json_body())
            .and(with_state(state))
            .then(sync::requeue))
        .unify()
}

fn misc(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("health")
        .and(warp::get())
        .and(with_state(state))
        .then(controllers::health::health)
        .or(warp::path!("openapi.json").and(warp::get()).map(|| {
            warp::reply::with_header(OPENAPI_JSON, "content-type", "application/json")
                .into_response()
        }))
        .unify()
}

/// Filter-level rejections as JSON errors. The order follows warp's own preference:
/// a specific 4xx over 405, and 405 over 404.
async fn rejection_to_json(rejection: Rejection) -> Result<Response, Infallible> {
    use warp::reject::{LengthRequired, MethodNotAllowed, PayloadTooLarge};
    let error = if rejection.find::<PayloadTooLarge>().is_some() {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is over {} KiB", MAX_BODY_BYTES / 1024),
        )
    } else if rejection.find::<LengthRequired>().is_some() {
        ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "send a Content-Length header with the body",
        )
    } else if rejection.find::<MethodNotAllowed>().is_some() {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not accept that method",
        )
    } else if rejection.is_not_found() {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_route",
            "no such path; see /openapi.json",
        )
    } else {
        tracing::error!(?rejection, "unhandled rejection");
        ApiError::internal()
    };
    Ok(error.into())
}
