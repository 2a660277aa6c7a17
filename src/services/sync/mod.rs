//! The sync engine: replays PENDING changes from db_a's `sync_queue` into db_b.
//!
//! - [`engine`]: one run at a time, the checks before a run touches anything, the run log.
//! - [`drain`]: read → apply → mark, batch after batch, in id order despite late commits.
//! - [`apply`]: one batch into db_b in one transaction, with the ledger and watermark.
//! - [`change`]: a queue row decoded and checked into a [`change::Change`].
//! - [`policy`]: what a run does about each kind of db_b error; `superseded`: when a
//!   change db_b refused is no fault (another change supersedes it).
//! - [`tables`]: the synced tables and the check that they are as `init` captured them.
//! - [`rewind`]: the check that the queue did not go backwards.
//! - `retention`: old SYNCED rows and runs deleted after clean runs.
//! - [`report`], [`status`], [`history`], [`requeue`]: what operators see and do.

pub mod apply;
pub mod change;
pub mod checks;
pub mod drain;
pub mod engine;
pub mod history;
mod initial_load;
mod observe;
pub mod policy;
pub mod prepare;
pub mod report;
pub mod requeue;
mod retention;
pub mod rewind;
pub mod status;
mod superseded;
pub mod tables;

pub use engine::SyncEngine;
pub use prepare::{Preparation, Prepared};
pub use report::{RunError, RunReport};
