//! The initial load (`dbsync resync`, `dbsync init --load`): copies db_a's rows to db_b in
//! key-ordered chunks straight from db_a's tables, never through the queue, while the shop
//! keeps writing. How it stays correct beside the changes captured meanwhile is explained
//! in `docs/ordering.md`; in short:
//!
//! - each chunk is read with `LOCK IN SHARE MODE` (in READ COMMITTED: no gap locks), so it
//!   waits for writers of those rows to commit and holds them only while the chunk is read;
//!   the queue's highest id `Q`, read before the locks go, is the chunk's position: every
//!   change reflected in the chunk has an id ≤ Q, every change made after it an id > Q;
//! - a chunk row is written only where db_b's ledger has nothing newer than Q; a record with
//!   changes still queued at or below Q gets ledger position Q, so those older changes are
//!   skipped as superseded when the drain reaches them;
//! - db_b rows in the chunk's key range that the chunk lacks are removed;
//! - db_a's `sync_load` keeps the last key copied: a load cut short resumes from there.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Executor};
use tokio_util::sync::CancellationToken;

use crate::db::replica::{self, Values, Write};
use crate::db::snapshot::{self, KeyedRow, Range, Read, RowBody};
use crate::db::{ledger, load, queue};
use crate::domain::table::TableSpec;
use crate::services::sync::tables::Tables;

/// Rows per chunk: small enough that a chunk's shared locks are held for milliseconds.
pub const CHUNK_ROWS: u32 = 2000;

/// How a load went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadEnd {
    Finished(LoadSummary),
    /// db_b went away or shutdown was asked: resumable.
    Interrupted(String),
}

/// What a load did: rows read from db_a, rows written to db_b (new or different), rows
/// removed from db_b (it had them, db_a did not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoadSummary {
    pub checked: u64,
    pub copied: u64,
    pub removed: u64,
}

/// Progress for a terminal or a log line.
#[derive(Debug, Clone, Default)]
pub struct LoadProgress {
    pub table: String,
    /// Rows of the table read so far.
    pub copied: u64,
    pub estimate: u64,
    pub elapsed: Duration,
}

/// Starts a new load of every synced table, forgetting an earlier one.
pub async fn start(
    local: &mut MySqlConnection,
    pool: &sqlx::MySqlPool,
    tables: &Tables,
) -> Result<(), sqlx::Error> {
    let mut estimates = Vec::new();
    for spec in tables.iter() {
        estimates.push((
            spec.name.clone(),
            snapshot::estimated_rows(local, &spec.name).await?,
        ));
    }
    load::reset(pool, &estimates).await
}

/// True while a load has tables left to copy.
pub async fn unfinished(local: &mut MySqlConnection) -> Result<bool, sqlx::Error> {
    Ok(load::states(local)
        .await?
        .iter()
        .any(|s| s.finished_at.is_none()))
}

/// Records with queue changes not yet applied (PENDING or FAILED), by table index and
/// identity, gathered up to a queue position.
#[derive(Default)]
struct Unapplied {
    seen_up_to: i64,
    records: HashSet<(String, String)>,
}

impl Unapplied {
    async fn refresh(
        &mut self,
        local: &mut MySqlConnection,
        up_to: i64,
    ) -> Result<(), sqlx::Error> {
        if up_to <= self.seen_up_to {
            return Ok(());
        }
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT table_name, CAST(COALESCE(CAST(record_id AS CHAR), record_key) AS CHAR) \
             FROM sync_queue WHERE sync_status IN ('PENDING', 'FAILED') AND id > ? AND id <= ?",
        )
        .bind(self.seen_up_to)
        .bind(up_to)
        .fetch_all(local)
        .await?;
        self.records
            .extend(rows.into_iter().filter_map(|(t, k)| k.map(|k| (t, k))));
        self.seen_up_to = up_to;
        Ok(())
    }

    fn contains(&self, table: &str, identity: &str) -> bool {
        self.records
            .contains(&(table.to_string(), identity.to_string()))
    }
}

