//! Users on db_a.

use sqlx::mysql::MySqlPool;

use super::{ER_DUP_ENTRY, ER_ROW_IS_REFERENCED, ServiceError, error_number};
use crate::db::local;
use crate::models::User;
use crate::utils::validation;

/// A validated change to a user; `None` keeps the stored value.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
}

pub async fn create(pool: &MySqlPool, name: &str, email: &str) -> Result<User, ServiceError> {
    let name = validation::name(name)?;
    let email = validation::email(email)?;
    local::insert_user(pool, &name, &email)
        .await
        .map_err(|err| email_conflict(err, &email))
}

pub async fn get(pool: &MySqlPool, id: i64) -> Result<User, ServiceError> {
    local::fetch_user(pool, id)
        .await?
        .ok_or(ServiceError::NotFound { entity: "user", id })
}

pub async fn list(pool: &MySqlPool, after_id: i64, limit: u32) -> Result<Vec<User>, ServiceError> {
    Ok(local::list_users(pool, after_id, limit).await?)
}

pub async fn update(pool: &MySqlPool, id: i64, changes: UserChanges) -> Result<User, ServiceError> {
    let name = changes.name.as_deref().map(validation::name).transpose()?;
    let email = changes
        .email
        .as_deref()
        .map(validation::email)
        .transpose()?;
    let found = local::update_user(pool, id, name.as_deref(), email.as_deref())
        .await
        .map_err(|err| email_conflict(err, email.as_deref().unwrap_or_default()))?;
    if !found {
        return Err(ServiceError::NotFound { entity: "user", id });
    }
    get(pool, id).await
}

pub async fn delete(pool: &MySqlPool, id: i64) -> Result<(), ServiceError> {
    match local::delete_user(pool, id).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ServiceError::NotFound { entity: "user", id }),
        Err(err) if error_number(&err) == Some(ER_ROW_IS_REFERENCED) => {
            Err(ServiceError::Conflict {
                code: "user_has_orders",
                message: format!("user {id} has orders; delete them first"),
            })
        }
        Err(err) => Err(err.into()),
    }
}

fn email_conflict(err: sqlx::Error, email: &str) -> ServiceError {
    if error_number(&err) == Some(ER_DUP_ENTRY) {
        ServiceError::Conflict {
            code: "email_taken",
            message: format!("email {email} is already used by another user"),
        }
    } else {
        err.into()
    }
}
