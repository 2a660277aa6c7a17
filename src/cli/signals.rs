//! SIGINT, SIGTERM and SIGHUP for every command: handled, never left to the signal's
//! default (a shell's background job inherits SIGINT ignored; a closed terminal sends
//! SIGHUP, whose default ends the process mid-batch with its run left `running`). A
//! process started under `nohup` keeps SIGHUP ignored. Commands that finish what they are
//! doing get a bounded grace; the others stop at the signal.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{CliError, Command};
use crate::services::watchdog::STOP_GRACE;

/// How long after a stop the work in hand may take before the process ends anyway: a run
/// cuts itself off after [`STOP_GRACE`]; this covers what runs outside one (a resync's
/// set-up, `init`).
const STOP_BACKSTOP: Duration = Duration::from_secs(STOP_GRACE.as_secs() + 5);

/// How long `command` may go on after a signal: commands that finish what they are doing
/// when stopped — a run its batch (and its run log), `init` its schema changes (a
/// half-replaced set of triggers would only make the next run refuse until `init` is run
/// again) — get [`STOP_BACKSTOP`]; the others have nothing worth finishing.
pub(super) fn grace(command: &Command) -> Duration {
    let finishes = matches!(
        command,
        Command::Serve
            | Command::Sync
            | Command::Resync { .. }
            | Command::Rebase
            | Command::Init { .. }
    );
    if finishes {
        STOP_BACKSTOP
    } else {
        Duration::ZERO
    }
}

/// `work`, with a signal cancelling `shutdown`; ended as [`CliError::Stopped`] once it
/// is still going `grace` after the signal.
pub(super) async fn until_stopped(
    shutdown: CancellationToken,
    grace: Duration,
    work: impl Future<Output = Result<u8, CliError>>,
) -> Result<u8, CliError> {
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let backstop = async {
        shutdown.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = work => result,
        () = backstop => Err(CliError::Stopped(grace)),
    }
}

/// SIGINT, SIGTERM or SIGHUP cancels `shutdown`: the server drains, the run in hand
/// finishes its batch (or is cut off after [`STOP_GRACE`]).
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // A signal that cannot be listened for is waited on for ever: SIGINT still stops.
        let received = |kind: SignalKind| async move {
            match signal(kind) {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        // Started under `nohup` (SIGHUP ignored), a hang-up is left ignored.
        let hangup = async {
            match hangup_ignored() {
                true => std::future::pending::<()>().await,
                false => received(SignalKind::hangup()).await,
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            () = received(SignalKind::terminate()) => {}
            () = hangup => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutdown requested");
    shutdown.cancel();
}

/// Whether this process was started with SIGHUP ignored (`nohup`), as Linux tells in
/// `/proc/self/status` (`SigIgn`, a hex mask whose lowest bit is SIGHUP). Listening for a
/// signal takes it over, so this is asked first; elsewhere it reads as not ignored.
#[cfg(unix)]
fn hangup_ignored() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & 1 == 1)
}
