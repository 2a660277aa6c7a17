//! Orders on db_a.

use rust_decimal::Decimal;

use super::{ServiceError, with_retry};
use crate::db::error::{self, code};
use crate::db::kept::KeptConnections;
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
    db: &KeptConnections,
    user_id: i64,
    amount: Decimal,
    status: OrderStatus,
) -> Result<Order, ServiceError> {
    with_retry(|| db.run(async |conn| records::insert_order(conn, user_id, amount, status).await))
        .await
        .map_err(|err| missing_user(err, Some(user_id)))
}

pub async fn get(db: &KeptConnections, id: i64) -> Result<Order, ServiceError> {
    db.run(async |conn| records::fetch_order(conn, id).await)
        .await?
        .ok_or(ServiceError::NotFound {
            entity: "order",
            id,
        })
}

pub async fn list(
    db: &KeptConnections,
    filter: &OrderFilter,
    after_id: Option<i64>,
    limit: u32,
) -> Result<Vec<Order>, ServiceError> {
    Ok(db
        .run(async |conn| {
            records::list_orders(conn, filter.user_id, filter.status, after_id, limit).await
        })
        .await?)
}

pub async fn update(
    db: &KeptConnections,
    id: i64,
    changes: OrderChanges,
) -> Result<Order, ServiceError> {
    with_retry(|| {
        db.run(async |conn| {
            records::update_order(conn, id, changes.user_id, changes.amount, changes.status).await
        })
    })
    .await
    .map_err(|err| missing_user(err, changes.user_id))?
    .ok_or(ServiceError::NotFound {
        entity: "order",
        id,
    })
}

pub async fn delete(db: &KeptConnections, id: i64) -> Result<(), ServiceError> {
    match with_retry(|| db.run(async |conn| records::delete_order(conn, id).await)).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ServiceError::NotFound {
            entity: "order",
            id,
        }),
        Err(err) => Err(super::still_referenced(&err, "order", id).unwrap_or_else(|| err.into())),
    }
}

/// The foreign key is the check that `user_id` exists: no race with a concurrent delete.
/// Only when the request gave `user_id`: a foreign key a shop added to its `orders` (to a
/// table of its own) is not the user's.
fn missing_user(err: sqlx::Error, user_id: Option<i64>) -> ServiceError {
    let missing = matches!(
        error::number(&err),
        Some(code::NO_REFERENCED_ROW | code::NO_REFERENCED_ROW_2)
    );
    // "… FOREIGN KEY (`user_id`) REFERENCES `users` (`id`))"
    let ours = match &err {
        sqlx::Error::Database(db) => db.message().contains("(`user_id`) REFERENCES `users`"),
        _ => false,
    };
    match user_id {
        Some(user_id) if missing && ours => ServiceError::Invalid(FieldError {
            field: "user_id",
            message: format!("user_id {user_id} does not refer to an existing user"),
        }),
        _ => err.into(),
    }
}
