//! Orders on db_a.

use rust_decimal::Decimal;
use sqlx::mysql::MySqlPool;

use super::{ER_NO_REFERENCED_ROW, ServiceError, error_number};
use crate::db::local;
use crate::models::Order;
use crate::utils::validation::{self, FieldError};

/// A validated change to an order; `None` keeps the stored value.
#[derive(Debug, Default)]
pub struct OrderChanges {
    pub user_id: Option<i64>,
    pub amount: Option<Decimal>,
    pub status: Option<String>,
}

/// Filters for listing orders.
#[derive(Debug, Default)]
pub struct OrderFilter {
    pub user_id: Option<i64>,
    pub status: Option<String>,
}

pub async fn create(
    pool: &MySqlPool,
    user_id: i64,
    amount: Decimal,
    status: &str,
) -> Result<Order, ServiceError> {
    let user_id = validation::id("user_id", user_id)?;
    let status = validation::status(status)?;
    local::insert_order(pool, user_id, amount, &status)
        .await
        .map_err(|err| missing_user(err, user_id))
}

pub async fn get(pool: &MySqlPool, id: i64) -> Result<Order, ServiceError> {
    local::fetch_order(pool, id)
        .await?
        .ok_or(ServiceError::NotFound {
            entity: "order",
            id,
        })
}

pub async fn list(
    pool: &MySqlPool,
    filter: &OrderFilter,
    after_id: i64,
    limit: u32,
) -> Result<Vec<Order>, ServiceError> {
    let status = filter
        .status
        .as_deref()
        .map(validation::status)
        .transpose()?;
    Ok(local::list_orders(pool, filter.user_id, status.as_deref(), after_id, limit).await?)
}

pub async fn update(
    pool: &MySqlPool,
    id: i64,
    changes: OrderChanges,
) -> Result<Order, ServiceError> {
    let user_id = changes
        .user_id
        .map(|u| validation::id("user_id", u))
        .transpose()?;
    let status = changes
        .status
        .as_deref()
        .map(validation::status)
        .transpose()?;
    let found = local::update_order(pool, id, user_id, changes.amount, status.as_deref())
        .await
        .map_err(|err| missing_user(err, user_id.unwrap_or_default()))?;
    if !found {
        return Err(ServiceError::NotFound {
            entity: "order",
            id,
        });
    }
    get(pool, id).await
}

pub async fn delete(pool: &MySqlPool, id: i64) -> Result<(), ServiceError> {
    if local::delete_order(pool, id).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound {
            entity: "order",
            id,
        })
    }
}

/// The foreign key is the check that `user_id` exists: no race with a concurrent delete.
fn missing_user(err: sqlx::Error, user_id: i64) -> ServiceError {
    if error_number(&err) == Some(ER_NO_REFERENCED_ROW) {
        ServiceError::Invalid(FieldError {
            field: "user_id",
            message: format!("user_id {user_id} does not refer to an existing user"),
        })
    } else {
        err.into()
    }
}
