//! The pipeline of one run: read due changes in id order → apply them to db_b → mark them
//! SYNCED, batch after batch, until every change that existed when the run started is done.
//!
//! Two stages overlap: while db_b applies batch k, db_a marks batch k-1 and reads batch
//! k+1. A batch is marked only after its db_b transaction committed.
//!
//! Commit order is not id order (see `docs/ordering.md`): a change with a lower id can
//! become visible after the run read past it. Such a late change can make db_b refuse a
//! change that depends on it (an order before its user). So a rejection is never blamed on
//! the spot: after the batch, the run looks for PENDING changes below the rejected one
//! that it has not seen. If there are any, nobody is blamed; the run steps back to the
//! lowest late change and carries on from there in id order.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::mysql::MySqlConnection;

use super::SyncEngine;
use super::change::{self, Change, DecodedRow, RecordKey, decode_rows};
use super::policy;
use super::report::Tally;
use super::tables::Tables;
use crate::db::error::{self, Kind};
use crate::db::queue::{self, QueuedChange};
use crate::domain::{Operation, Outcome};
use crate::services::read_size::{self, FIRST_READ};
use crate::services::watchdog::Watchdog;

mod batch;
mod holds;
mod overtaken;

use holds::Holds;
use overtaken::Overtaken;

/// Times one run steps back for changes that committed late before it ends.
const MAX_STEP_BACKS: u32 = 20;

pub(super) struct Drain<'a> {
    engine: &'a SyncEngine,
    tables: &'a Tables,
    /// The newest queue id when the run started: a run drains what was due then, so it
    /// ends even while writers keep adding changes.
    run_max: i64,
    /// Records whose earliest PENDING change is backing off or held back: their later
    /// changes wait.
    waiting: HashSet<RecordKey>,
    /// Changes this run held back, which later changes relying on them wait for.
    holds: Holds,
    /// Ids this run has read that are still PENDING (held, waiting, or not yet marked).
    known: BTreeSet<i64>,
    /// FAILED changes, closed once a later change of their record is in db_b.
    overtaken: Overtaken,
    step_backs: u32,
    /// Rows the next read asks for (see `services::read_size`); atomic because the read runs
    /// beside the apply, which borrows the drain too.
    read_limit: AtomicU32,
    /// The largest statement db_b takes (its `max_allowed_packet`).
    packet: usize,
    /// Ticked each time db_b answers a batch.
    watchdog: &'a Watchdog,
}

impl<'a> Drain<'a> {
    pub(super) fn new(
        engine: &'a SyncEngine,
        tables: &'a Tables,
        run_max: i64,
        packet: usize,
        watchdog: &'a Watchdog,
    ) -> Self {
        Drain {
            engine,
            tables,
            run_max,
            waiting: HashSet::new(),
            holds: Holds::default(),
            known: BTreeSet::new(),
            overtaken: Overtaken::default(),
            step_backs: 0,
            read_limit: AtomicU32::new(FIRST_READ.min(engine.settings.batch_size)),
            packet,
            watchdog,
        }
    }

    async fn read(
        &self,
        conn: &mut MySqlConnection,
        after: i64,
    ) -> Result<Vec<QueuedChange>, sqlx::Error> {
        let limit = self.read_limit.load(Ordering::Relaxed);
        let rows = queue::pending_changes(conn, after, self.run_max, limit).await?;
        let bytes = rows.iter().map(QueuedChange::payload_bytes).sum();
        let next = read_size::next_read(limit, rows.len(), bytes, self.engine.settings.batch_size);
        self.read_limit.store(next, Ordering::Relaxed);
        Ok(rows)
    }

