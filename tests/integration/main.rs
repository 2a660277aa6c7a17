//! Integration tests against a real MySQL/MariaDB server. One binary, one module per area.

mod api;
mod capture;
mod cli;
mod helpers;
mod operate;
mod sync;
