//! Applies changes to db_b in one transaction, as a few multi-row statements, with the
//! ledger and watermark that keep replays from moving a record back in time.

use std::collections::{BTreeMap, HashMap};

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use super::change::{Action, Change};
use crate::db::ledger;
use crate::db::replica::{self, Values};

/// Applies `changes` (in queue id order) in one db_b transaction; all or nothing. Returns
/// the queue ids now in db_b (applied, or superseded by a newer change already there).
///
/// A change whose record already has a newer change applied (per `sync_ledger`) is skipped
/// as superseded: this keeps a requeued or replayed change from moving a record back.
pub async fn apply_changes(
    conn: &mut MySqlConnection,
    changes: &[&Change],
    site: &str,
    packet: usize,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let fresh = not_superseded(&mut tx, changes, site, packet).await?;
    write_changes(&mut tx, &fresh, site, packet).await?;
    let mut ledger: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for change in &fresh {
        ledger.insert(
            (change.spec.name.as_str(), change.record.as_str()),
            change.queue_id,
        );
    }
    // A stable (sorted) order keeps two writers of the ledger from deadlocking each other.
    let ledger: Vec<(&str, &str, i64)> =
        ledger.into_iter().map(|((t, k), id)| (t, k, id)).collect();
    ledger::advance_ledger(&mut tx, site, &ledger, packet).await?;
    if let Some(newest) = fresh.iter().max_by_key(|c| c.queue_id) {
        ledger::raise_watermark(
            &mut tx,
            site,
            newest.queue_id,
            Some((newest.queue_id, newest.fingerprint)),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changes.iter().map(|c| c.queue_id).collect())
}

/// The changes newer than what db_b's ledger holds for their record. Only a change at or
/// below the watermark can have been superseded: only those are looked up.
async fn not_superseded<'c>(
    conn: &mut MySqlConnection,
    changes: &[&'c Change],
    site: &str,
    packet: usize,
) -> Result<Vec<&'c Change>, sqlx::Error> {
    let watermark = ledger::lock_watermark(conn, site).await?;
    let mut suspects: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for change in changes
        .iter()
        .filter(|c| c.queue_id <= watermark.last_change_id)
    {
        suspects
            .entry(change.spec.name.as_str())
            .or_default()
            .push(change.record.as_str());
    }
    let mut newest_applied: HashMap<(&str, String), i64> = HashMap::new();
    for (table, keys) in suspects {
        for (key, change_id) in ledger::ledger_entries(conn, site, table, &keys, packet).await? {
            newest_applied.insert((table, key), change_id);
        }
    }
    Ok(changes
        .iter()
        .copied()
        .filter(|c| {
            newest_applied
                .get(&(c.spec.name.as_str(), c.record.clone()))
                .is_none_or(|newest| c.queue_id > *newest)
        })
        .collect())
}

/// Consecutive changes of one table and kind (and, for upserts, the same columns) share a
/// statement; order is kept, so a parent's insert precedes its children's and a child's
/// delete precedes its parent's. Statements stay within db_b's `packet` limit.
async fn write_changes(
    conn: &mut MySqlConnection,
    fresh: &[&Change],
    site: &str,
    packet: usize,
) -> Result<(), sqlx::Error> {
    // Single-site (`SITE_ID` unset, site ''): db_b's tables have no site_id column.
    let site_column = (!site.is_empty()).then_some(site);
    let same_statement = |a: &&Change, b: &&Change| {
        a.table == b.table
            && match (&a.action, &b.action) {
                (Action::Delete { .. }, Action::Delete { .. }) => true,
                (Action::Upsert { present: pa, .. }, Action::Upsert { present: pb, .. }) => {
                    pa == pb
                }
                _ => false,
            }
    };
    for group in fresh.chunk_by(same_statement) {
        let spec = &group[0].spec;
        match &group[0].action {
            Action::Delete { .. } => {
                let keys: Vec<&Values> = group
                    .iter()
                    .filter_map(|c| match &c.action {
                        Action::Delete { key } => Some(key.as_slice()),
                        Action::Upsert { .. } => None,
                    })
                    .collect();
                replica::delete_rows(conn, spec, &keys, site_column, packet).await?;
            }
            Action::Upsert { present, .. } => {
                let rows: Vec<&Values> = group
                    .iter()
                    .filter_map(|c| match &c.action {
                        Action::Upsert { values, .. } => Some(values.as_slice()),
                        Action::Delete { .. } => None,
                    })
                    .collect();
                replica::upsert_rows(conn, spec, present, &rows, site_column, packet).await?;
            }
        }
    }
    Ok(())
}
