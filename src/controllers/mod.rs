//! Request handlers: parse the request, call a service, shape the JSON answer.
//! Each handler returns a complete response (errors included), so a domain error never
//! becomes a warp rejection.

pub mod health;
pub mod orders;
pub mod sync;
pub mod users;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use warp::http::StatusCode;

use crate::utils::http_error::ApiError;

/// A request body with the content type it was sent with.
#[derive(Debug)]
pub struct JsonBody {
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

impl JsonBody {
    /// 415 unless the body is declared JSON; 400 when it is not valid JSON of shape `T`
    /// (unknown fields included: a typo must not be silently ignored).
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
        serde_json::from_slice(&self.bytes)
            .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))
    }
}

/// The query string as key/value pairs; unknown keys are an error so typos show.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: &str, allowed: &[&str]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|_| ApiError::bad_request("the query string is not valid URL encoding"))?;
        if let Some((key, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {key:?}; accepted: {}",
                allowed.join(", ")
            )));
        }
        Ok(Query(pairs))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn int(&self, key: &'static str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{key} must be a whole number from {min} to {max}"
                    ))
                }),
        }
    }

    /// `limit` (1–500, default 50) and `after_id` (default 0) for keyset pagination.
    pub fn page(&self) -> Result<Page, ApiError> {
        Ok(Page {
            limit: self
                .int("limit", 1, MAX_PAGE as i64)?
                .unwrap_or(DEFAULT_PAGE as i64) as u32,
            after_id: self.int("after_id", 0, i64::MAX)?.unwrap_or(0),
        })
    }
}

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 500;

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: u32,
    pub after_id: i64,
}
