//! Integration tests against a real MySQL/MariaDB server. One binary, one module per area.

mod api;
mod capture;
mod charsets;
mod cli;
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
mod stale_images;
mod stress;
mod sync;
mod tables;
mod types;
