//! dbsync: an offline → central MySQL sync engine.
//!
//! Triggers on the local database (db_a) record every change to `users` and `orders`, with
//! its row image, in `sync_queue`, in the writer's own transaction. A scheduled run replays
//! the queue into the central database (db_b) in batched transactions, in order, exactly
//! once in effect, and parks changes db_b rejects without holding up the others.
//!
//! # Layout
//! - [`config`]: environment → [`config::Config`].
//! - [`db`]: pools and SQL (`local` = db_a, `central` = db_b, `schema` = `sql/` files).
//! - [`services`]: users, orders, the sync engine, verify, init — no HTTP.
//! - [`routes`] (warp filters) → [`controllers`] (handlers) → services.
//! - [`cron`]: the schedule; [`startup`]: wiring the service together.
//! - [`utils`]: validation and the JSON error shape.

pub mod config;
pub mod controllers;
pub mod cron;
pub mod db;
pub mod metrics;
pub mod models;
pub mod routes;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod utils;
