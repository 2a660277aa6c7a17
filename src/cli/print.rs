//! What the commands print: plain lines for people, JSON on request.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use super::CliError;
use crate::config::Config;
use crate::db::load::LoadState;
use crate::domain::SyncRun;
use crate::services::load::{Linked, LoadProgress};
use crate::services::setup::InitReport;
use crate::services::sync::status::{CentralReach, SyncStatusReport};
use crate::services::verify::VerifyReport;

pub(super) fn json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))?;
    say!("{text}");
    Ok(())
}

/// A time in the machine's local zone, with the zone: `2026-11-29 14:03:07 +01:00`.
fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

pub(super) fn init_report(config: &Config, report: &InitReport, seed: bool) {
    say!(
        "initialised {} (local) and {} (central): tables {}; {} trigger(s) created",
        config.local.database,
        config.central.database,
        report.tables.join(", "),
        3 * report.triggers_written.len()
    );
    for change in &report.central_changes {
        say!("db_b: {change}");
    }
    for deferred in &report.deferred {
        say!("db_b: {deferred}");
    }
    for (table, why, superseded) in &report.rekeyed {
        say!(
            "{table}: {why}; {superseded} change(s) queued before are replaced by the table's copy"
        );
    }
    for warning in &report.unsynced_cascades {
        say!("warning: {warning}");
    }
    for (table, why) in &report.reloads {
        say!("{table}: {why}; the next run copies its rows again (resumable)");
    }
    for (table, parked) in &report.dropped {
        say!(
            "{table}: no longer in SYNC_TABLES; its triggers were removed and {parked} queued \
             change(s) of it parked as FAILED (db_b's copy is left as it is, but for its foreign keys)"
        );
    }
    match (seed, report.seeded) {
        (false, _) => {}
        (true, true) => say!("sample data loaded"),
        (true, false) => say!("sample data skipped (db_a already has users)"),
    }
}

pub(super) fn status(report: &SyncStatusReport, loads: &[LoadState]) {
    let c = &report.counts;
    say!("online: {}", connection(report));
    say!(
        "pending: {}  synced: {}  failed: {}",
        c.pending,
        c.synced,
        c.failed
    );
    if c.pending > 0 {
        say!(
            "oldest pending change: {}s old",
            report.oldest_pending_age_seconds
        );
    } else {
        say!("oldest pending change: none");
    }
    if report.waiting > 0 {
        let next = report.next_retry_at.map(local).unwrap_or_default();
        say!(
            "waiting to be retried: {} (next at {next}); `dbsync retry --all` makes them due now",
            report.waiting
        );
    }
    if c.failed > 0 {
        say!(
            "FAILED changes need a fix: in db_b, then `dbsync requeue --all-failed`; or of the row in db_a, whose next change, once applied, closes them"
        );
    }
    match &report.last_run {
        Some(run) => say!(
            "last run #{}: {} (applied {}, failed {}){}",
            run.id,
            run_times(run),
            run.applied,
            run.failed,
            run.message
                .as_deref()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default()
        ),
        None => say!("last run: none yet"),
    }
    if let Some(run) = &report.last_run_with_rejections
        && report
            .last_run
            .as_ref()
            .is_some_and(|last| last.id != run.id)
    {
        say!(
            "last run that rejected changes: #{} at {} (failed {})",
            run.id,
            local(run.started_at),
            run.failed
        );
    }
    unfinished_loads(loads);
}

/// One line per table whose initial load is not finished: how far it got.
pub(super) fn unfinished_loads(loads: &[LoadState]) {
    for load in loads.iter().filter(|l| l.finished_at.is_none()) {
        say!(
            "initial load of {}: {} of about {} rows read, {} written to db_b (resumes with the next run)",
            load.table_name,
            load.rows_checked,
            // The estimate comes from table statistics: a table can hold more.
            load.rows_estimate.max(load.rows_checked),
            load.rows_copied
        );
    }
}

/// Whether this site reaches db_b: `IS_ONLINE`, and whether db_b answered the last run.
fn connection(report: &SyncStatusReport) -> &'static str {
    match report.central {
        CentralReach::NotTried => "no (IS_ONLINE=false)",
        CentralReach::Unreachable => "no (db_b did not answer, or failed, the last run)",
        CentralReach::Reachable => "yes",
        CentralReach::Unknown => "yes (IS_ONLINE=true; db_b not tried yet)",
    }
}

/// `synced at <end>, took 1.2s`, or `running since <start>`.
fn run_times(run: &SyncRun) -> String {
    match run.finished_at {
        Some(finished) => {
            let took = (finished - run.started_at).num_milliseconds().max(0) as f64 / 1000.0;
            format!("{} at {}, took {took:.2}s", run.outcome, local(finished))
        }
        None => format!("{} since {}", run.outcome, local(run.started_at)),
    }
}

/// Says which unfinished load `resync` replaced by a copy of every row, and how a load cut
/// short is carried on instead (next time: the replaced one is gone).
pub(super) fn replaced_load(states: &[LoadState]) {
    let tables: Vec<String> = states
        .iter()
        .map(|s| match (s.finished_at, s.chunks) {
            (Some(_), _) => format!("{} done", s.table_name),
            (None, 0) => format!("{} not started", s.table_name),
            (None, _) => format!(
                "{} {} of about {} rows read",
                s.table_name,
                s.rows_checked,
                s.rows_estimate.max(s.rows_checked)
            ),
        })
        .collect();
    let started = states.iter().map(|s| s.started_at).min();
    say!(
        "copying every row again in place of the unfinished initial load started {} ({}): rows db_b \
         already holds as db_a does are compared, not written again; `dbsync sync` is what carries a \
         load cut short on from its last chunk",
        started.map(local).unwrap_or_default(),
        tables.join(", ")
    );
}

