//! What a run reports: its outcome and counts, as one line for people and as JSON.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Outcome;
use crate::services::load::LoadSummary;

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub outcome: Outcome,
    /// Changes now SYNCED (written to db_b, or superseded by a newer one already there).
    pub applied: u64,
    /// Changes db_b rejected in this run (each now backing off, or FAILED).
    pub failed: u64,
    /// Changes held back without blame: their row, or one they rely on, was busy in db_b
    /// (locked, deadlocked), or why db_b refused them could not be checked.
    pub held_back: u64,
    /// What the initial load did in this run, when one ran.
    pub loaded: Option<LoadSummary>,
    /// PENDING changes backing off after a rejection when the run ended.
    pub waiting: i64,
    /// When the first of those is due again.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// PENDING changes left after the run (waiting, held back, or newer than the run).
    pub remaining: i64,
    pub elapsed_ms: u128,
    pub message: Option<String>,
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sync run {}: {} — applied {}, failed {}, remaining {}",
            self.run_id, self.outcome, self.applied, self.failed, self.remaining
        )?;
        if let Some(load) = &self.loaded {
            write!(
                f,
                ", load: checked {}, copied {}, removed {} (rows only db_b had)",
                load.checked, load.copied, load.removed
            )?;
            if load.refused > 0 {
                write!(f, ", refused by db_b {} (see the log)", load.refused)?;
            }
        }
        if self.held_back > 0 {
            write!(f, ", held back {}", self.held_back)?;
        }
        if self.waiting > 0 {
            write!(f, ", waiting {}", self.waiting)?;
            if let Some(at) = self.next_retry_at {
                write!(f, " (next retry at {})", at.format("%H:%M:%S UTC"))?;
            }
        }
        write!(f, ", elapsed {:.2}s", self.elapsed_ms as f64 / 1000.0)?;
        if let Some(message) = &self.message {
            write!(f, " ({message})")?;
        }
        Ok(())
    }
}

/// How a run's message begins when db_b failed it (connection lost, refused work): `status`
/// reads db_b as unreachable from it.
pub const CENTRAL_FAILED: &str = "db_b: ";

/// The message of a run that db_b failed with `err`.
pub fn central_failed(err: &sqlx::Error) -> String {
    format!("{CENTRAL_FAILED}{}", crate::db::error::describe(err))
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("a sync run is already in progress")]
    AlreadyRunning,
    #[error(transparent)]
    Connect(#[from] crate::db::ConnectError),
    #[error("the local database (db_a) failed: {}", crate::db::error::describe(.0))]
    Local(#[from] sqlx::Error),
    #[error("the central database (db_b) failed: {}", crate::db::error::describe(.0))]
    Central(sqlx::Error),
    #[error("{0}")]
    Refused(String),
    #[error("the sync run stopped unexpectedly: {0}")]
    Crashed(String),
    /// A stop came while db_b was being reached, before anything was set up.
    #[error("stopped by a signal before db_b answered; nothing was set up")]
    Stopped,
}

/// Counts a run keeps while it goes.
#[derive(Debug, Default)]
pub struct Tally {
    /// What the initial load did in this run, when it ran.
    pub loaded: Option<LoadSummary>,
    pub applied: u64,
    pub failed: u64,
    pub held_back: u64,
    pub note: Option<String>,
    /// The run's work was dropped mid-flight (the watchdog): its db_a connection may be in
    /// the middle of a statement, and is not used again.
    pub cut_off: bool,
}

impl Tally {
    /// What a `partial` run's message says: what was rejected, held back or is waiting,
    /// and rows the initial load left out.
    pub fn partial_note(&self, waiting: i64) -> String {
        let mut parts = Vec::new();
        if self.failed > 0 {
            parts.push(format!("{} change(s) rejected", self.failed));
        }
        if self.held_back > 0 {
            parts.push(format!(
                "{} held back for the next run (their rows, or rows they rely on, were busy in db_b; the log says which)",
                self.held_back
            ));
        }
        if waiting > 0 {
            parts.push(format!("{waiting} waiting to be retried"));
        }
        // `status` lists queued changes; rows the load left out are named in the log only.
        let mut note = if parts.is_empty() {
            String::new()
        } else {
            format!("{}; see `dbsync status`", parts.join(", "))
        };
        if let Some(refused) = self.loaded.map(|l| l.refused).filter(|n| *n > 0) {
            if !note.is_empty() {
                note.push_str("; ");
            }
            note.push_str(&format!(
                "{refused} row(s) of the initial load refused by db_b (the log names each)"
            ));
        }
        note
    }
}
