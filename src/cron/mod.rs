//! Scheduling of background work.

pub mod sync_cron;