/// Says which tables a `resync --table` copies beside the ones asked for, and why.
pub(super) fn linked_copies(linked: &[Linked]) {
    for Linked { table, to } in linked {
        say!(
            "`{table}` is copied too: it is linked to `{to}` by a foreign key that cascades or \
             sets NULL, which db_a does without queuing a change"
        );
    }
}

/// Says which other tables' unfinished copies a `resync --table` run carries on.
pub(super) fn carried_on_load(states: &[LoadState]) {
    let tables: Vec<String> = states
        .iter()
        .map(|s| {
            format!(
                "{} ({} of about {} rows read)",
                s.table_name,
                s.rows_checked,
                s.rows_estimate.max(s.rows_checked)
            )
        })
        .collect();
    say!(
        "this run also carries on the unfinished copy of {} from its last chunk, as any run does",
        tables.join(", ")
    );
}

pub(super) fn verify(report: &VerifyReport) {
    for table in &report.tables {
        if table.differing == 0 {
            say!("{}: equal ({} rows)", table.table, table.compared);
        } else {
            say!(
                "{}: {} differing id(s): {}{}",
                table.table,
                table.differing,
                table.keys.join(", "),
                if table.listed_with_queued_changes > 0 {
                    format!(
                        " — {} of them have changes not synced yet",
                        table.listed_with_queued_changes
                    )
                } else {
                    String::new()
                }
            );
        }
    }
    if !report.is_equal() && report.pending > 0 {
        say!(
            "{} change(s) are still pending in db_a's queue (not synced yet): run `dbsync sync`, then verify again",
            report.pending
        );
    }
    if !report.is_equal() && report.failed > 0 {
        say!(
            "{} change(s) are FAILED: see `dbsync status`",
            report.failed
        );
    }
    if !report.is_equal() && !report.loading.is_empty() {
        say!(
            "a copy of {} by the next run is queued or under way: run `dbsync sync`, then verify again",
            report.loading.join(", ")
        );
    }
    if !report.is_equal() && report.pending == 0 && report.failed == 0 && report.loading.is_empty()
    {
        // Only the tables that differ, unless that is every table.
        let mut differing: Vec<String> = report
            .tables
            .iter()
            .filter(|t| t.differing > 0)
            .map(|t| format!(" --table {}", t.table))
            .collect();
        if differing.len() == report.tables.len() {
            differing.clear();
        }
        say!(
            "no change is pending or FAILED in db_a's queue: `dbsync resync{}` copies db_a's rows into db_b again (rows db_b holds as db_a does are not rewritten)",
            differing.concat()
        );
    }
}

/// Prints load progress (rows/s, ETA) on one updating line while a terminal watches, or
/// a line every ten seconds otherwise, until the task is aborted.
pub(super) async fn load_progress(mut updates: tokio::sync::watch::Receiver<Option<LoadProgress>>) {
    let terminal = std::io::stderr().is_terminal();
    let mut last_line = std::time::Instant::now();
    while updates.changed().await.is_ok() {
        let Some(p) = updates.borrow_and_update().clone() else {
            continue;
        };
        if !terminal && last_line.elapsed().as_secs() < 10 {
            continue;
        }
        last_line = std::time::Instant::now();
        let seconds = p.elapsed.as_secs_f64().max(0.001);
        let rate = p.read.saturating_sub(p.read_before) as f64 / seconds;
        let eta = if rate > 0.0 && p.estimate > p.read {
            format!("{:.0}s", (p.estimate - p.read) as f64 / rate)
        } else {
            "-".to_string()
        };
        let line = format!(
            "loading {}: {} of ~{} rows, {:.0} rows/s, ETA {eta}",
            p.table,
            p.read,
            p.estimate.max(p.read),
            rate
        );
        // One lock for the line and its flag: a log line clears it whole or not at all.
        let mut err = std::io::stderr().lock();
        if terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            crate::telemetry::progress_line_shown();
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }
}

pub(super) fn end_progress_line() {
    crate::telemetry::clear_progress_line();
}

pub(super) fn sites(rows: &[crate::services::site::SiteRow]) {
    if rows.is_empty() {
        say!("no site has reported yet (sites report at the end of each run, with SITE_ID set)");
        return;
    }
    say!(
        "{:<20} {:<27} {:<15} {:>8} {:>8} {:>7} {:>15}  version",
        "site",
        "last run",
        "outcome",
        "applied",
        "pending",
        "failed",
        "oldest pending"
    );
    for row in rows {
        say!(
            "{:<20} {:<27} {:<15} {:>8} {:>8} {:>7} {:>14}s  {}",
            row.site_id,
            local(row.last_run_at),
            row.last_run_outcome,
            row.applied_in_last_run,
            row.pending_changes,
            row.failed_changes,
            row.oldest_pending_age_seconds,
            row.dbsync_version
        );
    }
}
