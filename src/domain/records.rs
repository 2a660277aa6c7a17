//! The two records the REST API serves: users and orders.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

/// A `DATETIME` as the database stores it, kept as its text (`2026-01-02 03:04:05.123456`).
///
/// Legacy rows hold zero and partial dates (`0000-00-00 00:00:00`, `2024-00-10`) that no
/// calendar type can represent; keeping the text shows them as they are instead of failing.
/// Valid times serialize as ISO 8601 (`2026-01-02T03:04:05.123456`), the others with the
/// same `T` separator and their digits unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbDateTime(pub String);

impl From<String> for DbDateTime {
    fn from(text: String) -> Self {
        DbDateTime(text)
    }
}

impl fmt::Display for DbDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for DbDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match chrono::NaiveDateTime::parse_from_str(&self.0, "%Y-%m-%d %H:%M:%S%.f") {
            Ok(time) => time.serialize(serializer),
            Err(_) => serializer.serialize_str(&self.0.replacen(' ', "T", 1)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub updated_at: DbDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Order {
    pub id: i64,
    pub user_id: i64,
    /// Serialized as a decimal string (`"12.30"`) so no client reads it through a float.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    #[sqlx(try_from = "String")]
    pub updated_at: DbDateTime,
}

/// Where an order stands; stored as the `orders.status` ENUM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Shipped,
    Delivered,
    Cancelled,
    /// The empty string MySQL stores for an invalid ENUM value under a permissive
    /// `sql_mode` (a legacy tool's write). Shown as `""`; never accepted as input.
    #[serde(rename = "")]
    Unset,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 4] = [
        OrderStatus::Pending,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Unset => "",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored status outside the column's ENUM (the schema was changed by hand).
#[derive(Debug, thiserror::Error)]
#[error("unknown order status {0:?}")]
pub struct UnknownStatus(String);

impl TryFrom<String> for OrderStatus {
    type Error = UnknownStatus;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.is_empty() {
            return Ok(OrderStatus::Unset);
        }
        OrderStatus::parse(&value).ok_or(UnknownStatus(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_serialize_as_iso_even_when_zero() {
        let json = |text: &str| serde_json::to_string(&DbDateTime(text.into())).unwrap();
        assert_eq!(
            json("2026-01-02 03:04:05.123456"),
            "\"2026-01-02T03:04:05.123456\""
        );
        assert_eq!(
            json("0000-00-00 00:00:00.000000"),
            "\"0000-00-00T00:00:00.000000\""
        );
        assert_eq!(json("2024-00-10 00:00:00"), "\"2024-00-10T00:00:00\"");
    }
}
