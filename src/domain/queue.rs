//! The sync queue and the run log as operators see them: statuses, operations, outcomes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The state of one captured change in `sync_queue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

    /// Case-blind, for query strings and command-line arguments.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value))
    }
}

impl TryFrom<String> for SyncStatus {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        SyncStatus::parse(&value).ok_or(UnknownValue(value))
    }
}

/// The captured operation. INSERT and UPDATE apply alike (the full row image).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
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

    pub fn parse(value: &str) -> Option<Self> {
        [Operation::Insert, Operation::Update, Operation::Delete]
            .into_iter()
            .find(|op| op.as_str() == value)
    }
}

impl TryFrom<String> for Operation {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Operation::parse(&value).ok_or(UnknownValue(value))
    }
}

/// How a sync run ended. Each has its own exit code for `dbsync sync` (see `cli`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still going (or its process died; the next run closes it as `interrupted`).
    Running,
    /// Every change that was due when the run started is in db_b.
    Synced,
    /// The run went through, but some changes were rejected by db_b or are still
    /// backing off after an earlier rejection.
    Partial,
    /// `IS_ONLINE=false` or db_b did not answer: nothing was touched.
    Offline,
    /// db_b went away mid-run, the cluster refused work, or shutdown was requested.
    Interrupted,
    /// db_a failed under the run (the queue could not be read or marked).
    Failed,
    /// The queue's ids went backwards (a TRUNCATE, or db_a restored from an older dump):
    /// nothing was applied; `dbsync rebase` repairs it.
    Rewound,
    /// A synced table's definition changed since `dbsync init` captured it: nothing was
    /// applied; `dbsync init` updates the triggers and db_b.
    SchemaChanged,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Running,
        Outcome::Synced,
        Outcome::Partial,
        Outcome::Offline,
        Outcome::Interrupted,
        Outcome::Failed,
        Outcome::Rewound,
        Outcome::SchemaChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Synced => "synced",
            Outcome::Partial => "partial",
            Outcome::Offline => "offline",
            Outcome::Interrupted => "interrupted",
            Outcome::Failed => "failed",
            Outcome::Rewound => "rewound",
            Outcome::SchemaChanged => "schema_changed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == value)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Outcome {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Outcome::parse(&value).ok_or(UnknownValue(value))
    }
}

/// A stored value outside the set the code knows.
#[derive(Debug, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(String);

/// One row of `sync_queue` as shown to operators (the payload stays in the database).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QueueEntry {
    pub id: i64,
    pub table_name: String,
    /// The key when it is one integer column; `null` for other key shapes.
    pub record_id: Option<i64>,
    /// The full key as a JSON array text, for string and composite keys.
    pub record_key: Option<String>,
    /// Text rather than [`Operation`]: a hand-written row may hold anything.
    pub operation: String,
    #[sqlx(try_from = "String")]
    pub sync_status: SyncStatus,
    pub retry_count: i32,
    pub last_error: Option<String>,
    /// When the change was captured.
    pub created_at: DateTime<Utc>,
    pub last_updated_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// One row of `sync_runs`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SyncRun {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    pub outcome: Outcome,
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
