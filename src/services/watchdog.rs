//! Bounds how long a run waits. A db_b behind a network that went silent keeps its TCP
//! connection open for hours, and a frozen server answers nothing: a run (its drain, its
//! initial load, its checks) would wait on it forever, skip every scheduled run after it
//! and hold a stop. The run ticks its watchdog each time its work moves on; nothing for
//! `SYNC_STALL_TIMEOUT`, or [`STOP_GRACE`] after a stop was asked, and the run's work is
//! cut off: its futures are dropped, db_b rolls back what it had not committed once it sees
//! the connection gone, and the next run carries on from the queue (a committed batch not
//! yet marked SYNCED is applied again, which changes nothing).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

/// How a run's message begins when db_b stopped answering it: `status` reads db_b as
/// unreachable from it.
pub const CENTRAL_SILENT: &str = "db_b did not answer";

/// How often the stall clock is held still while a run waits on db_a.
const HOLD_TICK: Duration = Duration::from_millis(500);

/// How long a run's work in hand may still take once a stop was asked.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Why a run's work was cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Nothing moved on for this long.
    Stalled(Duration),
    /// A stop was asked and the work in hand did not end within [`STOP_GRACE`].
    Stopped,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cut::Stalled(after) => write!(
                f,
                "{CENTRAL_SILENT} for {} s (SYNC_STALL_TIMEOUT): the run gave up on the work in hand, db_b rolls back what it had not committed; the next run carries on",
                after.as_secs()
            ),
            Cut::Stopped => write!(
                f,
                "shutdown requested; the work in hand did not end within {} s (a database not answering, or a lock held) and was cut off; the next run carries on",
                STOP_GRACE.as_secs()
            ),
        }
    }
}

/// One run's watchdog.
pub struct Watchdog {
    started: Instant,
    /// Milliseconds from `started` to the last tick.
    last_tick: AtomicU64,
    stall: Duration,
}

impl Watchdog {
    pub fn new(stall: Duration) -> Self {
        Watchdog {
            started: Instant::now(),
            last_tick: AtomicU64::new(0),
            stall,
        }
    }

    /// How long the run's work may go without moving on.
    pub fn stall(&self) -> Duration {
        self.stall
    }

    /// The work moved on (db_b answered a batch or a chunk): the stall clock starts again.
    pub fn tick(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_tick.store(now, Ordering::Relaxed);
    }

    fn since_tick(&self) -> Duration {
        let last = Duration::from_millis(self.last_tick.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    /// Runs `work` on db_a, holding the stall clock still meanwhile: a wait there (the
    /// initial load's locking read behind a writer's open transaction) is not db_b's
    /// silence. What db_b leaves unanswered meanwhile counts from when `work` ends.
    pub async fn while_on_db_a<T>(&self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        loop {
            self.tick();
            tokio::select! {
                out = &mut work => {
                    self.tick();
                    return out;
                }
                () = tokio::time::sleep(HOLD_TICK) => {}
            }
        }
    }

    /// Resolves when the run's work must be cut off; race it against the work.
    pub async fn cut(&self, shutdown: &CancellationToken) -> Cut {
        let stalled = async {
            loop {
                let idle = self.since_tick();
                if idle >= self.stall {
                    return Cut::Stalled(self.stall);
                }
                tokio::time::sleep(self.stall - idle).await;
            }
        };
        let stopped = async {
            shutdown.cancelled().await;
            tokio::time::sleep(STOP_GRACE).await;
            Cut::Stopped
        };
        tokio::select! {
            cut = stalled => cut,
            cut = stopped => cut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Cut, Watchdog};
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    #[tokio::test(start_paused = true)]
    async fn ticks_hold_the_cut_off_and_silence_brings_it() {
        let dog = Watchdog::new(Duration::from_secs(5));
        let never = CancellationToken::new();
        let ticking = async {
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_secs(3)).await;
                dog.tick();
            }
        };
        tokio::select! {
            cut = dog.cut(&never) => panic!("cut off while ticking: {cut:?}"),
            () = ticking => {}
        }
        let started = tokio::time::Instant::now();
        assert_eq!(dog.cut(&never).await, Cut::Stalled(Duration::from_secs(5)));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_wait_on_db_a_is_not_db_b_silence() {
        let dog = Watchdog::new(Duration::from_secs(5));
        let never = CancellationToken::new();
        let waiting_on_a_lock = dog.while_on_db_a(tokio::time::sleep(Duration::from_secs(60)));
        tokio::select! {
            cut = dog.cut(&never) => panic!("cut off while db_a held a lock: {cut:?}"),
            () = waiting_on_a_lock => {}
        }
        let started = tokio::time::Instant::now();
        assert_eq!(dog.cut(&never).await, Cut::Stalled(Duration::from_secs(5)));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_cuts_off_after_the_grace() {
        let dog = Watchdog::new(Duration::from_secs(3600));
        let stop = CancellationToken::new();
        stop.cancel();
        let started = tokio::time::Instant::now();
        assert_eq!(dog.cut(&stop).await, Cut::Stopped);
        assert_eq!(started.elapsed(), super::STOP_GRACE);
    }
}
