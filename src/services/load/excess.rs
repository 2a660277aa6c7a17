//! db_b rows in a chunk's key range that db_a lacks, when there are more of them than a
//! chunk's transaction should carry (db_a restored from an older backup, a db_b filled from
//! elsewhere): they are removed page by page, each page in a transaction of its own, before
//! the chunk's — so the chunk's transaction, its memory and a Galera writeset stay about a
//! chunk's size however many rows db_b has to lose.

use std::collections::{HashMap, HashSet};

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use super::chunk::{CHUNK_ROWS, Chunk};
use super::unapplied::Unapplied;
use super::writes::newer_than;
use crate::db::replica::{self, Values};
use crate::db::snapshot::{self, KeyedRow, Range, Read};
use crate::db::{error, ledger};
use crate::domain::table::TableSpec;

/// db_b rows a chunk's own transaction removes at most beside its rows (halved for good
/// under a writeset limit); with more in the range, [`Excess::remove`] goes first.
pub(super) const CHUNK_REMOVALS: u32 = CHUNK_ROWS;

/// The removal of rows only db_b has from one chunk's key range, ahead of the chunk.
pub(super) struct Excess<'a> {
    pub spec: &'a TableSpec,
    /// The chunk's key range: above `after`, up to `up_to` (to the end when `None`).
    pub after: Option<&'a Values>,
    pub up_to: Option<&'a Values>,
    pub site: &'a str,
    pub packet: usize,
}

impl Excess<'_> {
    /// Removes the db_b rows of the range that `chunk` lacks, pages of at most `page_rows`
    /// rows — except records db_b holds newer than the chunk (a change applied after its
    /// read), which the chunk leaves alone as well. A removed record with changes still
    /// queued gets the chunk's floor in the ledger, as in the chunk's own transaction. A
    /// page over a writeset limit is halved, for good. Returns the rows removed.
    pub(super) async fn remove(
        &self,
        central: &mut MySqlConnection,
        chunk: &Chunk,
        unapplied: &Unapplied,
        page_rows: &mut u32,
    ) -> Result<u64, sqlx::Error> {
        let held: HashSet<&str> = chunk.rows.iter().map(|r| r.identity.as_str()).collect();
        let site = (!self.site.is_empty()).then_some(self.site);
        let table = self.spec.name.as_str();
        let mut from: Option<Vec<Option<String>>> = self.after.map(<[_]>::to_vec);
        tracing::info!(table = %table, "db_b holds more rows that db_a lacks in a chunk's key range than the chunk's transaction removes: removing them in transactions of their own");
        let mut removed = 0;
        loop {
            let range = Range {
                spec: self.spec,
                after: from.as_deref(),
                up_to: self.up_to,
                limit: Some(*page_rows),
                site,
                read: Read::Keys,
                lock: false,
            };
            let page = snapshot::read_range(central, &range).await?;
            let Some(last) = page.last() else {
                return Ok(removed);
            };
            // Rows of the page the chunk lacks; the chunk reflects its own position for them.
            let candidates: Vec<&KeyedRow> = page
                .iter()
                .filter(|r| !held.contains(r.identity.as_str()))
                .collect();
            let removal = async {
                if candidates.is_empty() {
                    return Ok(0);
                }
                let mut tx = central.begin().await?;
                ledger::lock_watermark(&mut tx, self.site).await?;
                let reflected: HashMap<&str, i64> = candidates
                    .iter()
                    .map(|r| (r.identity.as_str(), chunk.position))
                    .collect();
                let newer =
                    newer_than(&mut tx, (self.site, table), &reflected, self.packet).await?;
                let gone: Vec<&KeyedRow> = candidates
                    .iter()
                    .copied()
                    .filter(|r| !newer.contains(&r.identity))
                    .collect();
                let keys: Vec<&Values> = gone.iter().map(|r| r.key.as_slice()).collect();
                if !keys.is_empty() {
                    replica::delete_rows(&mut tx, self.spec, &keys, site, self.packet).await?;
                }
                let positions: Vec<(&str, &str, i64)> = gone
                    .iter()
                    .map(|r| r.identity.as_str())
                    .filter(|identity| unapplied.contains(table, identity))
                    .map(|identity| (table, identity, chunk.floor))
                    .collect();
                ledger::advance_ledger(&mut tx, self.site, &positions, self.packet).await?;
                tx.commit().await?;
                Ok::<u64, sqlx::Error>(gone.len() as u64)
            };
            match removal.await {
                Ok(count) => removed += count,
                Err(err) if error::classify(&err) == error::Kind::Capacity && *page_rows > 1 => {
                    *page_rows /= 2;
                    continue;
                }
                Err(err) => return Err(err),
            }
            if page.len() < *page_rows as usize {
                return Ok(removed);
            }
            from = Some(last.key.clone());
        }
    }
}
