//! Domain logic, free of HTTP: users and orders CRUD on db_a, the sync engine, verify,
//! resync (the initial load), rebase and set-up. Errors say what went wrong in domain terms;
//! the HTTP layer picks the status.

pub mod load;
pub mod orders;
pub mod read_size;
pub mod setup;
pub mod site;
pub mod sync;
pub mod users;
pub mod verify;
pub mod watchdog;

use std::future::Future;
use std::time::Duration;

use crate::db::error::{self, Kind};
use crate::domain::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A value breaks an input rule (422).
    #[error("{}", .0.message)]
    Invalid(FieldError),
    /// No such record (404).
    #[error("{entity} {id} does not exist")]
    NotFound { entity: &'static str, id: i64 },
    /// The change conflicts with stored data (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// db_a does not answer, or cannot take work now: full, read-only, out of connections,
    /// a row or table held locked by another session (503; the client may try again).
    #[error("the local database (db_a) is unavailable: {}", error::describe(.0))]
    Unavailable(sqlx::Error),
    /// Anything the database did that the caller cannot fix (500; logged, not shown).
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<FieldError> for ServiceError {
    fn from(err: FieldError) -> Self {
        ServiceError::Invalid(err)
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        match error::classify(&err) {
            // A lock still held after the retries: db_a cannot take it now, as when busy.
            Kind::Connection | Kind::LockWait | Kind::Conflict => ServiceError::Unavailable(err),
            _ => ServiceError::Database(err),
        }
    }
}

/// A delete, or a change of a key, db_a refused because rows of another table still refer
/// to the record (1451): a 409 naming that table — `user_has_orders` where it is a user's
/// orders, the one case the API's own tables make.
pub(crate) fn still_referenced(err: &sqlx::Error, entity: &str, id: i64) -> Option<ServiceError> {
    let refused = matches!(
        error::number(err),
        Some(error::code::ROW_IS_REFERENCED | error::code::ROW_IS_REFERENCED_2)
    );
    if !refused {
        return None;
    }
    // "… a foreign key constraint fails (`db`.`child`, CONSTRAINT …": the child table.
    let child = match err {
        sqlx::Error::Database(db) => db
            .message()
            .split_once("fails (`")
            .and_then(|(_, rest)| rest.split_once("`.`"))
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(table, _)| table.to_string()),
        _ => None,
    };
    Some(match child.as_deref() {
        Some("orders") if entity == "user" => ServiceError::Conflict {
            code: "user_has_orders",
            message: format!("user {id} has orders; delete them first"),
        },
        Some(table) => ServiceError::Conflict {
            code: "still_referenced",
            message: format!(
                "{entity} {id} is still referred to by rows of `{table}`; delete or change them first"
            ),
        },
        None => ServiceError::Conflict {
            code: "still_referenced",
            message: format!(
                "{entity} {id} is still referred to by other rows; delete or change them first"
            ),
        },
    })
}

/// Attempts of one write when the server answers with a deadlock or lock wait.
const WRITE_ATTEMPTS: u32 = 4;

/// Runs a write, again when it hit a deadlock (1213) or a lock wait (1205): both roll back
/// the statement cleanly, and under many concurrent clients they are normal, not failures.
pub(crate) async fn with_retry<T, F, Fut>(mut write: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempt = 1;
    loop {
        match write().await {
            Err(err)
                if attempt < WRITE_ATTEMPTS
                    && matches!(error::classify(&err), Kind::Conflict | Kind::LockWait) =>
            {
                tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}
