//! dbsync: an offline → central MySQL sync engine.
//!
//! Triggers on the local database (db_a) record every change to the synced tables, with
//! its row image, in `sync_queue`, in the writer's own transaction. A scheduled run replays
//! the queue into the central database (db_b) in batched transactions, in order, exactly
//! once in effect, and parks changes db_b rejects without holding up the others.
//!
//! # Layout
//! Data walks one way: `http` → `services` → `db` → `domain`; `startup` wires them and
//! nothing imports it. See `docs/architecture.md`.
//! - [`domain`]: records, input rules, queue statuses and outcomes, table descriptions.
//! - [`db`]: pools and SQL — records, queue, runs, replica (db_b), schema, error kinds.
//! - [`services`]: users, orders, verify, the initial load, set-up, and the [`services::sync`] engine.
//! - [`http`]: the warp API; [`cli`]: the command line; [`schedule`]: the cron trigger.
//! - [`config`], [`telemetry`], [`metrics`], [`startup`].

pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod schedule;
pub mod services;
pub mod startup;
pub mod telemetry;
