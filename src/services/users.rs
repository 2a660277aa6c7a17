//! Users on db_a.

use sqlx::mysql::MySqlPool;

use super::{ServiceError, with_retry};
use crate::db::error::{self, code};
use crate::db::records;
use crate::domain::User;
use crate::domain::validation;

/// A validated change to a user; `None` keeps the stored value.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
}

pub async fn create(pool: &MySqlPool, name: &str, email: &str) -> Result<User, ServiceError> {
    let name = validation::name(name)?;
    let email = validation::email(email)?;
    with_retry(|| records::insert_user(pool, &name, &email))
        .await
        .map_err(|err| email_conflict(err, &email))
}

pub async fn get(pool: &MySqlPool, id: i64) -> Result<User, ServiceError> {
    records::fetch_user(pool, id)
        .await?
        .ok_or(ServiceError::NotFound { entity: "user", id })
}

pub async fn list(
    pool: &MySqlPool,
    after_id: Option<i64>,
    limit: u32,
) -> Result<Vec<User>, ServiceError> {
    Ok(records::list_users(pool, after_id, limit).await?)
}

pub async fn update(pool: &MySqlPool, id: i64, changes: UserChanges) -> Result<User, ServiceError> {
    let name = changes.name.as_deref().map(validation::name).transpose()?;
    let email = changes
        .email
        .as_deref()
        .map(validation::email)
        .transpose()?;
    with_retry(|| records::update_user(pool, id, name.as_deref(), email.as_deref()))
        .await
        .map_err(|err| email_conflict(err, email.as_deref().unwrap_or_default()))?
        .ok_or(ServiceError::NotFound { entity: "user", id })
}

pub async fn delete(pool: &MySqlPool, id: i64) -> Result<(), ServiceError> {
    match with_retry(|| records::delete_user(pool, id)).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ServiceError::NotFound { entity: "user", id }),
        Err(err)
            if matches!(
                error::number(&err),
                Some(code::ROW_IS_REFERENCED | code::ROW_IS_REFERENCED_2)
            ) =>
        {
            Err(ServiceError::Conflict {
                code: "user_has_orders",
                message: format!("user {id} has orders; delete them first"),
            })
        }
        Err(err) => Err(err.into()),
    }
}

fn email_conflict(err: sqlx::Error, email: &str) -> ServiceError {
    if error::number(&err) == Some(code::DUP_ENTRY) {
        ServiceError::Conflict {
            code: "email_taken",
            message: format!("email {email} is already used by another user"),
        }
    } else {
        err.into()
    }
}
