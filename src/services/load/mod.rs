//! The initial load (`dbsync resync`, `dbsync init --load`): copies db_a's rows to db_b in
//! key-ordered chunks straight from db_a's tables, never through the queue, while the shop
//! keeps writing. How it stays correct beside the changes captured meanwhile is explained
//! in `docs/ordering.md`; in short:
//!
//! - a chunk is read in locking reads of a few hundred rows (`LOCK IN SHARE MODE`, in READ
//!   COMMITTED: no gap locks), each its own transaction, so it waits for writers of those
//!   rows to commit and holds them only while those rows are read; the queue's highest id,
//!   read before the locks go, is the position of the read's rows: every change reflected
//!   in them has an id at or below it, every change made after it a higher one;
//! - a chunk row is written only where db_b's ledger has nothing newer than its position; a
//!   record with changes still queued gets that position, so those older changes are
//!   skipped as superseded when the drain reaches them — or, for a key the chunk lacks, the
//!   floor F (the queue's highest id before the first read): an insert can take an id above
//!   F and commit after a read passed its key, and must still apply;
//! - db_b rows in the chunk's key range that the chunk lacks are removed;
//! - db_a's `sync_load` keeps the last key copied: a load cut short resumes from there.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sqlx::Executor;
use sqlx::mysql::MySqlConnection;
use tokio_util::sync::CancellationToken;

use crate::db::error::{self, Kind};
use crate::db::load;
use crate::domain::table::TableSpec;
use crate::services::read_size::{self, FIRST_READ};
use crate::services::sync::policy;
use crate::services::sync::report::central_failed;
use crate::services::sync::tables::Tables;
use crate::services::watchdog::Watchdog;

mod chunk;
mod commit;
mod excess;
mod lifecycle;
mod linked;
mod refusal;
mod unapplied;
mod writes;
use chunk::{CHUNK_ROWS, READ_ATTEMPTS, read_chunk};
use excess::{CHUNK_REMOVALS, Excess};
pub use lifecycle::{copies, restart_lost_copies, start, unfinished};
pub use linked::{Linked, cascades_from_unsynced, linked_tables};
use refusal::{Refused, Retry, after_refusal};
use unapplied::Unapplied;

/// How a load went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadEnd {
    Finished(LoadSummary),
    /// db_b went away or shutdown was asked: resumable.
    Interrupted(String),
}

pub use crate::db::load::LoadSummary;

/// Progress for a terminal or a log line.
#[derive(Debug, Clone, Default)]
pub struct LoadProgress {
    pub table: String,
    /// Rows of the table read so far, by this run and any cut short before it.
    pub read: u64,
    /// Of those, the rows read before this run (the rate counts this run's alone).
    pub read_before: u64,
    pub estimate: u64,
    /// Since this run started on the table.
    pub elapsed: Duration,
}

pub struct Loader<'a> {
    pub tables: &'a Tables,
    pub site: &'a str,
    /// The largest statement db_b takes (its `max_allowed_packet`).
    pub packet: usize,
    pub shutdown: &'a CancellationToken,
    /// Ticked each time db_b answers a chunk's write or removal.
    pub watchdog: &'a Watchdog,
    pub on_progress: &'a (dyn Fn(&LoadProgress) + Send + Sync),
}

