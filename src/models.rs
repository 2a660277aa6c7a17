//! The records dbsync reads and writes, shared by the database, service and HTTP layers.

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Order {
    pub id: i64,
    pub user_id: i64,
    /// Serialized as a decimal string (`"12.30"`) so no client reads it through a float.
    pub amount: Decimal,
    pub status: String,
    pub updated_at: NaiveDateTime,
}

pub const ORDER_STATUSES: [&str; 4] = ["pending", "shipped", "delivered", "cancelled"];

/// The state of one captured change in `sync_queue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SyncStatus {
    Pending,
    Synced,
    Failed,
}

impl SyncStatus {
    pub const ALL: [SyncStatus; 3] = [SyncStatus::Pending, SyncStatus::Synced, SyncStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Pending => "PENDING",
            SyncStatus::Synced => "SYNCED",
            SyncStatus::Failed => "FAILED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value))
    }
}

/// One row of `sync_queue` as shown to operators (the payload stays in the database).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QueueEntry {
    pub id: i64,
    pub table_name: String,
    pub record_id: i64,
    pub operation: String,
    pub sync_status: String,
    pub retry_count: i32,
    pub last_error: Option<String>,
    pub last_updated_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// One row of `sync_runs`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SyncRun {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: String,
    pub applied: i64,
    pub failed: i64,
    pub message: Option<String>,
}

/// A page of a list: pass `next_after_id` back as `after_id` for the next page.
#[derive(Debug, Serialize)]
pub struct Listing<T: Serialize> {
    pub items: Vec<T>,
    pub next_after_id: Option<i64>,
}

impl<T: Serialize> Listing<T> {
    pub fn new(items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> i64) -> Self {
        let next_after_id = if items.len() as u32 == limit {
            items.last().map(&id_of)
        } else {
            None
        };
        Listing {
            items,
            next_after_id,
        }
    }
}
