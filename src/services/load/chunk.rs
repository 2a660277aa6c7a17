//! A chunk of a table read from db_a for the load: its rows, read with shared locks a few
//! hundred at a time, and the queue positions that place them among the changes captured
//! meanwhile.

use std::time::Duration;

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use crate::db::error::{self, Kind};
use crate::db::queue;
use crate::db::replica::Values;
use crate::db::snapshot::{self, KeyedRow, Range, Read};
use crate::domain::table::TableSpec;
use crate::services::sync::change::fingerprint;

/// Rows per chunk at most (one db_b transaction). Fewer for wide rows (see
/// `services::read_size`).
pub(super) const CHUNK_ROWS: u32 = 2000;

/// Rows per locking read at most, and bytes of them: each read is a transaction of its
/// own, whose shared locks go when it commits, so a shop writer of one of those rows waits
/// about a millisecond.
const LOCKED_ROWS: usize = 500;
const LOCKED_BYTES: usize = 1 << 20;

/// Tries at reading rows a writer holds locked.
pub(super) const READ_ATTEMPTS: u64 = 5;

/// A chunk read from db_a with its positions.
pub(super) struct Chunk {
    pub rows: Vec<KeyedRow>,
    /// For each row, the queue's highest id read while the row was still locked: every
    /// change of the row up to it is reflected in the row, every later one is not.
    pub row_positions: Vec<i64>,
    /// The highest of `row_positions` (the last read's): changes up to it are taken into
    /// account for the chunk's records, and db_b's watermark is raised to it.
    pub position: i64,
    /// The fingerprint of the change at `position`: db_b's watermark records it, so a run
    /// can tell that db_a's queue went back below what the chunk reflects (see
    /// `services::sync::rewind`) even before any change was applied after the load.
    pub anchor: Option<i64>,
    /// The queue's highest id before the first read: a key the chunk lacks could be
    /// inserted after a read passed it (no gap locks) with an id up to `position`, so only
    /// the changes at or below `floor` are known to be reflected for such a key.
    pub floor: i64,
    pub last: bool,
    /// Identities in the chunk's key range with changes still queued that the chunk does
    /// not hold (deleted in db_a, or inserted after the read passed them).
    pub absent: Vec<String>,
}

impl Chunk {
    /// About the bytes the chunk's rows take (their values).
    pub fn bytes(&self) -> usize {
        self.rows.iter().map(KeyedRow::bytes).sum()
    }
}

/// Reads the next chunk after `after`, at most `limit` rows, in locking reads of at most
/// [`LOCKED_ROWS`] rows and about [`LOCKED_BYTES`] that follow each other in key order;
/// `row_bytes` is the width of the rows read last (0 before the first read).
pub(super) async fn read_chunk(
    local: &mut MySqlConnection,
    spec: &TableSpec,
    after: Option<&Values>,
    limit: u32,
    mut row_bytes: usize,
) -> Result<Chunk, sqlx::Error> {
    let limit = limit as usize;
    let floor = queue::max_id(local).await?;
    let mut chunk = Chunk {
        rows: Vec::new(),
        row_positions: Vec::new(),
        position: floor,
        anchor: None,
        floor,
        last: false,
        absent: Vec::new(),
    };
    let mut from: Option<Vec<Option<String>>> = after.map(<[_]>::to_vec);
    loop {
        let fit = LOCKED_BYTES.checked_div(row_bytes).unwrap_or(LOCKED_ROWS);
        let want = (limit - chunk.rows.len()).min(LOCKED_ROWS).min(fit).max(1);
        let (part, position) = read_locked(local, spec, from.as_deref(), want as u32).await?;
        if let Some(last) = part.last() {
            from = Some(last.key.clone());
        }
        if !part.is_empty() {
            row_bytes = part.iter().map(KeyedRow::bytes).sum::<usize>() / part.len();
        }
        let short = part.len() < want;
        chunk
            .row_positions
            .extend(std::iter::repeat_n(position, part.len()));
        chunk.rows.extend(part);
        chunk.position = position;
        if short || chunk.rows.len() >= limit {
            break;
        }
    }
    chunk.last = chunk.rows.len() < limit;
    chunk.anchor = queue::change(local, chunk.position)
        .await?
        .map(|row| fingerprint(&row));
    Ok(chunk)
}

/// Up to `limit` rows after `after`, read in a transaction with `LOCK IN SHARE MODE` — so it
/// waits for the writers of those rows (and of rows inserted or deleted among them) to
/// commit — and the queue's highest id while the locks are held. A read that meets a
/// writer's lock or a deadlock is tried again: the shop's transactions win, the load waits
/// its turn.
async fn read_locked(
    local: &mut MySqlConnection,
    spec: &TableSpec,
    after: Option<&Values>,
    limit: u32,
) -> Result<(Vec<KeyedRow>, i64), sqlx::Error> {
    let range = Range {
        spec,
        after,
        up_to: None,
        limit: Some(limit),
        site: None,
        read: Read::Values,
        lock: true,
    };
    let mut attempt = 1;
    loop {
        let read = async {
            let mut tx = local.begin().await?;
            let rows = snapshot::read_range(&mut tx, &range).await?;
            let position = queue::max_id(&mut tx).await?;
            tx.commit().await?;
            Ok((rows, position))
        };
        match read.await {
            Err(err)
                if attempt < READ_ATTEMPTS
                    && matches!(error::classify(&err), Kind::Conflict | Kind::LockWait) =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            other => return other,
        }
    }
}
