//! Users on db_a.

use super::{ServiceError, with_retry};
use crate::db::error::{self, code};
use crate::db::kept::KeptConnections;
use crate::db::records;
use crate::domain::User;
use crate::domain::validation;

/// A validated change to a user; `None` keeps the stored value.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
}

pub async fn create(db: &KeptConnections, name: &str, email: &str) -> Result<User, ServiceError> {
    let name = validation::name(name)?;
    let email = validation::email(email)?;
    with_retry(|| db.run(async |conn| records::insert_user(conn, &name, &email).await))
        .await
        .map_err(|err| email_conflict(err, Some(&email)))
}

pub async fn get(db: &KeptConnections, id: i64) -> Result<User, ServiceError> {
    db.run(async |conn| records::fetch_user(conn, id).await)
        .await?
        .ok_or(ServiceError::NotFound { entity: "user", id })
}

pub async fn list(
    db: &KeptConnections,
    after_id: Option<i64>,
    limit: u32,
) -> Result<Vec<User>, ServiceError> {
    Ok(db
        .run(async |conn| records::list_users(conn, after_id, limit).await)
        .await?)
}

pub async fn update(
    db: &KeptConnections,
    id: i64,
    changes: UserChanges,
) -> Result<User, ServiceError> {
    let name = changes.name.as_deref().map(validation::name).transpose()?;
    let email = changes
        .email
        .as_deref()
        .map(validation::email)
        .transpose()?;
    with_retry(|| {
        db.run(async |conn| records::update_user(conn, id, name.as_deref(), email.as_deref()).await)
    })
    .await
    .map_err(|err| match super::still_referenced(&err, "user", id) {
        // A key another table refers to (RESTRICT on update) cannot change.
        Some(referenced) => referenced,
        None => email_conflict(err, email.as_deref()),
    })?
    .ok_or(ServiceError::NotFound { entity: "user", id })
}

pub async fn delete(db: &KeptConnections, id: i64) -> Result<(), ServiceError> {
    match with_retry(|| db.run(async |conn| records::delete_user(conn, id).await)).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ServiceError::NotFound { entity: "user", id }),
        Err(err) => Err(super::still_referenced(&err, "user", id).unwrap_or_else(|| err.into())),
    }
}

/// A unique key refusing the write: the email's (a key named for it, `uq_users_email`) is
/// `email_taken`; one a shop added to its `users` (a unique name, a phone) is named as it is.
fn email_conflict(err: sqlx::Error, email: Option<&str>) -> ServiceError {
    if error::number(&err) != Some(code::DUP_ENTRY) {
        return err.into();
    }
    let message = match &err {
        sqlx::Error::Database(db) => db.message().to_string(),
        _ => String::new(),
    };
    // "Duplicate entry 'ana@x.io' for key 'uq_users_email'" (MySQL: 'users.uq_users_email'):
    // the email's key holds the email given, and is named for it.
    let (entry, key) = message
        .split_once("Duplicate entry '")
        .and_then(|(_, rest)| rest.rsplit_once("' for key '"))
        .map(|(entry, key)| (entry.to_lowercase(), key.to_ascii_lowercase()))
        .unwrap_or_default();
    let the_emails = |email: &str| entry == email.to_lowercase() && key.contains("email");
    match email {
        Some(email) if the_emails(email) => ServiceError::Conflict {
            code: "email_taken",
            message: format!("email {email} is already used by another user"),
        },
        _ => ServiceError::Conflict {
            code: "duplicate",
            message: format!("another user already has that value: {message}"),
        },
    }
}
