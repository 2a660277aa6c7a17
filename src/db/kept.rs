//! Pooled connections kept between the REST API's requests, without sqlx's check on return.
//!
//! sqlx pings every connection given back to its pool: a second round trip to db_a after
//! each request's statement, one more wake-up of the server and of `serve` (measured: about
//! a tenth more POST /users a second at 16 clients without it, GETs more). A request whose
//! work completed gives its connection back here instead, unchecked: its transaction is
//! committed, and what is left of a result the driver skips before the next statement. One
//! the server refused goes back to the pool, whose check sends the pending rollback. One
//! broken is closed: sqlx's check of such a connection can wait forever for an answer,
//! holding a pool slot and, at shutdown, the pool's close. One cut off mid-statement (the
//! client went away) stays out of the pool until db_a has answered (see [`Lease`]). A
//! connection kept longer than [`KEEP_FOR`] goes back to the pool too.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::MySqlConnection;
use sqlx::mysql::{MySql, MySqlPool};
use sqlx::pool::PoolConnection;

/// How long a connection waits here for the next request; then it goes back to the pool.
const KEEP_FOR: Duration = Duration::from_secs(1);

/// A kept connection and when it was given back.
type Kept = (PoolConnection<MySql>, Instant);

/// db_a's pool with a few of its connections kept aside for the next requests.
#[derive(Clone)]
pub struct KeptConnections {
    pool: MySqlPool,
    kept: Arc<Mutex<Vec<Kept>>>,
    /// At most this many are kept: the rest of the pool stays free for what does not go
    /// through here (the status, metrics and health handlers).
    max_kept: usize,
}

impl KeptConnections {
    /// Also starts the task that gives connections kept too long back to the pool (it ends
    /// with the last clone), so an idle API does not hold the server's connections.
    pub fn new(pool: MySqlPool) -> Self {
        let max_kept = (pool.options().get_max_connections() / 2) as usize;
        let kept: Arc<Mutex<Vec<Kept>>> = Arc::default();
        let watched = Arc::downgrade(&kept);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(KEEP_FOR);
            loop {
                tick.tick().await;
                let Some(kept) = watched.upgrade() else { break };
                drop_stale(&mut lock(&kept));
            }
        });
        KeptConnections {
            pool,
            kept,
            max_kept,
        }
    }

    /// Runs `work` on a connection kept within the last [`KEEP_FOR`], or one from the pool.
    /// When `work` succeeds, the connection is kept for the next request; when the server
    /// refused it, the connection goes back to the pool, whose check sends the pending
    /// rollback. Any other error leaves the driver's state unknown: the connection is
    /// closed, not checked — a check would wait for an answer the server may never send,
    /// holding a pool slot. `work` cut off before it finished (the client went away): see
    /// [`Lease`].
    pub async fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut MySqlConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let mut lease = Lease(None);
        let conn = lease.0.insert(self.acquire().await?);
        let result = work(conn).await;
        if let Some(mut conn) = lease.0.take() {
            match &result {
                Ok(_) => self.keep(conn),
                Err(sqlx::Error::Database(_)) => drop(conn),
                Err(_) => conn.close_on_drop(),
            }
        }
        result
    }

    async fn acquire(&self) -> Result<PoolConnection<MySql>, sqlx::Error> {
        let fresh = {
            let mut kept = lock(&self.kept);
            match kept.pop() {
                Some((conn, since)) if since.elapsed() < KEEP_FOR => Some(conn),
                // The newest is stale, so all are: back to the pool with them.
                _ => {
                    kept.clear();
                    None
                }
            }
        };
        match fresh {
            Some(conn) => Ok(conn),
            None => self.pool.acquire().await,
        }
    }

    /// Gives every kept connection back to the pool (before the pool is closed).
    pub fn release_all(&self) {
        lock(&self.kept).clear();
    }

    fn keep(&self, conn: PoolConnection<MySql>) {
        let mut kept = lock(&self.kept);
        drop_stale(&mut kept);
        if kept.len() < self.max_kept && !self.pool.is_closed() {
            kept.push((conn, Instant::now()));
        }
    }
}

/// Gives connections kept longer than [`KEEP_FOR`] back to the pool.
fn drop_stale(kept: &mut Vec<Kept>) {
    kept.retain(|(_, since)| since.elapsed() < KEEP_FOR);
}

fn lock(kept: &Mutex<Vec<Kept>>) -> std::sync::MutexGuard<'_, Vec<Kept>> {
    kept.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The connection of a request while its work runs. Dropped with it still inside (the
/// client went away mid-statement), the connection is not closed at once: its statement
/// would go on in db_a, in a session the pool no longer counts, while the pool opened
/// another — clients that give up quickly during a lock then filled the server's
/// connections. It stays checked out until db_a has answered the statement (within the
/// API's lock waits; closed after [`SETTLE_WAIT`] regardless, so a stop never waits long on
/// it), then goes back to the pool, whose check sends the rollback the dropped transaction
/// left pending.
struct Lease(Option<PoolConnection<MySql>>);

/// How long a connection cut off mid-statement may take to settle before it is closed.
const SETTLE_WAIT: Duration = Duration::from_secs(5);

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut conn) = self.0.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            conn.close_on_drop();
            return;
        };
        runtime.spawn(async move {
            let settled = tokio::time::timeout(SETTLE_WAIT, sqlx::Connection::ping(&mut *conn));
            if !matches!(settled.await, Ok(Ok(()))) {
                conn.close_on_drop();
            }
        });
    }
}
