//! The request pieces every route shares: JSON bodies, query strings, pages, the bearer
//! token, `GET` that also answers `HEAD`, and filter-level rejections as JSON errors.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::error::ApiError;
use super::route_table::RouteTable;
use crate::config::ApiToken;

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: u64 = 64 * 1024;
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 500;

/// A JSON answer with `status`.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

/// Any reply as a plain response, so routes of different reply types can be joined.
pub fn respond<R: Reply>(reply: R) -> Response {
    reply.into_response()
}

/// `GET`, and `HEAD` on the same path (hyper sends the headers without the body).
pub fn get_or_head() -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::get().or(warp::head()).unify()
}

/// A request body with the content type it was sent with.
#[derive(Debug)]
pub struct JsonBody {
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

impl JsonBody {
    /// 415 unless the body is declared JSON; 400 when it is not a JSON object of shape `T`
    /// (unknown fields included: a typo must not be silently ignored). Every body the API
    /// takes is an object: serde would also take `T`'s fields as an array, by position,
    /// past every field name check.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let is_json = self.content_type.as_deref().is_some_and(|ct| {
            let mime = ct.split(';').next().unwrap_or_default().trim();
            mime.eq_ignore_ascii_case("application/json")
        });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let first = self.bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') {
            return Err(ApiError::bad_request(
                "the body must be a JSON object ({\"field\": value, …})",
            ));
        }
        serde_json::from_slice(&self.bytes)
            .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))
    }
}

pub fn json_body() -> impl Filter<Extract = (JsonBody,), Error = Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY_BYTES)
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::stream())
        .and_then(|content_type, body| async move {
            let bytes = tokio::time::timeout(BODY_READ_TIMEOUT, read_body(body))
                .await
                .map_err(|_| warp::reject::custom(BodyTimedOut))?
                .map_err(|_| warp::reject::custom(BodyUnreadable))?;
            Ok::<_, Rejection>(JsonBody {
                content_type,
                bytes,
            })
        })
}

/// A client that has sent a request's headers but not all of its body by then gets a 408:
/// a stalled sender must not hold its connection, nor a stop of the service, for ever.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

async fn read_body(
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Bytes, warp::Error> {
    let mut body = std::pin::pin!(body);
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.next().await {
        bytes.put(chunk?);
    }
    Ok(bytes.freeze())
}

#[derive(Debug)]
struct BodyTimedOut;

impl warp::reject::Reject for BodyTimedOut {}

#[derive(Debug)]
struct BodyUnreadable;

impl warp::reject::Reject for BodyUnreadable {}

/// The raw query string, empty when there is none.
pub fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// A query string as `T` (which denies unknown fields, so typos show): 400 otherwise.
pub fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw)
        .map_err(|err| ApiError::bad_request(format!("invalid query string: {err}")))
}

/// `limit` (1–500, default 50), checked.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(format!(
            "limit must be a whole number from 1 to {MAX_PAGE}"
        ))),
    }
}

/// Passes when no token is configured, or the request carries `Bearer <token>`.
/// Compared in constant time; the token is never logged.
pub fn authorized(
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
                if bool::from(offered.as_bytes().ct_eq(token.0.expose_secret().as_bytes())) {
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

/// Matches every request no route took and remembers its path, so a 405 can list the
/// methods that path does accept.
#[derive(Debug)]
struct Unrouted(String);

impl warp::reject::Reject for Unrouted {}

pub fn unrouted() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path::full().and_then(|path: warp::path::FullPath| async move {
        Err::<Response, _>(warp::reject::custom(Unrouted(path.as_str().to_string())))
    })
}

/// Filter-level rejections as JSON errors. The order follows warp's own preference:
/// a specific 4xx over 405, and 405 over 404.
pub async fn rejection_to_json(
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
    } else if rejection.find::<BodyTimedOut>().is_some() {
        let error = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        );
        return Ok(warp::reply::with_header(error, "connection", "close").into_response());
    } else if rejection.find::<BodyUnreadable>().is_some() {
        ApiError::bad_request("the request body could not be read")
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
    Ok(error.into_response())
}
