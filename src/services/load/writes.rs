//! What a chunk writes into db_b: the rows that differ from db_b's, except records db_b
//! holds newer than the chunk; rows db_b refuses are set apart one by one.

use std::collections::{HashMap, HashSet};

use sqlx::mysql::MySqlConnection;

use super::chunk::Chunk;
use crate::db::error::{self, Kind};
use crate::db::replica::{self, Values, Write};
use crate::db::snapshot::{self, KeyedRow, Range, Read, RowBody};
use crate::db::{ledger, packet};
use crate::domain::table::TableSpec;

/// The queue position a chunk reflects for each record of its range: its read's for a
/// record it holds, the chunk's for one of `found` (db_b's rows there) or `absent` it lacks.
pub(super) fn reflected_positions<'a>(
    chunk: &'a Chunk,
    found: &'a [KeyedRow],
) -> HashMap<&'a str, i64> {
    let mut reflected: HashMap<&str, i64> = found
        .iter()
        .map(|r| r.identity.as_str())
        .chain(chunk.absent.iter().map(String::as_str))
        .map(|identity| (identity, chunk.position))
        .collect();
    reflected.extend(
        chunk
            .rows
            .iter()
            .zip(&chunk.row_positions)
            .map(|(r, position)| (r.identity.as_str(), *position)),
    );
    reflected
}

/// The records of `table` that db_b's ledger holds past the position a chunk reflects for
/// them (`reflected`): a change applied after the chunk's read, so the chunk leaves them as
/// they are.
pub(super) async fn newer_than(
    conn: &mut MySqlConnection,
    (site, table): (&str, &str),
    reflected: &HashMap<&str, i64>,
    packet: usize,
) -> Result<HashSet<String>, sqlx::Error> {
    let keys: Vec<&str> = reflected.keys().copied().collect();
    Ok(ledger::ledger_entries(conn, site, table, &keys, packet)
        .await?
        .into_iter()
        .filter(|(identity, id)| {
            reflected
                .get(identity.as_str())
                .is_some_and(|position| id > position)
        })
        .map(|(identity, _)| identity)
        .collect())
}

/// db_b's values of the chunk's records it may hold as the chunk does: `found` (db_b's rows
/// of the chunk's `range`, with their sizes) minus the records in `newer`. Rows whose size
/// differs from the chunk's row differ and are not read, so a db_b row far wider than
/// db_a's is not held in memory. With `whole_range` (nothing in the range to remove) and
/// every size alike, one read of the range (records db_b holds newer come with it); else a
/// lookup by key.
pub(super) async fn comparable_rows(
    conn: &mut MySqlConnection,
    range: &Range<'_>,
    chunk: &Chunk,
    (found, newer): (&[KeyedRow], &HashSet<String>),
    whole_range: bool,
    packet: usize,
) -> Result<Vec<KeyedRow>, sqlx::Error> {
    let spec = range.spec;
    let sizes: HashMap<&str, u64> = chunk
        .rows
        .iter()
        .filter_map(|r| match &r.body {
            RowBody::Values(values) => Some((
                r.identity.as_str(),
                crate::db::row_size::image_size(spec, values),
            )),
            _ => None,
        })
        .collect();
    let (mut alike, mut all_alike) = (Vec::new(), true);
    for row in found.iter().filter(|r| !newer.contains(&r.identity)) {
        let Some(ours) = sizes.get(row.identity.as_str()) else {
            continue;
        };
        if row.body == RowBody::Size(*ours) {
            alike.push(row.key.as_slice());
        } else {
            all_alike = false;
        }
    }
    if alike.is_empty() {
        return Ok(Vec::new());
    }
    if whole_range && all_alike {
        let values = Range {
            limit: None,
            read: Read::Values,
            ..*range
        };
        return snapshot::read_range(conn, &values).await;
    }
    snapshot::read_keys(conn, spec, &alike, range.site, packet).await
}

/// The chunk's rows db_b lacks or holds otherwise (`existing`: db_b's rows of the chunk's
/// records), leaving alone the records in `newer`.
pub(super) fn rows_to_write<'a>(
    chunk: &'a Chunk,
    existing: &[KeyedRow],
    newer: &HashSet<String>,
) -> Vec<&'a KeyedRow> {
    let theirs: HashMap<&str, &RowBody> = existing
        .iter()
        .map(|r| (r.identity.as_str(), &r.body))
        .collect();
    chunk
        .rows
        .iter()
        .filter(|r| {
            !newer.contains(&r.identity) && theirs.get(r.identity.as_str()) != Some(&&r.body)
        })
        .collect()
}

/// Writes the chunk's rows db_b lacks or holds otherwise, in as few statements as db_b's
/// `packet` limit allows; when db_b refuses the data (a value or key it will not take), row
/// by row, logging and counting the rows it refuses so one bad row does not stop the load.
/// A row no statement can carry is refused without being sent. Returns the refused records:
/// their queued changes stay due, so the drain parks them as FAILED where an operator sees
/// them.
pub(super) async fn write_rows<'a>(
    tx: &mut MySqlConnection,
    spec: &TableSpec,
    rows: &[&'a KeyedRow],
    site: Option<&str>,
    packet: usize,
) -> Result<HashSet<&'a str>, sqlx::Error> {
    let mut refused = HashSet::new();
    let mut fitting: Vec<(&'a KeyedRow, &Values)> = Vec::with_capacity(rows.len());
    for row in rows {
        let RowBody::Values(values) = &row.body else {
            continue;
        };
        match packet::too_big(spec, values, packet) {
            Some(reason) => {
                refused.insert(row.identity.as_str());
                tracing::warn!(table = %spec.name, key = %row.shown_key(spec), %reason, "initial load: this row was left out; raise max_allowed_packet on db_b, then run `dbsync resync`");
            }
            None => fitting.push((row, values.as_slice())),
        }
    }
    if fitting.is_empty() {
        return Ok(refused);
    }
    let present = vec![true; spec.image_columns().count()];
    let values: Vec<&Values> = fitting.iter().map(|(_, values)| *values).collect();
    let all = replica::write_rows(tx, spec, &present, &values, site, Write::Replace, packet).await;
    match all {
        Err(err) if refuses_rows(tx, &err).await => {}
        other => return other.map(|()| refused),
    }
    for (row, values) in fitting {
        let one =
            replica::write_rows(tx, spec, &present, &[values], site, Write::Replace, packet).await;
        match one {
            Ok(()) => {}
            Err(err) if refuses_rows(tx, &err).await => {
                refused.insert(row.identity.as_str());
                tracing::warn!(
                    table = %spec.name,
                    key = %row.shown_key(spec),
                    error = %error::describe(&err),
                    "initial load: db_b refused this row; it was left out"
                );
            }
            Err(err) => return Err(err),
        }
    }
    Ok(refused)
}

/// Whether `err` is db_b refusing rows (their data, or a reason of its own — a trigger of
/// its own that signals), as the drain rejects a change for it, rather than db_b failing.
/// An error of no known kind counts only while the chunk's transaction is still open: one
/// that rolled it back whole (1206, lock table full) must not let the chunk go on in pieces.
async fn refuses_rows(tx: &mut MySqlConnection, err: &sqlx::Error) -> bool {
    match error::classify(err) {
        Kind::Data => true,
        Kind::Other => {
            let open = sqlx::query_scalar::<_, i64>("SELECT CAST(@@in_transaction AS SIGNED)")
                .fetch_one(&mut *tx)
                .await;
            matches!(open, Ok(1))
        }
        _ => false,
    }
}
