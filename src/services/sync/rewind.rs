//! Detecting a queue that went backwards before anything is applied.
//!
//! db_b's watermark row remembers, per site, the highest change id its ledger holds and the
//! id and fingerprint of the newest change applied — or, after an initial load, of the
//! newest change a chunk reflected. db_a's queue must agree: its ids must
//! reach the watermark, and the row with the applied id must be that same change (the purge
//! always keeps the newest SYNCED row for this). After `TRUNCATE sync_queue` the ids start
//! again at 1; after db_a is restored from an older dump they start below the watermark,
//! or the row at the applied id is a different, newer change. Either way new changes would
//! get ids db_b's ledger already counts as applied and be skipped as superseded: the run
//! refuses (outcome `rewound`) and `dbsync rebase` repairs it.

use sqlx::mysql::MySqlConnection;

use super::change::{earlier_fingerprint, fingerprint};
use crate::db::ledger::Watermark;
use crate::db::queue;

/// `Some(reason)` when db_a's queue no longer continues the history db_b has applied.
pub async fn check(
    local: &mut MySqlConnection,
    mark: Watermark,
) -> Result<Option<String>, sqlx::Error> {
    if mark == Watermark::default() {
        return Ok(None);
    }
    let newest = queue::max_id(local).await?;
    if newest < mark.last_change_id {
        return Ok(Some(format!(
            "db_a's sync_queue ends at id {newest} but db_b has applied changes up to id {} \
             (the queue was truncated, or db_a was restored from an older backup)",
            mark.last_change_id
        )));
    }
    let (Some(applied_id), Some(expected)) = (mark.applied_change_id, mark.applied_fingerprint)
    else {
        return Ok(None);
    };
    match queue::change(local, applied_id).await? {
        None => Ok(Some(format!(
            "change {applied_id}, the last one db_b applied, is no longer in db_a's sync_queue \
             (the queue was truncated or restored from an older backup)"
        ))),
        Some(row) if fingerprint(&row) != expected && earlier_fingerprint(&row) != expected => {
            Ok(Some(format!(
                "db_a's change {applied_id} is not the change db_b applied with that id \
                 (db_a was restored from an older backup and its queue ids were reused)"
            )))
        }
        Some(_) => Ok(None),
    }
}

/// `Some(reason)` when db_b's watermark is below a change db_a marked SYNCED: db_b no
/// longer holds changes it once applied (restored from an older backup, or a new empty
/// database under the same name). Not checked while a load runs: the load restores db_b.
pub async fn central_behind(
    local: &mut MySqlConnection,
    mark: Watermark,
) -> Result<Option<String>, sqlx::Error> {
    let synced = queue::newest_synced_id(local).await?;
    Ok(synced
        .filter(|synced| *synced > mark.last_change_id)
        .map(|synced| {
            format!(
                "db_a's changes up to id {synced} were synced, but db_b's records for this \
                 site end at id {} (db_b was restored from an older backup, or recreated)",
                mark.last_change_id
            )
        }))
}

/// The message an operator sees when db_b went back.
pub fn central_advice(reason: &str) -> String {
    format!(
        "{reason}; nothing was applied — run `dbsync resync` to copy db_a's rows to db_b again \
         (but if another database writes this site too — a copy of this one — give it its own \
         SITE_ID and a new identity first: UPDATE sync_identity SET token = REPLACE(UUID(), '-', ''))"
    )
}

/// The message an operator sees with a `rewound` outcome.
pub fn advice(reason: &str) -> String {
    format!(
        "{reason}; nothing was applied — run `dbsync rebase` to re-anchor the queue and copy db_a's rows to db_b \
         (but if this database is a copy of another site's, give it its own SITE_ID and a new identity first: \
         UPDATE sync_identity SET token = REPLACE(UUID(), '-', ''))"
    )
}
