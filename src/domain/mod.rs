//! The records and rules dbsync works with, free of SQL and HTTP: users and orders with
//! their input rules, the queue's statuses and run outcomes, and the description of a
//! synced table.

pub mod fits;
pub mod queue;
pub mod records;
pub mod table;
pub mod validation;

pub use queue::{Listing, Operation, Outcome, QueueEntry, SyncRun, SyncStatus};
pub use records::{DbDateTime, Order, OrderStatus, User};
