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

/// Path templates and their methods, read from the OpenAPI document (its test keeps it
/// true): the `Allow` header of a 405 and the `route` label of the HTTP metrics.
pub struct RouteTable(Vec<Route>);

struct Route {
    template: String,
    segments: Vec<String>,
    methods: String,
}

impl RouteTable {
    pub fn from_openapi() -> Self {
        let spec: serde_json::Value = serde_json::from_str(ops::OPENAPI_JSON).unwrap_or_default();
        let mut routes = Vec::new();
        if let Some(paths) = spec["paths"].as_object() {
            for (template, item) in paths {
                let mut methods: Vec<String> = ["get", "post", "put", "delete"]
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_uppercase())
                    .collect();
                if methods.iter().any(|m| m == "GET") {
                    methods.insert(1, "HEAD".to_string());
                }
                routes.push(Route {
                    template: template.clone(),
                    segments: template.split('/').map(str::to_string).collect(),
                    methods: methods.join(", "),
                });
            }
        }
        RouteTable(routes)
    }

    fn find(&self, path: &str) -> Option<&Route> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0.iter().find(|route| {
            route.segments.len() == segments.len()
                && route
                    .segments
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
        })
    }

    pub fn template_for(&self, path: &str) -> Option<&str> {
        self.find(path).map(|r| r.template.as_str())
    }

    pub fn methods_for(&self, path: &str) -> Option<&str> {
        self.find(path).map(|r| r.methods.as_str())
    }
}
