//! Turns a raw `sync_queue` row into a typed [`Change`], or says why it cannot be applied.
//! A row that fails here never reaches SQL: its table name and payload are data, not code.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::db::central::Table;
use crate::db::local::QueuedChange;
use crate::models::{ORDER_STATUSES, Order, User};

/// What applying a change does to its record in db_b.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// INSERT and UPDATE both write the full row image: replaying either is idempotent.
    UpsertUser(User),
    UpsertOrder(Order),
    Delete,
}

/// The captured operation, kept for metrics and logs (INSERT and UPDATE apply alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Insert,
    Update,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "INSERT",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub queue_id: i64,
    pub table: Table,
    pub record_id: i64,
    pub operation: Operation,
    pub retry_count: i32,
    pub action: Action,
}

impl Change {
    /// The (table, record) this change belongs to: changes of one key apply in id order.
    pub fn key(&self) -> (Table, i64) {
        (self.table, self.record_id)
    }

    pub fn is_delete(&self) -> bool {
        matches!(self.action, Action::Delete)
    }
}

#[derive(Deserialize)]
struct UserImage {
    id: i64,
    name: String,
    email: String,
    updated_at: String,
}

#[derive(Deserialize)]
struct OrderImage {
    id: i64,
    user_id: i64,
    amount: String,
    status: String,
    updated_at: String,
}

/// Decodes one queue row. The error is the `last_error` to store with the FAILED change.
pub fn decode(raw: &QueuedChange) -> Result<Change, String> {
    let table = Table::parse(&raw.table_name).ok_or_else(|| {
        format!(
            "unknown table_name {:?}: only users and orders are synced",
            truncate(&raw.table_name)
        )
    })?;
    let operation = match raw.operation.as_str() {
        "INSERT" => Operation::Insert,
        "UPDATE" => Operation::Update,
        "DELETE" => Operation::Delete,
        other => return Err(format!("unknown operation {:?}", truncate(other))),
    };
    let action = match operation {
        Operation::Delete => Action::Delete,
        Operation::Insert | Operation::Update => {
            let payload = raw
                .payload
                .as_deref()
                .ok_or_else(|| format!("{} change has no payload (row image)", raw.operation))?;
            match table {
                Table::Users => Action::UpsertUser(decode_user(payload, raw.record_id)?),
                Table::Orders => Action::UpsertOrder(decode_order(payload, raw.record_id)?),
            }
        }
    };
    Ok(Change {
        queue_id: raw.id,
        table,
        record_id: raw.record_id,
        operation,
        retry_count: raw.retry_count,
        action,
    })
}

fn decode_user(payload: &str, record_id: i64) -> Result<User, String> {
    let image: UserImage =
        serde_json::from_str(payload).map_err(|e| format!("unreadable users payload: {e}"))?;
    check_id(image.id, record_id)?;
    Ok(User {
        id: image.id,
        name: image.name,
        email: image.email,
        updated_at: parse_timestamp(&image.updated_at)?,
    })
}

fn decode_order(payload: &str, record_id: i64) -> Result<Order, String> {
    let image: OrderImage =
        serde_json::from_str(payload).map_err(|e| format!("unreadable orders payload: {e}"))?;
    check_id(image.id, record_id)?;
    let amount: Decimal = image.amount.parse().map_err(|_| {
        format!(
            "unreadable orders payload: amount {:?} is not a decimal",
            truncate(&image.amount)
        )
    })?;
    if !ORDER_STATUSES.contains(&image.status.as_str()) {
        return Err(format!(
            "unreadable orders payload: status {:?} is not a known status",
            truncate(&image.status)
        ));
    }
    Ok(Order {
        id: image.id,
        user_id: image.user_id,
        amount,
        status: image.status,
        updated_at: parse_timestamp(&image.updated_at)?,
    })
}

fn check_id(payload_id: i64, record_id: i64) -> Result<(), String> {
    if payload_id == record_id {
        Ok(())
    } else {
        Err(format!(
            "payload id {payload_id} does not match record_id {record_id}"
        ))
    }
}

fn parse_timestamp(value: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f").map_err(|_| {
        format!(
            "unreadable payload: updated_at {:?} is not a timestamp",
            truncate(value)
        )
    })
}

/// Hand-written rows can hold anything; keep error texts short.
fn truncate(value: &str) -> String {
    value.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(table: &str, op: &str, payload: Option<&str>) -> QueuedChange {
        QueuedChange {
            id: 7,
            table_name: table.into(),
            record_id: 3,
            operation: op.into(),
            payload: payload.map(Into::into),
            retry_count: 0,
            due: 1,
        }
    }

    #[test]
    fn decodes_row_images_exactly() {
        let change = decode(&raw(
            "orders",
            "UPDATE",
            Some(r#"{"id": 3, "user_id": 1, "amount": "0.30", "status": "shipped", "updated_at": "2026-01-02 03:04:05.123456"}"#),
        ))
        .unwrap();
        let Action::UpsertOrder(order) = change.action else {
            panic!("not an order upsert")
        };
        assert_eq!(order.amount.to_string(), "0.30");
        assert_eq!(order.updated_at.to_string(), "2026-01-02 03:04:05.123456");
    }

    #[test]
    fn rejects_what_cannot_be_applied() {
        assert!(
            decode(&raw("users; DROP TABLE users", "DELETE", None))
                .unwrap_err()
                .contains("unknown table_name")
        );
        assert!(
            decode(&raw("users", "INSERT", None))
                .unwrap_err()
                .contains("no payload")
        );
        assert!(
            decode(&raw("users", "INSERT", Some("{oops")))
                .unwrap_err()
                .contains("unreadable")
        );
        let wrong_id =
            r#"{"id": 4, "name": "a", "email": "a@x", "updated_at": "2026-01-02 03:04:05"}"#;
        assert!(
            decode(&raw("users", "INSERT", Some(wrong_id)))
                .unwrap_err()
                .contains("does not match")
        );
        assert!(decode(&raw("users", "DELETE", None)).is_ok());
    }
}
