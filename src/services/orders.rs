//! Orders on db_a.

use rust_decimal::Decimal;
use sqlx::mysql::MySqlPool;

use super::{ServiceError, with_retry};
use crate::db::error::{self, code};
use crate::db::records;
use crate::domain::validation::FieldError;
use crate::domain::{Order, OrderStatus};

/// A validated change to an order; `None` keeps the stored value.
#[derive(Debug, Default)]
pub struct OrderChanges {
    pub user_id: Option<i64>,
    pub amount: Option<Decimal>,
    pub status: Option<OrderStatus>,
}

/// Filters for listing orders.
#[derive(Debug, Default)]
pub struct OrderFilter {
    pub user_id: Option<i64>,
    pub status: Option<OrderStatus>,
}

pub async fn create(
    pool: &MySqlPool,
    user_id: i64,
    amount: Decimal,
    status: OrderStatus,
) -> Result<Order, ServiceError> {
    with_retry(|| records::insert_order(pool, user_id, amount, status))
        .await
        .map_err(|err| missing_user(err, user_id))
}

pub async fn get(pool: &MySqlPool, id: i64) -> Result<Order, ServiceError> {
    records::fetch_order(pool, id)
        .await?
        .ok_or(ServiceError::NotFound {
            entity: "order",
            id,
        })
}

pub async fn list(
    pool: &MySqlPool,
    filter: &OrderFilter,
    after_id: Option<i64>,
    limit: u32,
) -> Result<Vec<Order>, ServiceError> {
    Ok(records::list_orders(pool, filter.user_id, filter.status, after_id, limit).await?)
}

pub async fn update(
    pool: &MySqlPool,
    id: i64,
    changes: OrderChanges,
) -> Result<Order, ServiceError> {
    with_retry(|| records::update_order(pool, id, changes.user_id, changes.amount, changes.status))
        .await
        .map_err(|err| missing_user(err, changes.user_id.unwrap_or_default()))?
        .ok_or(ServiceError::NotFound {
            entity: "order",
            id,
        })
}

pub async fn delete(pool: &MySqlPool, id: i64) -> Result<(), ServiceError> {
    if with_retry(|| records::delete_order(pool, id)).await? {
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
    if matches!(
        error::number(&err),
        Some(code::NO_REFERENCED_ROW | code::NO_REFERENCED_ROW_2)
    ) {
        ServiceError::Invalid(FieldError {
            field: "user_id",
            message: format!("user_id {user_id} does not refer to an existing user"),
        })
    } else {
        err.into()
    }
}
