//! The one JSON error shape of the API: `{"error": {"code": "...", "message": "..."}}`.
//! Database and unexpected errors become a 500 with a generic message; the cause is logged.

use serde::Serialize;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::services::ServiceError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The field at fault, for validation errors.
    pub field: Option<&'static str>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unprocessable(field: Option<&'static str>, message: impl Into<String>) -> Self {
        ApiError {
            field,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server could not complete the request; the cause is in its log",
        )
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(field_error) => {
                Self::unprocessable(Some(field_error.field), field_error.message)
            }
            ServiceError::NotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", err.to_string())
            }
            ServiceError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            ServiceError::Database(cause) => {
                tracing::error!(error = %cause, "database error while handling a request");
                Self::internal()
            }
        }
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field,
            },
        };
        warp::reply::with_status(warp::reply::json(&body), self.status).into_response()
    }
}

/// Turns a handler's result into a response: the value as JSON with `status`, or the error.
pub fn respond<T: Serialize>(result: Result<T, ApiError>, status: StatusCode) -> Response {
    match result {
        Ok(value) => warp::reply::with_status(warp::reply::json(&value), status).into_response(),
        Err(err) => err.into_response(),
    }
}

impl From<crate::utils::validation::FieldError> for ApiError {
    fn from(err: crate::utils::validation::FieldError) -> Self {
        Self::unprocessable(Some(err.field), err.message)
    }
}

impl From<ApiError> for Response {
    fn from(err: ApiError) -> Self {
        err.into_response()
    }
}
