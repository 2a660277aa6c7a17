//! Domain logic, free of HTTP: users and orders CRUD on db_a, the sync engine, verify and
//! set-up. Errors say what went wrong in domain terms; the HTTP layer picks the status.

pub mod orders;
pub mod resync;
pub mod setup;
pub mod sync;
pub mod users;
pub mod verify;

use crate::db;
use crate::utils::validation::FieldError;

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
    /// Anything the database did that the caller cannot fix (500; logged, not shown).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<FieldError> for ServiceError {
    fn from(err: FieldError) -> Self {
        ServiceError::Invalid(err)
    }
}

/// The MySQL error number, when `err` is a server error.
pub(crate) fn error_number(err: &sqlx::Error) -> Option<u16> {
    match err {
        sqlx::Error::Database(db_err) => db::mysql_error_number(db_err.as_ref()),
        _ => None,
    }
}

pub(crate) const ER_DUP_ENTRY: u16 = 1062;
pub(crate) const ER_ROW_IS_REFERENCED: u16 = 1451;
pub(crate) const ER_NO_REFERENCED_ROW: u16 = 1452;
