//! Pooled connections kept between the REST API's requests, without sqlx's check on return.
//!
//! sqlx pings every connection given back to its pool: a second round trip to db_a after
//! each request's statement, one more wake-up of the server and of `serve` (measured: about
//! a tenth more POST /users a second at 16 clients without it, GETs more). A request whose
//! work completed gives its connection back here instead, unchecked: its transaction is
//! committed, and what is left of a result the driver skips before the next statement. One
//! that failed or was cut off mid-statement (the client went away) drops its connection to
//! the pool, whose check drains it and sends the pending rollback. A connection kept longer
//! than [`KEEP_FOR`] goes back through the pool too, which pings it before handing it out.

use std::ops::{Deref, DerefMut};
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
    /// At most this many are kept: the rest of the pool stays free for the sync engine,
    /// which shares it.
    max_kept: usize,
}

impl KeptConnections {
    pub fn new(pool: MySqlPool) -> Self {
        let max_kept = (pool.options().get_max_connections() / 2) as usize;
        KeptConnections {
            pool,
            kept: Arc::default(),
            max_kept,
        }
    }

    /// Runs `work` on a connection kept within the last [`KEEP_FOR`], or one from the pool;
    /// when `work` succeeds, the connection is kept for the next request.
    pub async fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut MySqlConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let mut lease = self.acquire().await?;
        let result = work(&mut lease).await;
        lease.settle(result)
    }

    async fn acquire(&self) -> Result<Lease, sqlx::Error> {
        let fresh = {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            match kept.pop() {
                Some((conn, since)) if since.elapsed() < KEEP_FOR => Some(conn),
                // The newest is stale, so all are: back to the pool with them.
                _ => {
                    kept.clear();
                    None
                }
            }
        };
        let conn = match fresh {
            Some(conn) => conn,
            None => self.pool.acquire().await?,
        };
        Ok(Lease {
            conn,
            home: self.clone(),
        })
    }

    /// Gives every kept connection back to the pool (before the pool is closed).
    pub fn release_all(&self) {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn keep(&self, conn: PoolConnection<MySql>) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.retain(|(_, since)| since.elapsed() < KEEP_FOR);
        if kept.len() < self.max_kept && !self.pool.is_closed() {
            kept.push((conn, Instant::now()));
        }
    }
}

/// A connection for one request. Kept for the next request only when [`Lease::settle`]
/// saw the work succeed; dropped otherwise (an error, or the request cut off), it goes
/// back to the pool, checked.
struct Lease {
    conn: PoolConnection<MySql>,
    home: KeptConnections,
}

impl Lease {
    /// Passes `result` through; on success the connection is kept for the next request.
    fn settle<T>(self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if result.is_ok() {
            self.home.keep(self.conn);
        }
        result
    }
}

impl Deref for Lease {
    type Target = MySqlConnection;

    fn deref(&self) -> &MySqlConnection {
        &self.conn
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut MySqlConnection {
        &mut self.conn
    }
}
