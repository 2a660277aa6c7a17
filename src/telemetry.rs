//! Logging: `RUST_LOG` picks the level (default `info`, the scheduler crate at `warn`),
//! `LOG_FORMAT=json` one JSON object per line, `pretty` human-readable lines, coloured only
//! when stderr is a terminal. Logs go to stderr; stdout is for results.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter)
        .unwrap_or_else(|_| EnvFilter::new(crate::config::DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogWriter)
        .with_ansi(std::io::stderr().is_terminal());
    // try_init: a second call (tests) keeps the first subscriber instead of panicking.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Set while a progress line (`\r`-updated, no newline) stands on the terminal: the next
/// log line clears it first instead of being written onto its end.
static PROGRESS_LINE: AtomicBool = AtomicBool::new(false);

/// Says that a progress line now stands on stderr (see [`PROGRESS_LINE`]).
pub fn progress_line_shown() {
    PROGRESS_LINE.store(true, Ordering::Relaxed);
}

/// Clears a progress line standing on stderr, if one does.
pub fn clear_progress_line() {
    clear_progress_line_on(&mut std::io::stderr().lock());
}

fn clear_progress_line_on(err: &mut impl Write) {
    if PROGRESS_LINE.swap(false, Ordering::Relaxed) {
        let _ = err.write_all(b"\r\x1b[2K");
    }
}

/// stderr, clearing a progress line before a log line goes out.
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // One lock for both: the progress line is not drawn in between.
        let mut err = std::io::stderr().lock();
        clear_progress_line_on(&mut err);
        err.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