/// A chunk read from db_a with its position.
struct Chunk {
    rows: Vec<KeyedRow>,
    position: i64,
    last: bool,
}

pub struct Loader<'a> {
    pub tables: &'a Tables,
    pub site: &'a str,
    pub shutdown: &'a CancellationToken,
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
            return Ok(LoadEnd::Interrupted(format!(
                "db_b: {}",
                crate::db::error::describe(&err)
            )));
        }
        let mut unapplied = Unapplied::default();
        let mut summary = LoadSummary::default();
        let started = Instant::now();
        for state in load::states(local).await? {
            if state.finished_at.is_some() {
                continue;
            }
            let Some((_, spec)) = self.tables.find(&state.table_name) else {
                continue;
            };
            let after: Option<Vec<Option<String>>> = state
                .position
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok());
            let mut progress = LoadProgress {
                table: spec.name.clone(),
                copied: state.rows_copied.max(0) as u64,
                estimate: state.rows_estimate.max(0) as u64,
                elapsed: started.elapsed(),
            };
            match self
                .table(
                    local,
                    central,
                    spec,
                    after,
                    &mut unapplied,
                    &mut progress,
                    started,
                )
                .await?
            {
                Ok(done) => {
                    summary.checked += done.checked;
                    summary.copied += done.copied;
                    summary.removed += done.removed;
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
        mut after: Option<Vec<Option<String>>>,
        unapplied: &mut Unapplied,
        progress: &mut LoadProgress,
        started: Instant,
    ) -> Result<Result<LoadSummary, String>, sqlx::Error> {
        let mut done = LoadSummary::default();
        let mut chunk = read_chunk(local, spec, after.as_deref()).await?;
        loop {
            if self.shutdown.is_cancelled() {
                return Ok(Err("shutdown requested".to_string()));
            }
            unapplied.refresh(local, chunk.position).await?;
            let up_to = if chunk.last {
                None
            } else {
                chunk.rows.last().map(|r| r.key.clone())
            };
            let next_after = up_to.clone();
            let (written, db_a_next) = tokio::join!(
                self.write_chunk(
                    central,
                    spec,
                    after.as_deref(),
                    up_to.as_deref(),
                    &chunk,
                    unapplied
                ),
                async {
                    match &next_after {
                        Some(key) => read_chunk(local, spec, Some(key)).await.map(Some),
                        None => Ok(None),
                    }
                }
            );
            let (c, r) = match written {
                Ok(counts) => counts,
                Err(err) => return Ok(Err(format!("db_b: {}", crate::db::error::describe(&err)))),
            };
            done.checked += chunk.rows.len() as u64;
            done.copied += c;
            done.removed += r;
            let position = next_after
                .as_ref()
                .map(|k| serde_json::to_string(k).unwrap_or_default());
            load::advance(local, &spec.name, position.as_deref(), c, r, chunk.last).await?;
            progress.copied += chunk.rows.len() as u64;
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

    /// Writes one chunk into db_b in one transaction: rows that differ, removals of rows db_a
    /// lacks in the range, ledger positions for records with older changes still queued.
    async fn write_chunk(
        &self,
        central: &mut MySqlConnection,
        spec: &TableSpec,
        after: Option<&Values>,
        up_to: Option<&Values>,
        chunk: &Chunk,
        unapplied: &Unapplied,
    ) -> Result<(u64, u64), sqlx::Error> {
        let site = (!self.site.is_empty()).then_some(self.site);
        let mut tx = central.begin().await?;
        let mark = ledger::lock_watermark(&mut tx, self.site).await?;
        let range = Range {
            spec,
            after,
            up_to,
            limit: None,
            site,
            read: Read::Values,
            lock: false,
        };
        let existing = snapshot::read_range(&mut tx, &range).await?;
        let newer = if mark.last_change_id > chunk.position {
            self.newer_than(&mut tx, spec, chunk, &existing).await?
        } else {
            HashSet::new()
        };
        let (write, remove) = differences(chunk, &existing, &newer);
        let present = vec![true; spec.image_columns().count()];
        if !write.is_empty() {
            replica::write_rows(&mut tx, spec, &present, &write, site, Write::Replace).await?;
        }
        if !remove.is_empty() {
            let keys: Vec<&Values> = remove.iter().map(|r| r.key.as_slice()).collect();
            replica::delete_rows(&mut tx, spec, &keys, site).await?;
        }
        let positions: Vec<(&str, &str, i64)> = chunk
            .rows
            .iter()
            .chain(remove.iter().copied())
            .filter(|r| !newer.contains(&r.identity) && unapplied.contains(&spec.name, &r.identity))
            .map(|r| (spec.name.as_str(), r.identity.as_str(), chunk.position))
            .collect();
        ledger::advance_ledger(&mut tx, self.site, &positions).await?;
        ledger::raise_watermark(&mut tx, self.site, chunk.position, None).await?;
        tx.commit().await?;
        Ok((write.len() as u64, remove.len() as u64))
    }

    /// Records of the chunk's range that db_b already holds newer than the chunk (a change
    /// applied after the chunk's position): the chunk leaves them as they are.
    async fn newer_than(
        &self,
        conn: &mut MySqlConnection,
        spec: &TableSpec,
        chunk: &Chunk,
        existing: &[KeyedRow],
    ) -> Result<HashSet<String>, sqlx::Error> {
        let keys: Vec<&str> = chunk
            .rows
            .iter()
            .chain(existing)
            .map(|r| r.identity.as_str())
            .collect();
        Ok(ledger::ledger_entries(conn, self.site, &spec.name, &keys)
            .await?
            .into_iter()
            .filter(|(_, id)| *id > chunk.position)
            .map(|(k, _)| k)
            .collect())
    }
}

/// The chunk's rows db_b lacks or holds otherwise (to write), and db_b's rows in the range
/// the chunk lacks (to remove) — leaving alone the records in `newer`.
fn differences<'a>(
    chunk: &'a Chunk,
    existing: &'a [KeyedRow],
    newer: &HashSet<String>,
) -> (Vec<&'a Values>, Vec<&'a KeyedRow>) {
    let theirs: HashMap<&str, &RowBody> = existing
        .iter()
        .map(|r| (r.identity.as_str(), &r.body))
        .collect();
    let write = chunk
        .rows
        .iter()
        .filter(|r| {
            !newer.contains(&r.identity) && theirs.get(r.identity.as_str()) != Some(&&r.body)
        })
        .filter_map(|r| match &r.body {
            RowBody::Values(values) => Some(values.as_slice()),
            RowBody::Digest(_) => None,
        })
        .collect();
    let ours: HashSet<&str> = chunk.rows.iter().map(|r| r.identity.as_str()).collect();
    let remove = existing
        .iter()
        .filter(|r| !ours.contains(r.identity.as_str()) && !newer.contains(&r.identity))
        .collect();
    (write, remove)
}

/// Reads the next chunk after `after` with shared locks, and the queue position while the
/// locks are held.
async fn read_chunk(
    local: &mut MySqlConnection,
    spec: &TableSpec,
    after: Option<&Values>,
) -> Result<Chunk, sqlx::Error> {
    let mut tx = local.begin().await?;
    let rows = snapshot::read_range(
        &mut tx,
        &Range {
            spec,
            after,
            up_to: None,
            limit: Some(CHUNK_ROWS),
            site: None,
            read: Read::Values,
            lock: true,
        },
    )
    .await?;
    let position = queue::max_id(&mut tx).await?;
    tx.commit().await?;
    let last = rows.len() < CHUNK_ROWS as usize;
    Ok(Chunk {
        rows,
        position,
        last,
    })
}