impl Loader<'_> {
    /// Copies every table the load has not finished. `local` holds the run lock.
    pub async fn run(
        &self,
        local: &mut MySqlConnection,
        central: &mut MySqlConnection,
    ) -> Result<LoadEnd, sqlx::Error> {
        // db_a's own foreign keys held for the snapshot; the order of tables and chunks
        // must not trip db_b's on the way.
        if let Err(err) = central.execute("SET SESSION foreign_key_checks = 0").await {
            return Ok(LoadEnd::Interrupted(central_failed(&err)));
        }
        // A writer holding rows the load reads makes it wait, at most about the stall
        // timeout in all (its reads are tried `READ_ATTEMPTS` times): db_b, idle meanwhile,
        // ends a session idle longer than that and a margin (see `SyncEngine::execute`).
        let wait = (self.watchdog.stall().as_secs() / READ_ATTEMPTS).max(1);
        let lock_waits = sqlx::query("SET SESSION innodb_lock_wait_timeout = ?").bind(wait);
        lock_waits.execute(&mut *local).await?;
        let ended = self.tables_in_turn(local, central).await;
        // A connection that cannot take this fails the run's next statement on it anyway.
        let restored = local.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT");
        if let Err(err) = restored.await {
            tracing::warn!(error = %error::describe(&err), "could not restore db_a's lock wait after the load");
        }
        match ended {
            Err(err) if error::classify(&err) == Kind::LockWait => {
                Ok(LoadEnd::Interrupted(format!(
                    "a writer in db_a held rows the load reads for more than {} s; the load \
                     waits its turn, and gives it up after that",
                    wait * READ_ATTEMPTS
                )))
            }
            other => other,
        }
    }

    /// The unfinished tables' loads, one after the other.
    async fn tables_in_turn(
        &self,
        local: &mut MySqlConnection,
        central: &mut MySqlConnection,
    ) -> Result<LoadEnd, sqlx::Error> {
        let mut unapplied = Unapplied::default();
        let mut summary = LoadSummary::default();
        let specs = self.tables.specs();
        let order = linked::parents_first(&specs);
        let mut states = load::states(local).await?;
        states.sort_by_key(|state| order.iter().position(|t| *t == state.table_name));
        for state in states {
            if state.finished_at.is_some() {
                continue;
            }
            let Some((_, spec)) = self.tables.find(&state.table_name) else {
                continue;
            };
            // Each table's rate counts from its own start.
            let started = Instant::now();
            let mut progress = LoadProgress {
                table: spec.name.clone(),
                read: state.rows_checked.max(0) as u64,
                read_before: state.rows_checked.max(0) as u64,
                estimate: state.rows_estimate.max(0) as u64,
                elapsed: started.elapsed(),
            };
            match self
                .table(
                    local,
                    central,
                    spec,
                    &state,
                    &mut unapplied,
                    &mut progress,
                    started,
                )
                .await?
            {
                Ok(done) => {
                    summary.add(&done);
                }
                Err(reason) => {
                    let _ = central.execute("SET SESSION foreign_key_checks = 1").await;
                    return Ok(LoadEnd::Interrupted(reason));
                }
            }
        }
        let _ = central.execute("SET SESSION foreign_key_checks = 1").await;
        Ok(LoadEnd::Finished(summary))
    }

    /// One table, chunk after chunk; db_a reads chunk k+1 while db_b writes chunk k. The
    /// inner `Err` is why db_b stopped the load.
    #[allow(clippy::too_many_arguments)]
    async fn table(
        &self,
        local: &mut MySqlConnection,
        central: &mut MySqlConnection,
        spec: &TableSpec,
        state: &load::LoadState,
        unapplied: &mut Unapplied,
        progress: &mut LoadProgress,
        started: Instant,
    ) -> Result<Result<LoadSummary, String>, sqlx::Error> {
        let mut after: Option<Vec<Option<String>>> = state
            .position
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok());
        let mut chunks = state.chunks;
        let mut done = LoadSummary::default();
        let mut limit = FIRST_READ.min(CHUNK_ROWS);
        // Lowered for good when db_b finds a chunk too large (a Galera writeset limit).
        let mut max_rows = CHUNK_ROWS;
        // The most rows only db_b has that a chunk's transaction removes beside its rows;
        // lowered for good like `max_rows`. More in a range are removed ahead of it.
        let mut max_removals = CHUNK_REMOVALS;
        let mut retries = 0;
        // Rows only db_b had in this chunk's range, removed ahead of its transaction.
        let (mut removed_ahead, mut excess_cleared) = (0, false);
        let mut chunk = self
            .watchdog
            .while_on_db_a(read_chunk(local, spec, after.as_deref(), limit, 0))
            .await?;
        loop {
            if self.shutdown.is_cancelled() {
                return Ok(Err("shutdown requested".to_string()));
            }
            unapplied
                .refresh(local, chunk.position, self.tables)
                .await?;
            let up_to = if chunk.last {
                None
            } else {
                chunk.rows.last().map(|r| r.key.clone())
            };
            let held: HashSet<&str> = chunk.rows.iter().map(|r| r.identity.as_str()).collect();
            chunk.absent = unapplied
                .absent_in_range(local, spec, &held, after.as_deref(), up_to.as_deref())
                .await?;
            let next_after = up_to.clone();
            let bytes = chunk.bytes();
            limit = read_size::next_read(limit, chunk.rows.len(), bytes, max_rows);
            let row_bytes = bytes.checked_div(chunk.rows.len()).unwrap_or(0);
            let (written, db_a_next) = tokio::join!(
                self.write_chunk(
                    central,
                    spec,
                    (after.as_deref(), up_to.as_deref()),
                    &chunk,
                    unapplied,
                    state.token.as_deref().map(|token| (token, chunks + 1)),
                    (!excess_cleared).then_some(max_removals),
                ),
                async {
                    match &next_after {
                        Some(key) => self
                            .watchdog
                            .while_on_db_a(read_chunk(local, spec, Some(key), limit, row_bytes))
                            .await
                            .map(Some),
                        None => Ok(None),
                    }
                }
            );
            self.watchdog.tick();
            let outcome = match written {
                Ok(Some(counts)) => Ok(counts),
                Ok(None) => {
                    let excess = Excess {
                        spec,
                        after: after.as_deref(),
                        up_to: up_to.as_deref(),
                        site: self.site,
                        packet: self.packet,
                    };
                    match excess
                        .remove(central, &chunk, unapplied, &mut max_removals)
                        .await
                        .inspect(|_| self.watchdog.tick())
                    {
                        Ok(removed) => {
                            (removed_ahead, excess_cleared) = (removed_ahead + removed, true);
                            continue;
                        }
                        // A row only db_b has that db_b will not let go of, even alone:
                        // nothing about the chunk's rows.
                        Err(err) => Err((err, 0, 0)),
                    }
                }
                Err(Refused { err, removing }) => Err((err, chunk.rows.len(), removing)),
            };
            let mut counts = match outcome {
                Ok(counts) => counts,
                Err((err, rows, removing)) => match after_refusal(&err, retries, rows, removing) {
                    Ok(Retry::Same) => {
                        retries += 1;
                        tokio::time::sleep(policy::retry_pause(retries)).await;
                        continue;
                    }
                    Ok(Retry::Smaller(rows)) => {
                        tracing::info!(table = %spec.name, rows, error = %error::describe(&err), "db_b refused a chunk as too large; the load goes on in smaller chunks");
                        (max_rows, retries) = (rows, 0);
                        (max_removals, excess_cleared) = ((max_removals / 2).max(1), false);
                        limit = limit.min(rows);
                        chunk = self
                            .watchdog
                            .while_on_db_a(read_chunk(local, spec, after.as_deref(), limit, 0))
                            .await?;
                        continue;
                    }
                    Ok(Retry::FewerRemovals(most)) => {
                        tracing::info!(table = %spec.name, most, error = %error::describe(&err), "db_b refused a chunk's removals as too large; the load goes on removing fewer at a time");
                        (max_removals, excess_cleared, retries) = (most, false, 0);
                        continue;
                    }
                    Err(reason) => return Ok(Err(reason)),
                },
            };
            retries = 0;
            chunks += 1;
            counts.removed += std::mem::take(&mut removed_ahead);
            excess_cleared = false;
            done.add(&counts);
            let position = next_after
                .as_ref()
                .map(|k| serde_json::to_string(k).unwrap_or_default());
            load::advance(local, &spec.name, position.as_deref(), &counts, chunk.last).await?;
            progress.read += counts.checked;
            progress.elapsed = started.elapsed();
            (self.on_progress)(progress);
            match db_a_next? {
                Some(next) => {
                    after = next_after;
                    chunk = next;
                }
                None => return Ok(Ok(done)),
            }
        }
    }
}
