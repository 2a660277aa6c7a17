//! The REST API (warp): plain CRUD on db_a's users and orders, the sync endpoints, and the
//! operator's pages. It never writes the sync queue; the triggers capture every write.
//!
//! - [`routes`]: paths and methods → handlers; [`filters`]: bodies, queries, the token.
//! - [`users`], [`orders`], [`sync`], [`ops`]: handlers, each returning a reply or an
//!   [`error::ApiError`].

pub mod error;
pub mod filters;
pub mod ops;
pub mod orders;
pub mod route_table;
pub mod routes;
pub mod server;
pub mod sync;
pub mod users;

use std::convert::Infallible;
use std::sync::Arc;

use sqlx::mysql::MySqlPool;
use warp::{Filter, Reply};

use crate::config::ApiToken;
use crate::db::kept::KeptConnections;
use crate::services::sync::SyncEngine;
use crate::services::sync::history::QueueHistory;
use route_table::RouteTable;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub local: MySqlPool,
    /// The same pool, for the users and orders handlers: connections kept between requests.
    pub records: KeptConnections,
    pub engine: Arc<SyncEngine>,
    pub history: Arc<QueueHistory>,
    pub api_token: Option<Arc<ApiToken>>,
    /// `SYNC_TABLES`, for per-table metrics.
    pub tables: Arc<Vec<String>>,
}

fn with_state(state: AppState) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// Every route, with JSON errors for unknown paths, wrong methods and oversized bodies,
/// the bearer-token check, and one log line and metric per request.
pub fn api(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let table = Arc::new(RouteTable::from_openapi());
    let metrics = state.engine.metrics().clone();
    let labels = table.clone();
    let protected = filters::authorized(state.api_token.clone()).and(
        routes::users(state.clone())
            .or(routes::orders(state.clone()))
            .unify()
            .or(routes::sync(state.clone()))
            .unify()
            .or(routes::openapi())
            .unify(),
    );
    routes::public(state)
        .or(protected)
        .unify()
        .or(filters::unrouted())
        .unify()
        .recover(move |rejection| filters::rejection_to_json(rejection, table.clone()))
        .unify()
        .with(warp::log::custom(move |info| {
            let route = labels.template_for(info.path()).unwrap_or("unmatched");
            let status = info.status().as_u16().to_string();
            metrics
                .http_requests
                .with_label_values(&[route, info.method().as_str(), &status])
                .inc();
            metrics
                .http_duration
                .with_label_values(&[route])
                .observe(info.elapsed().as_secs_f64());
            tracing::info!(
                method = %info.method(),
                path = info.path(),
                status = info.status().as_u16(),
                latency_ms = %format_args!("{:.3}", info.elapsed().as_secs_f64() * 1000.0),
                "request"
            );
        }))
}
