//! warp filters: which path and method reach which handler. No logic lives here.

use std::convert::Infallible;
use std::sync::Arc;

use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use subtle::ConstantTimeEq;

use crate::config::ApiToken;
use crate::controllers::{self, JsonBody};
use crate::startup::AppState;
use crate::utils::http_error::ApiError;

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// The OpenAPI 3 description of every route below.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// The status page: one self-contained HTML file, compiled in.
pub const STATUS_PAGE_HTML: &str = include_str!("status_page.html");

/// Every route, with JSON errors for unknown paths, wrong methods and oversized bodies,
/// the bearer-token check, and one log line and metric per request.
pub fn api(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let routes = Arc::new(RouteTable::from_openapi());
    let metrics = state.engine.metrics().clone();
    let table = routes.clone();
    // /health and /metrics are for probes and scrapers; the page's HTML holds no data
    // (its requests for data carry the token).
    let public = misc(state.clone());
    let protected = authorized(state.api_token.clone()).and(
        users(state.clone())
            .or(orders(state.clone()))
            .unify()
            .or(sync(state))
            .unify()
            .or(warp::path!("openapi.json").and(warp::get()).map(|| {
                warp::reply::with_header(OPENAPI_JSON, "content-type", "application/json")
                    .into_response()
            }))
            .unify(),
    );
    public
        .or(protected)
        .unify()
        .or(unrouted())
        .unify()
        .recover(move |rejection| rejection_to_json(rejection, routes.clone()))
        .unify()
        .with(warp::log::custom(move |info| {
            let route = table.template_for(info.path()).unwrap_or("unmatched");
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

/// Passes when no token is configured, or the request carries `Bearer <token>`.
/// Compared in constant time; the token is never logged.
fn authorized(
    token: Option<Arc<ApiToken>>,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and_then(move |header: Option<String>| {
            let token = token.clone();
            async move {
                let Some(token) = token else { return Ok(()) };
                // The scheme name is case-insensitive (RFC 9110); the token is not.
                let offered = header
                    .as_deref()
                    .and_then(|h| h.split_once(' '))
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map_or("", |(_, token)| token.trim());
                if bool::from(offered.as_bytes().ct_eq(token.0.as_bytes())) {
                    Ok(())
                } else {
                    Err(warp::reject::custom(Unauthorized))
                }
            }
        })
        .untuple_one()
}

#[derive(Debug)]
struct Unauthorized;

impl warp::reject::Reject for Unauthorized {}

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
            .and(with_state(state.clone()))
            .then(sync::requeue))
        .unify()
        .or(warp::path!("sync" / "history")
            .and(warp::get())
            .and(with_state(state))
            .then(sync::history))
        .unify()
}

fn misc(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("health")
        .and(warp::get())
        .and(with_state(state.clone()))
        .then(controllers::health::health)
        .or(warp::path!("metrics")
            .and(warp::get())
            .and(with_state(state))
            .then(controllers::health::metrics))
        .unify()
        .or(warp::path::end().and(warp::get()).map(|| {
            let page = warp::reply::html(STATUS_PAGE_HTML);
            warp::reply::with_header(
                page,
                "content-security-policy",
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src 'self' data:",
            )
            .into_response()
        }))
        .unify()
}

/// Matches every request no route took and remembers its path, so a 405 can list the
/// methods that path does accept.
#[derive(Debug)]
struct Unrouted(String);

impl warp::reject::Reject for Unrouted {}

fn unrouted() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path::full().and_then(|path: warp::path::FullPath| async move {
        Err::<Response, _>(warp::reject::custom(Unrouted(path.as_str().to_string())))
    })
}

/// Path templates and their methods, read from the OpenAPI document (its test keeps it
/// true): the `Allow` header of a 405 and the `route` label of the HTTP metrics.
struct RouteTable(Vec<Route>);

struct Route {
    template: String,
    segments: Vec<String>,
    methods: String,
}

impl RouteTable {
    fn from_openapi() -> Self {
        let spec: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap_or_default();
        let mut routes = Vec::new();
        if let Some(paths) = spec["paths"].as_object() {
            for (template, item) in paths {
                let methods: Vec<String> = ["get", "post", "put", "delete"]
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_uppercase())
                    .collect();
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

    fn template_for(&self, path: &str) -> Option<&str> {
        self.find(path).map(|r| r.template.as_str())
    }

    fn methods_for(&self, path: &str) -> Option<&str> {
        self.find(path).map(|r| r.methods.as_str())
    }
}

/// Filter-level rejections as JSON errors. The order follows warp's own preference:
/// a specific 4xx over 405, and 405 over 404.
async fn rejection_to_json(
    rejection: Rejection,
    routes: Arc<RouteTable>,
) -> Result<Response, Infallible> {
    use warp::reject::{InvalidHeader, LengthRequired, MethodNotAllowed, PayloadTooLarge};
    let error = if rejection.find::<Unauthorized>().is_some() {
        let error = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <API_TOKEN>",
        );
        return Ok(warp::reply::with_header(error, "www-authenticate", "Bearer").into_response());
    } else if rejection.find::<PayloadTooLarge>().is_some() {
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
    } else if let Some(header) = rejection.find::<InvalidHeader>() {
        ApiError::bad_request(format!("the {} header is not valid", header.name()))
    } else if rejection.find::<MethodNotAllowed>().is_some() {
        let path = rejection
            .find::<Unrouted>()
            .map(|u| u.0.as_str())
            .unwrap_or_default();
        let allow = routes.methods_for(path).unwrap_or_default().to_string();
        let error = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this path accepts {allow}"),
        );
        return Ok(warp::reply::with_header(error, "allow", allow).into_response());
    } else if rejection.is_not_found() || rejection.find::<Unrouted>().is_some() {
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
