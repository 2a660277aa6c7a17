//! What a chunk writes into db_b: the rows that differ from db_b's, and the rows db_b has
//! in the chunk's range that db_a lacks; rows db_b refuses are set apart one by one.

use std::collections::{HashMap, HashSet};

use sqlx::mysql::MySqlConnection;

use super::chunk::Chunk;
use crate::db::error::{self, Kind};
use crate::db::packet;
use crate::db::replica::{self, Values, Write};
use crate::db::snapshot::{KeyedRow, RowBody};
use crate::domain::table::TableSpec;

/// The chunk's rows db_b lacks or holds otherwise (to write), and db_b's rows in the range
/// the chunk lacks (to remove) — leaving alone the records in `newer`.
pub(super) fn differences<'a>(
    chunk: &'a Chunk,
    existing: &'a [KeyedRow],
    newer: &HashSet<String>,
) -> (Vec<&'a KeyedRow>, Vec<&'a KeyedRow>) {
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
        .collect();
    let ours: HashSet<&str> = chunk.rows.iter().map(|r| r.identity.as_str()).collect();
    let remove = existing
        .iter()
        .filter(|r| !ours.contains(r.identity.as_str()) && !newer.contains(&r.identity))
        .collect();
    (write, remove)
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
