//! `dbsync verify`: compares every synced table of db_a with db_b (this site's rows), every
//! column, a key range at a time so memory stays flat however large the tables are. Each
//! row is compared by a digest of its row image computed by each server, so values are
//! compared exactly (zero dates, binary bytes and floats included).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::QueryBuilder;
use sqlx::mysql::{MySql, MySqlPool};

use crate::db::snapshot::{self, KeyedRow, Range, Read, RowBody};
use crate::domain::table::TableSpec;
use crate::services::sync::tables::Tables;
use crate::services::watchdog::Watchdog;

const PAGE: u32 = 5000;
/// Differing keys listed per table; the counts are always complete.
const LISTED: usize = 20;

#[derive(Debug, Default, Serialize)]
pub struct TableDiff {
    pub table: String,
    pub compared: u64,
    pub differing: u64,
    /// Up to 20 keys present in only one database or with different values: the key's
    /// value, or a JSON array of the values of a composite key.
    pub keys: Vec<String>,
    /// The listed records' identities, to look up their queued changes.
    #[serde(skip)]
    identities: Vec<String>,
    /// How many of the listed keys have changes still PENDING or FAILED in db_a's queue:
    /// those differences are changes not synced yet, not drift.
    pub listed_with_queued_changes: u64,
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub tables: Vec<TableDiff>,
    /// Changes in db_a's queue not applied yet.
    pub pending: i64,
    pub failed: i64,
    /// Tables whose copy by a run (`init` queued it, or `resync`) is queued or under way.
    pub loading: Vec<String>,
}

impl VerifyReport {
    pub fn is_equal(&self) -> bool {
        self.tables.iter().all(|t| t.differing == 0)
    }
}

/// Compares every synced table page by page, ticking `watchdog` as each page is read.
pub async fn verify(
    local_pool: &MySqlPool,
    central_pool: &MySqlPool,
    tables: &Tables,
    site: Option<&str>,
    watchdog: &Watchdog,
) -> Result<VerifyReport, sqlx::Error> {
    let mut report = VerifyReport {
        tables: Vec::new(),
        pending: 0,
        failed: 0,
        loading: Vec::new(),
    };
    for spec in tables.iter() {
        let mut diff = compare_table(local_pool, central_pool, spec, site, watchdog).await?;
        diff.listed_with_queued_changes =
            queued_among(local_pool, &spec.name, &diff.identities).await?;
        report.tables.push(diff);
    }
    let [pending, _, failed] = crate::db::queue::queue_counts(local_pool).await?;
    report.pending = pending;
    report.failed = failed;
    report.loading = crate::db::load::states_in(local_pool)
        .await?
        .into_iter()
        .filter(|load| load.finished_at.is_none())
        .map(|load| load.table_name)
        .collect();
    Ok(report)
}

async fn compare_table(
    local_pool: &MySqlPool,
    central_pool: &MySqlPool,
    spec: &TableSpec,
    site: Option<&str>,
    watchdog: &Watchdog,
) -> Result<TableDiff, sqlx::Error> {
    let mut diff = TableDiff {
        table: spec.name.clone(),
        ..TableDiff::default()
    };
    let mut local = local_pool.acquire().await?;
    let mut central = central_pool.acquire().await?;
    let mut after: Option<Vec<Option<String>>> = None;
    loop {
        // A wait on db_a (a writer's lock, an ALTER queued) is not db_b's silence.
        let page = watchdog
            .while_on_db_a(snapshot::read_range(
                &mut local,
                &Range {
                    spec,
                    after: after.as_deref(),
                    up_to: None,
                    limit: Some(PAGE),
                    site: None,
                    read: Read::Digest,
                    lock: false,
                },
            ))
            .await?;
        let last_page = page.len() < PAGE as usize;
        let up_to = if last_page {
            None
        } else {
            page.last().map(|r| r.key.clone())
        };
        let other = snapshot::read_range(
            &mut central,
            &Range {
                spec,
                after: after.as_deref(),
                up_to: up_to.as_deref(),
                limit: None,
                site,
                read: Read::Digest,
                lock: false,
            },
        )
        .await?;
        watchdog.tick();
        note_differences(&mut diff, spec, &page, &other);
        match up_to {
            Some(last) => after = Some(last),
            None => return Ok(diff),
        }
    }
}

/// Compares the same key range read from both sides.
fn note_differences(
    diff: &mut TableDiff,
    spec: &TableSpec,
    local: &[KeyedRow],
    central: &[KeyedRow],
) {
    let digest = |row: &KeyedRow| match &row.body {
        RowBody::Digest(d) => d.clone(),
        RowBody::Values(_) | RowBody::KeyOnly | RowBody::Size(_) => None,
    };
    let mut theirs: HashMap<&str, &KeyedRow> =
        central.iter().map(|r| (r.identity.as_str(), r)).collect();
    let note = |diff: &mut TableDiff, row: &KeyedRow| {
        diff.differing += 1;
        if diff.keys.len() < LISTED {
            diff.keys.push(row.shown_key(spec));
            diff.identities.push(row.identity.clone());
        }
    };
    for row in local {
        diff.compared += 1;
        match theirs.remove(row.identity.as_str()) {
            Some(other) if digest(other) == digest(row) => {}
            _ => note(diff, row),
        }
    }
    let mut extra: Vec<&KeyedRow> = theirs.into_values().collect();
    extra.sort_unstable_by(|a, b| a.identity.cmp(&b.identity));
    for row in extra {
        diff.compared += 1;
        note(diff, row);
    }
}

/// How many of `keys` (record identities) have PENDING or FAILED changes queued.
async fn queued_among(pool: &MySqlPool, table: &str, keys: &[String]) -> Result<u64, sqlx::Error> {
    if keys.is_empty() {
        return Ok(0);
    }
    let mut query = QueryBuilder::<MySql>::new(
        "SELECT DISTINCT CAST(COALESCE(CAST(record_id AS CHAR), record_key) AS CHAR) FROM sync_queue \
         WHERE sync_status IN ('PENDING', 'FAILED') AND table_name = CAST(",
    );
    query
        .push_bind(table)
        .push(" AS BINARY) AND (record_key IN (");
    let mut list = query.separated(", ");
    for key in keys {
        list.push_bind(key.as_bytes());
    }
    query.push(") OR record_id IN (");
    let mut list = query.separated(", ");
    for key in keys {
        list.push_bind(key.parse::<i64>().ok());
    }
    query.push("))");
    let queued: Vec<String> = query.build_query_scalar().fetch_all(pool).await?;
    Ok(keys.iter().filter(|k| queued.contains(k)).count() as u64)
}