    /// Reads and applies batches until none is left. `Err` only for db_a errors; db_b
    /// trouble ends the run as `Interrupted` with a note.
    pub(super) async fn run(
        &mut self,
        local: &mut MySqlConnection,
        central: &mut MySqlConnection,
        tally: &mut Tally,
    ) -> Result<Outcome, sqlx::Error> {
        self.overtaken = Overtaken::load(local, self.tables).await?;
        let mut rows = self.read(local, i64::MIN).await?;
        let mut decoded = decode_rows(&rows, self.tables);
        let mut unmarked: Vec<i64> = Vec::new();
        let outcome = loop {
            if self.engine.shutdown.is_cancelled() {
                tally.note = Some("shutdown requested".to_string());
                break Outcome::Interrupted;
            }
            let Some(cursor) = rows.last().map(|r| r.id) else {
                break Outcome::Synced;
            };
            let changes = self.admit(local, &rows, decoded, tally).await?;
            let previous = std::mem::take(&mut unmarked);
            let overtaken = self.overtaken.overtaken_by(&previous);
            // The next batch is read and decoded while db_b works on this one.
            let applied = &mut tally.applied;
            let (batch, db_a_stage) = tokio::join!(self.apply_batch(central, changes), async {
                // Counted at once: should the run be cut off while db_b works on this
                // batch, these are SYNCED all the same.
                *applied += mark_done(local, &previous, &overtaken).await?;
                let next = self.read(local, cursor).await?;
                let next_decoded = decode_rows(&next, self.tables);
                Ok::<_, sqlx::Error>((next, next_decoded))
            });
            let (next, next_decoded) = db_a_stage?;
            self.forget(&previous);
            self.overtaken.unwatch(&batch.passed_over);
            unmarked = batch.done;
            rows = next;
            decoded = next_decoded;
            let mut held = batch.held;
            for change in held.take() {
                tally.held_back += 1;
                self.waiting.insert(change.key());
                self.holds.add(change, self.tables);
            }
            if let Some(interruption) = batch.interruption {
                tally.note = Some(interruption);
                break Outcome::Interrupted;
            }
            if batch.rejected.is_empty() {
                continue;
            }
            let lowest = batch
                .rejected
                .iter()
                .map(|(c, _)| c.queue_id)
                .min()
                .unwrap_or(cursor);
            match self.late_change(local, lowest).await? {
                None => {
                    for (change, reason) in &batch.rejected {
                        self.record_rejection(local, change, reason).await?;
                        tally.failed += 1;
                    }
                }
                Some(late) if self.step_backs < MAX_STEP_BACKS => {
                    self.step_backs += 1;
                    tracing::info!(
                        late_change = late,
                        rejected = lowest,
                        "a change committed after the run read past it; applying from there again, nobody blamed"
                    );
                    let overtaken = self.overtaken.overtaken_by(&unmarked);
                    tally.applied += mark_done(local, &unmarked, &overtaken).await?;
                    self.forget(&std::mem::take(&mut unmarked));
                    rows = self.read(local, late - 1).await?;
                    decoded = decode_rows(&rows, self.tables);
                }
                Some(late) => {
                    tally.note = Some(format!(
                        "changes keep committing below the run's position (change {late}); \
                         the next run carries on, nobody blamed"
                    ));
                    break Outcome::Interrupted;
                }
            }
        };
        let overtaken = self.overtaken.overtaken_by(&unmarked);
        tally.applied += mark_done(local, &unmarked, &overtaken).await?;
        Ok(outcome)
    }

    fn forget(&mut self, ids: &[i64]) {
        for id in ids {
            self.known.remove(id);
        }
    }

    /// The lowest PENDING change below `below` that this run has not read: one that
    /// committed after the run passed its id.
    async fn late_change(
        &self,
        conn: &mut MySqlConnection,
        below: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        let known_below = self.known.range(..below).count();
        let limit = u32::try_from(known_below + 1).unwrap_or(u32::MAX);
        let ids = queue::pending_ids_below(conn, below, limit).await?;
        Ok(ids.into_iter().find(|id| !self.known.contains(id)))
    }

