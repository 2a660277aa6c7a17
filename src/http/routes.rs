//! Which path and method reach which handler. No logic lives here.

use warp::reply::Response;
use warp::{Filter, Rejection};

use super::filters::{get_or_head, json_body, raw_query, respond};
use super::{AppState, ops, orders, sync, users, with_state};

pub fn users(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let collection = warp::path!("users");
    let item = warp::path!("users" / i64);
    collection
        .and(get_or_head())
        .and(raw_query())
        .and(with_state(state.clone()))
        .then(users::list)
        .map(respond)
        .or(collection
            .and(warp::post())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(users::create)
            .map(respond))
        .unify()
        .or(item
            .and(get_or_head())
            .and(with_state(state.clone()))
            .then(users::get)
            .map(respond))
        .unify()
        .or(item
            .and(warp::put())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(users::update)
            .map(respond))
        .unify()
        .or(item
            .and(warp::delete())
            .and(with_state(state))
            .then(users::delete)
            .map(respond))
        .unify()
}

pub fn orders(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let collection = warp::path!("orders");
    let item = warp::path!("orders" / i64);
    collection
        .and(get_or_head())
        .and(raw_query())
        .and(with_state(state.clone()))
        .then(orders::list)
        .map(respond)
        .or(collection
            .and(warp::post())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(orders::create)
            .map(respond))
        .unify()
        .or(item
            .and(get_or_head())
            .and(with_state(state.clone()))
            .then(orders::get)
            .map(respond))
        .unify()
        .or(item
            .and(warp::put())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(orders::update)
            .map(respond))
        .unify()
        .or(item
            .and(warp::delete())
            .and(with_state(state))
            .then(orders::delete)
            .map(respond))
        .unify()
}

pub fn sync(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("sync" / "status")
        .and(get_or_head())
        .and(raw_query())
        .and(with_state(state.clone()))
        .then(sync::status)
        .map(respond)
        .or(warp::path!("sync" / "run")
            .and(warp::post())
            .and(with_state(state.clone()))
            .then(sync::run)
            .map(respond))
        .unify()
        .or(warp::path!("sync" / "requeue")
            .and(warp::post())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(sync::requeue)
            .map(respond))
        .unify()
        .or(warp::path!("sync" / "retry")
            .and(warp::post())
            .and(json_body())
            .and(with_state(state.clone()))
            .then(sync::retry)
            .map(respond))
        .unify()
        .or(warp::path!("sync" / "history")
            .and(get_or_head())
            .and(with_state(state))
            .then(sync::history)
            .map(respond))
        .unify()
}

/// /health and /metrics are for probes and scrapers; the page's HTML holds no data (its
/// requests for data carry the token).
pub fn public(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("health")
        .and(get_or_head())
        .and(with_state(state.clone()))
        .then(ops::health)
        .map(respond)
        .or(warp::path!("metrics")
            .and(get_or_head())
            .and(with_state(state))
            .then(ops::metrics)
            .map(respond))
        .unify()
        .or(warp::path::end().and(get_or_head()).map(ops::status_page))
        .unify()
}

pub fn openapi() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("openapi.json")
        .and(get_or_head())
        .map(ops::openapi)
}
