//! One chunk's transaction in db_b: what it reads of db_b's side of the chunk's key range
//! (keys and sizes first, values only where they may be equal), then the rows it writes,
//! the rows it removes and the ledger positions and marks it records.

use std::collections::HashSet;

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use super::chunk::Chunk;
use super::refusal::Refused;
use super::unapplied::Unapplied;
use super::writes::{comparable_rows, newer_than, reflected_positions, rows_to_write, write_rows};
use super::{LoadSummary, Loader};
use crate::db::replica::{self, Values};
use crate::db::snapshot::{self, KeyedRow, Range, Read};
use crate::db::{ledger, load};
use crate::domain::table::TableSpec;

impl Loader<'_> {
    /// Writes one chunk into db_b in one transaction: rows that differ, removals of rows db_a
    /// lacks in the range, ledger positions for records with older changes still queued —
    /// those the chunk holds and those of its range it does not (`absent`) — and, with
    /// `load_mark`, the table's token and chunk count in db_b's marks. `None`, with nothing
    /// written, when db_b holds more than `removals` rows of the range the chunk lacks:
    /// [`Excess`](super::excess::Excess) removes them first.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_chunk(
        &self,
        central: &mut MySqlConnection,
        spec: &TableSpec,
        (after, up_to): (Option<&Values>, Option<&Values>),
        chunk: &Chunk,
        unapplied: &Unapplied,
        load_mark: Option<(&str, i64)>,
        removals: Option<u32>,
    ) -> Result<Option<LoadSummary>, Refused> {
        let site = (!self.site.is_empty()).then_some(self.site);
        let mut tx = central.begin().await?;
        let mark = ledger::lock_watermark(&mut tx, self.site).await?;
        let range = Range {
            spec,
            after,
            up_to,
            limit: removals.map(|n| {
                (chunk.rows.len() as u32)
                    .saturating_add(n)
                    .saturating_add(1)
            }),
            site,
            read: Read::Sizes,
            lock: false,
        };
        // Keys and sizes first: values are read only for the chunk's records that db_b may
        // hold alike (rows only db_b has may be many, and any of db_b's rows wide).
        let found = snapshot::read_range(&mut tx, &range).await?;
        let newer = if mark.last_change_id > chunk.floor {
            let reflected = reflected_positions(chunk, &found);
            newer_than(&mut tx, (self.site, &spec.name), &reflected, self.packet).await?
        } else {
            HashSet::new()
        };
        let in_chunk: HashSet<&str> = chunk.rows.iter().map(|r| r.identity.as_str()).collect();
        let remove: Vec<&KeyedRow> = found
            .iter()
            .filter(|r| !in_chunk.contains(r.identity.as_str()) && !newer.contains(&r.identity))
            .collect();
        // Past the bound, or the read cut short (by records db_b holds newer, which stay):
        // the rows only db_b has go first, then the range is read whole.
        if removals.is_some_and(|n| {
            remove.len() > n as usize || found.len() > chunk.rows.len() + n as usize
        }) {
            return Ok(None);
        }
        let removing = remove.len();
        self.write_decided(
            tx,
            chunk,
            (&found, &newer, &remove),
            &range,
            unapplied,
            load_mark,
        )
        .await
        .map(Some)
        .map_err(|err| Refused { err, removing })
    }

    /// The rest of [`Self::write_chunk`], once db_b's side of the range is known: `found`
    /// (its rows there, keys and sizes), `newer` (records it holds newer than the chunk) and
    /// `remove` (its rows the chunk lacks).
    async fn write_decided(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::MySql>,
        chunk: &Chunk,
        (found, newer, remove): (&[KeyedRow], &HashSet<String>, &[&KeyedRow]),
        range: &Range<'_>,
        unapplied: &Unapplied,
        load_mark: Option<(&str, i64)>,
    ) -> Result<LoadSummary, sqlx::Error> {
        let (spec, site) = (range.spec, range.site);
        let existing = comparable_rows(
            &mut tx,
            range,
            chunk,
            (found, newer),
            remove.is_empty(),
            self.packet,
        )
        .await?;
        let write = rows_to_write(chunk, &existing, newer);
        let refused = write_rows(&mut tx, spec, &write, site, self.packet).await?;
        if !remove.is_empty() {
            let keys: Vec<&Values> = remove.iter().map(|r| r.key.as_slice()).collect();
            replica::delete_rows(&mut tx, spec, &keys, site, self.packet).await?;
        }
        let held = chunk
            .rows
            .iter()
            .zip(&chunk.row_positions)
            .map(|(r, position)| (r.identity.as_str(), *position));
        let missing = remove
            .iter()
            .map(|r| r.identity.as_str())
            .chain(chunk.absent.iter().map(String::as_str))
            .map(|identity| (identity, chunk.floor));
        let positions: Vec<(&str, &str, i64)> = held
            .chain(missing)
            .filter(|(identity, _)| {
                unapplied.contains(&spec.name, identity)
                    && !newer.contains(*identity)
                    && !refused.contains(*identity)
            })
            .map(|(identity, position)| (spec.name.as_str(), identity, position))
            .collect();
        ledger::advance_ledger(&mut tx, self.site, &positions, self.packet).await?;
        let reflected = chunk.anchor.map(|anchor| (chunk.position, anchor));
        ledger::raise_watermark(&mut tx, self.site, chunk.position, reflected).await?;
        if let Some((token, chunks)) = load_mark {
            load::record_central_mark(&mut tx, self.site, &spec.name, token, chunks).await?;
        }
        tx.commit().await?;
        Ok(LoadSummary {
            checked: chunk.rows.len() as u64,
            copied: (write.len() - refused.len()) as u64,
            removed: remove.len() as u64,
            refused: refused.len() as u64,
        })
    }
}