    /// Typed changes of `rows` that may be applied now. A backing-off row makes its record
    /// wait; a row that cannot be decoded is parked as FAILED at once. `decoded` is
    /// [`decode_rows`] of `rows`, worked out earlier: whether a record waits is decided
    /// here, with what the previous batch left waiting.
    async fn admit(
        &mut self,
        conn: &mut MySqlConnection,
        rows: &[QueuedChange],
        decoded: Vec<DecodedRow>,
        tally: &mut Tally,
    ) -> Result<Vec<Change>, sqlx::Error> {
        let mut changes = Vec::with_capacity(rows.len());
        for (row, DecodedRow { key, change }) in rows.iter().zip(decoded) {
            // Read before in this run: the batch stepped back for a late commit.
            let read_again = !self.known.insert(row.id);
            let Some(change) = change else {
                self.waiting.extend(key);
                continue;
            };
            if let Some(key) = &key {
                self.overtaken.watch(key, row.id);
            }
            if let Some(key) = key.as_ref().filter(|k| self.waiting.contains(*k)) {
                // A later change of a held record is held with it: what it takes and refers
                // to must wait too. (One behind a rejected change is left out: that one is
                // poison, and the others must not wait on it.) One read again is held
                // already.
                if self.holds.holds_record(key)
                    && !read_again
                    && let Ok(change) = change
                {
                    self.holds.add(change, self.tables);
                    tally.held_back += 1;
                }
                continue;
            }
            match change {
                Ok(change) => changes.push(change),
                Err(reason) => {
                    self.park(conn, row, key, &reason).await?;
                    tally.failed += 1;
                }
            }
        }
        Ok(changes)
    }

    /// FAILED at once, with a bounded error text: this row can never be applied. A row
    /// that cannot even be parked is skipped (left PENDING) so it cannot stop the others.
    async fn park(
        &mut self,
        conn: &mut MySqlConnection,
        row: &QueuedChange,
        key: Option<RecordKey>,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        tracing::warn!(queue_id = row.id, table = %change::label(&row.table_name, self.tables), error = %reason, "change parked as FAILED");
        let attempts = row.retry_count.max(0).saturating_add(1);
        match queue::record_failed_attempt(conn, row.id, attempts, reason, None).await {
            Ok(()) => {
                self.known.remove(&row.id);
                if let Some(key) = key.filter(|_| row.operation != "DELETE") {
                    self.overtaken.failed(key, row.id);
                }
                self.engine
                    .count_failure(&row.table_name, &row.operation, self.tables);
                Ok(())
            }
            Err(err) if error::classify(&err) == Kind::Connection => Err(err),
            Err(err) => {
                tracing::error!(queue_id = row.id, error = %error::describe(&err), "could not park a bad queue row; skipped");
                Ok(())
            }
        }
    }

    /// Blames a change db_b refused: one more retry with backoff, or FAILED at the limit.
    /// Its record's later changes wait behind it.
    async fn record_rejection(
        &mut self,
        conn: &mut MySqlConnection,
        change: &Change,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        let earlier = change.retry_count.max(0);
        let attempts = earlier.saturating_add(1);
        let max = i32::try_from(self.engine.settings.max_retries).unwrap_or(i32::MAX);
        let retry_in =
            (attempts < max).then(|| policy::backoff(self.engine.settings.retry_backoff, earlier));
        self.engine
            .count_failure(&change.spec.name, change.operation.as_str(), self.tables);
        match retry_in {
            Some(delay) => {
                self.waiting.insert(change.key());
                tracing::warn!(queue_id = change.queue_id, table = %change.spec.name, record = %change.record, attempts, retry_in_ms = delay.as_millis() as u64, error = %reason, "change rejected by db_b; will retry");
            }
            None => {
                self.known.remove(&change.queue_id);
                if change.operation != Operation::Delete {
                    self.overtaken.failed(change.key(), change.queue_id);
                }
                tracing::error!(queue_id = change.queue_id, table = %change.spec.name, record = %change.record, attempts, error = %reason, "change rejected by db_b; parked as FAILED");
            }
        }
        queue::record_failed_attempt(conn, change.queue_id, attempts, reason, retry_in).await
    }
}

/// Marks changes `done` SYNCED, after closing the FAILED changes they `overtake` (first: a
/// run cut off between the two leaves `done` PENDING, to be marked by the next run, never
/// the overtaken ones FAILED with their record's later change marked). Returns how many
/// changes were marked.
async fn mark_done(
    conn: &mut MySqlConnection,
    done: &[i64],
    overtaken: &[i64],
) -> Result<u64, sqlx::Error> {
    if !overtaken.is_empty() {
        let closed = queue::close_overtaken(conn, overtaken).await?;
        tracing::info!(
            closed,
            "FAILED change(s) closed: a later change of their record was applied"
        );
    }
    queue::mark_synced(conn, done).await
}
