//! The one JSON error shape of the API: `{"error": {"code": "...", "message": "..."}}`.

use serde::Serialize;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::db::error::{self, Kind};
use crate::domain::validation::FieldError;
use crate::services::ServiceError;

/// An error answer. Built from a [`ServiceError`] by its variant:
/// - `Invalid` → 422 `validation_failed` with the field,
/// - `NotFound` → 404 `not_found`,
/// - `Conflict` → 409 with the service's code,
/// - `Unavailable` → 503 `unavailable` (db_a does not answer; try again),
/// - `Database` of a missing table or column → 503 `not_set_up`; any other → 500
///   `internal_error` with a generic message; the cause is logged.
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

    /// 400: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422: well-formed, but a value breaks a rule.
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

    /// 500 with a generic message: the cause goes to the log, not to the client.
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
            ServiceError::Invalid(field_error) => field_error.into(),
            ServiceError::NotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", err.to_string())
            }
            ServiceError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            // Still locked after the API's short lock waits, tried again a few times.
            ServiceError::Unavailable(cause)
                if matches!(error::classify(&cause), Kind::LockWait | Kind::Conflict) =>
            {
                tracing::warn!(error = %error::describe(&cause), "a request gave up waiting on a lock in db_a");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "a row or table this request needs stays locked by another session in db_a \
                     (nothing was changed); try again shortly",
                )
            }
            // db_a answered, but cannot take work now (disk full, read-only, too many
            // connections): the operator's to see, not a network blip.
            ServiceError::Unavailable(cause) if error::number(&cause).is_some() => {
                tracing::error!(error = %error::describe(&cause), "db_a refused a request");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the local database (db_a) cannot take this request now (see the service's \
                     log); try again shortly",
                )
            }
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "db_a did not answer a request");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the local database (db_a) does not answer; try again shortly",
                )
            }
            // A table or column the API needs is missing (SYNC_TABLES without the sample
            // tables, or `init` not run), or access to it denied: a setup to finish.
            ServiceError::Database(cause) if error::classify(&cause) == Kind::Schema => {
                tracing::error!(error = %error::describe(&cause), "db_a is not set up for a request");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_set_up",
                    "db_a lacks a table or column this request needs, or access to it (see the \
                     service's log): `dbsync init` makes users and orders when SYNC_TABLES lists them",
                )
            }
            ServiceError::Database(cause) => {
                tracing::error!(error = %cause, "database error while handling a request");
                Self::internal()
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ServiceError::from(err).into()
    }
}

impl From<FieldError> for ApiError {
    fn from(err: FieldError) -> Self {
        Self::unprocessable(Some(err.field), err.message)
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
