//! A chunk of a table read from db_a for the load: its rows, read with shared locks, and
//! the queue positions that place it among the changes captured meanwhile.

use std::time::Duration;

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use crate::db::error::{self, Kind};
use crate::db::queue;
use crate::db::replica::{self, Values};
use crate::db::snapshot::{self, KeyedRow, Range, Read, RowBody};
use crate::domain::table::TableSpec;
use crate::services::sync::change::fingerprint;

/// Rows per chunk at most: small enough that a chunk's shared locks are held for
/// milliseconds. Fewer for wide rows (see `services::read_size`).
pub(super) const CHUNK_ROWS: u32 = 2000;

/// Tries at reading a chunk whose rows a writer holds locked.
const READ_ATTEMPTS: u64 = 5;

/// A chunk read from db_a with its positions.
pub(super) struct Chunk {
    pub rows: Vec<KeyedRow>,
    /// The queue's highest id once the rows are read and still locked: every change of a
    /// row the chunk holds is at or below it, or comes after the chunk.
    pub position: i64,
    /// The fingerprint of the change at `position`: db_b's watermark records it, so a run
    /// can tell that db_a's queue went back below what the chunk reflects (see
    /// `services::sync::rewind`) even before any change was applied after the load.
    pub anchor: Option<i64>,
    /// The queue's highest id before the rows are read: a key the chunk lacks could be
    /// inserted after the read passed it (no gap locks) with an id up to `position`, so
    /// only the changes at or below `floor` are known to be reflected for such a key.
    pub floor: i64,
    pub last: bool,
    /// Identities in the chunk's key range with changes still queued that the chunk does
    /// not hold (deleted in db_a, or inserted after the read passed them).
    pub absent: Vec<String>,
}

impl Chunk {
    /// About the bytes the chunk's rows take (their values).
    pub fn bytes(&self) -> usize {
        self.rows
            .iter()
            .map(|r| match &r.body {
                RowBody::Values(values) => replica::values_bytes(values),
                RowBody::Digest(_) => 16,
            })
            .sum()
    }
}

/// Reads the next chunk, trying again when a writer's lock or a deadlock got in the way: the
/// shop's transactions win, the load waits its turn.
pub(super) async fn read_chunk(
    local: &mut MySqlConnection,
    spec: &TableSpec,
    after: Option<&Values>,
    limit: u32,
) -> Result<Chunk, sqlx::Error> {
    let mut attempt = 1;
    loop {
        match read_chunk_once(local, spec, after, limit).await {
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

/// Reads the next chunk after `after` with shared locks, and the queue position while the
/// locks are held.
async fn read_chunk_once(
    local: &mut MySqlConnection,
    spec: &TableSpec,
    after: Option<&Values>,
    limit: u32,
) -> Result<Chunk, sqlx::Error> {
    let mut tx = local.begin().await?;
    let floor = queue::max_id(&mut tx).await?;
    let rows = snapshot::read_range(
        &mut tx,
        &Range {
            spec,
            after,
            up_to: None,
            limit: Some(limit),
            site: None,
            read: Read::Values,
            lock: true,
        },
    )
    .await?;
    let position = queue::max_id(&mut tx).await?;
    let anchor = queue::change(&mut tx, position)
        .await?
        .map(|row| fingerprint(&row));
    tx.commit().await?;
    let last = rows.len() < limit as usize;
    Ok(Chunk {
        rows,
        position,
        anchor,
        floor,
        last,
        absent: Vec::new(),
    })
}
