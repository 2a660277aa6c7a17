//! Integration tests against a real MySQL/MariaDB server. One binary, one module per area.

mod api;
mod capture;
mod charsets;
mod cli;
mod copies;
mod hardening;
mod helpers;
mod holds;
mod legacy;
mod linked_copies;
mod load;
mod messages;
mod operate;
mod ordering;
mod readme;
mod replay;
mod schema_changes;
mod sites;
mod sizes;
mod stress;
mod sync;
mod tables;
mod types;
