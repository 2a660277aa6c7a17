//! Logging: `RUST_LOG` picks the level (default `info`, the scheduler crate at `warn`),
//! `LOG_FORMAT=json` one JSON object per line, anything else human-readable lines.
//! Logs go to stderr; stdout is for results.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_cron_scheduler=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // try_init: a second call (tests) keeps the first subscriber instead of panicking.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
