//! Shop writers: single-row autocommit writes on db_a's `users` at a steady pace, each on
//! its own connection, with the latency of every write kept with its time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dbsync::config::DbTarget;
use dbsync::db::{self, Role};
use rand::Rng;
use sqlx::MySqlConnection;
use tokio::task::JoinHandle;

use crate::report::Latencies;

/// What each write is.
#[derive(Clone, Copy)]
pub enum Op {
    /// INSERT of a new user.
    Insert,
    /// INSERT of a new user and UPDATE of an existing one (ids 1..=users), in turn.
    InsertUpdate { users: u64 },
}

/// When a write finished and how long it took (ms).
#[derive(Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    pub ms: f64,
}

/// What the writers saw.
pub struct Written {
    pub samples: Vec<Sample>,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Written {
    /// Latencies of the writes that finished in `[from, to)`.
    pub fn window(&self, from: Instant, to: Instant) -> Latencies {
        Latencies::new(
            self.samples
                .iter()
                .filter(|s| s.at >= from && s.at < to)
                .map(|s| s.ms)
                .collect(),
        )
    }
}

type Outcome = (Vec<Sample>, u64, Option<String>);

pub struct Writers {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<Outcome>>,
}

impl Writers {
    /// Starts `count` writers, `per_second` writes each, new user ids from `id_base` on.
    pub async fn start(
        target: &DbTarget,
        count: u64,
        per_second: u64,
        op: Op,
        id_base: u64,
    ) -> Result<Writers, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for writer in 0..count {
            let conn = db::connect_one(Role::Local, target)
                .await
                .map_err(|e| e.to_string())?;
            let first = id_base + writer * 100_000_000;
            handles.push(tokio::spawn(write_loop(
                conn,
                per_second,
                op,
                first,
                stop.clone(),
            )));
        }
        Ok(Writers { stop, handles })
    }

    pub async fn stop(self) -> Written {
        self.stop.store(true, Ordering::SeqCst);
        let mut written = Written {
            samples: Vec::new(),
            errors: 0,
            first_error: None,
        };
        for handle in self.handles {
            match handle.await {
                Ok((mut samples, errors, first)) => {
                    written.samples.append(&mut samples);
                    written.errors += errors;
                    written.first_error = written.first_error.or(first);
                }
                Err(err) => {
                    written.errors += 1;
                    written.first_error = Some(format!("writer task: {err}"));
                }
            }
        }
        written
    }
}

async fn write_loop(
    mut conn: MySqlConnection,
    per_second: u64,
    op: Op,
    first_id: u64,
    stop: Arc<AtomicBool>,
) -> Outcome {
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / per_second.max(1)));
    let (mut samples, mut errors, mut first_error) = (Vec::new(), 0, None);
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        ticker.tick().await;
        n += 1;
        let started = Instant::now();
        let result = match op {
            Op::InsertUpdate { users } if n.is_multiple_of(2) => {
                let id = rand::rng().random_range(1..=users.max(1));
                update(&mut conn, id, n).await
            }
            _ => insert(&mut conn, first_id + n).await,
        };
        match result {
            Ok(()) => samples.push(Sample {
                at: Instant::now(),
                ms: started.elapsed().as_secs_f64() * 1000.0,
            }),
            Err(err) => {
                errors += 1;
                first_error.get_or_insert(err.to_string());
            }
        }
    }
    (samples, errors, first_error)
}

async fn insert(conn: &mut MySqlConnection, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO users (id, name, email) VALUES (?, ?, ?)")
        .bind(id as i64)
        .bind(format!("Walk-in {id}"))
        .bind(format!("walkin{id}@example.com"))
        .execute(conn)
        .await
        .map(|_| ())
}

async fn update(conn: &mut MySqlConnection, id: u64, n: u64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET name = ? WHERE id = ?")
        .bind(format!("Customer {id} (visit {n})"))
        .bind(id as i64)
        .execute(conn)
        .await
        .map(|_| ())
}
