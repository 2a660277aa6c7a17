//! What the engine tells the world beside its run report: metrics, load progress, a
//! rejection's reason in words an operator can act on, and the site's line in db_b.

use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use super::SyncEngine;
use super::change::{Action, Change};
use super::report::RunReport;
use super::tables;
use crate::db::error::{self, code};
use crate::db::{ledger, nodes, queue, replica, sites, snapshot};
use crate::services::load::LoadProgress;

/// How long reporting a run to db_b's `sync_sites` may take.
const REPORT_WAIT: Duration = Duration::from_secs(10);

impl SyncEngine {
    /// The site's line in db_b's `sync_sites` (best effort: a run's outcome never depends on it).
    pub(super) async fn report_to_central(&self, report: &RunReport) {
        let attempt = async {
            let (mut central, _) = nodes::connect_ready(&self.central_target, &self.central_nodes)
                .await
                .map_err(|e| e.reason)?;
            let (_, oldest) = super::status::queue_depth(&self.local)
                .await
                .map_err(|e| e.to_string())?;
            let [_, _, failed] = queue::queue_counts(&self.local)
                .await
                .map_err(|e| e.to_string())?;
            let mark = ledger::read_watermark(&mut central, &self.site)
                .await
                .map_err(|e| e.to_string())?;
            let row = sites::SiteRow {
                site_id: self.site.clone(),
                last_run_id: report.run_id,
                last_run_outcome: report.outcome.as_str().to_string(),
                last_run_at: chrono::Utc::now(),
                last_run_message: report.message.clone(),
                applied_in_last_run: i64::try_from(report.applied).unwrap_or(i64::MAX),
                last_applied_change_id: mark.applied_change_id,
                pending_changes: report.remaining.max(0),
                failed_changes: failed,
                oldest_pending_age_seconds: oldest,
                dbsync_version: env!("CARGO_PKG_VERSION").to_string(),
            };
            sites::report(&mut central, &row)
                .await
                .map_err(|e| e.to_string())?;
            let _ = central.close().await;
            Ok::<_, String>(())
        };
        // Best effort, and bounded: after a run db_b left unanswered it may still be silent,
        // and the run's end (a stop's too) must not wait on it.
        let reported = tokio::time::timeout(REPORT_WAIT, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "db_b did not answer in {} s",
                    REPORT_WAIT.as_secs()
                ))
            });
        if let Err(reason) = reported {
            tracing::warn!(%reason, "could not report this site's state to db_b's sync_sites");
        }
    }

    /// Load progress for whoever watches (a terminal), and a log line every few seconds.
    pub(super) fn report_load(&self, progress: &LoadProgress) {
        let _ = self.load_progress.send(Some(progress.clone()));
        let mut last = self.load_logged.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(5)) {
            *last = Some(Instant::now());
            tracing::info!(table = %progress.table, read = progress.read, estimate = progress.estimate, "initial load in progress");
        }
    }

    /// Progress of a load this engine runs (for a terminal's progress line).
    pub fn watch_load(&self) -> tokio::sync::watch::Receiver<Option<LoadProgress>> {
        self.load_progress.subscribe()
    }

    pub(super) fn count_applied(&self, changes: &[Change], _took: Duration) {
        for change in changes {
            self.metrics
                .changes_applied
                .with_label_values(&[change.spec.name.as_str(), change.operation.as_str()])
                .inc();
        }
    }

    pub(super) fn count_failure(&self, table: &str, operation: &str, tables: &tables::Tables) {
        let table = super::change::label(table, tables);
        let operation = match operation {
            op @ ("INSERT" | "UPDATE" | "DELETE") => op,
            _ => "invalid",
        };
        self.metrics
            .changes_failed
            .with_label_values(&[table, operation])
            .inc();
    }

    /// Why db_b refused `change`, in words an operator can act on: for a clash on a unique
    /// key, the value and the db_b row that holds it.
    pub(super) async fn rejection_reason(
        &self,
        central: &mut MySqlConnection,
        change: &Change,
        err: &sqlx::Error,
    ) -> String {
        let number = error::number(err);
        if matches!(
            number,
            Some(code::SUBQUERY_NO_1_ROW | code::DUP_ENTRY | code::BAD_NULL)
        ) {
            if let Action::Upsert { values, present } = &change.action {
                let site = (!self.site.is_empty()).then_some(self.site.as_str());
                if let Ok(Some(clash)) = replica::find_clash(
                    central,
                    &change.spec,
                    &change.record,
                    values,
                    present,
                    site,
                )
                .await
                {
                    return clash.sentence;
                }
            }
            if number == Some(code::SUBQUERY_NO_1_ROW) {
                return "clashes with a different row in db_b on a unique key".to_string();
            }
        }
        error::describe(err)
    }

    /// Whether db_b refused `change` on a unique key only because the row holding the value
    /// there is at a later point of the queue than the change (its ledger position is
    /// higher: the initial load copied it as it was after this change). Its record must
    /// have given the value up after this change, with a later change still to apply: this
    /// image is superseded, not rejected.
    pub(super) async fn overtaken(
        &self,
        central: &mut MySqlConnection,
        change: &Change,
        err: &sqlx::Error,
    ) -> bool {
        if !matches!(
            error::number(err),
            Some(code::SUBQUERY_NO_1_ROW | code::DUP_ENTRY)
        ) {
            return false;
        }
        let Action::Upsert { values, present } = &change.action else {
            return false;
        };
        let site = (!self.site.is_empty()).then_some(self.site.as_str());
        let Ok(Some(clash)) =
            replica::find_clash(central, &change.spec, &change.record, values, present, site).await
        else {
            return false;
        };
        let position =
            ledger::ledger_entry(central, &self.site, &change.spec.name, &clash.holder).await;
        matches!(position, Ok(Some(position)) if position > change.queue_id)
    }

    /// When db_b refused `change` for a parent row it lacks while db_a no longer holds the
    /// change's row at all (it went since, with its parent: a cascade fires no trigger, so
    /// no change of it is queued; and a copy of the parent's table left that parent out):
    /// the change as the delete of its row, db_a's state of the record. A later change of
    /// the record, if one is queued, follows. `None` for a row db_a still holds: its parent
    /// is missing in db_b for a reason someone must see.
    pub(super) async fn gone_with_its_parent(
        &self,
        change: &Change,
        err: &sqlx::Error,
    ) -> Option<Change> {
        if error::number(err) != Some(code::NO_REFERENCED_ROW_2) {
            return None;
        }
        let Action::Upsert { values, .. } = &change.action else {
            return None;
        };
        let columns: Vec<&str> = change
            .spec
            .image_columns()
            .map(|c| c.name.as_str())
            .collect();
        let key: Vec<Option<String>> = change
            .spec
            .key
            .iter()
            .map(|name| {
                let at = columns.iter().position(|c| c == name)?;
                values.get(at).cloned()
            })
            .collect::<Option<_>>()?;
        let mut local = self.local.acquire().await.ok()?;
        let rows = snapshot::read_keys(&mut local, &change.spec, &[&key], None, usize::MAX)
            .await
            .ok()?;
        rows.is_empty().then(|| Change {
            action: Action::Delete { key },
            ..change.clone()
        })
    }

    /// Whether a later change of `change`'s record is queued: db_b refusing this one for a
    /// parent it lacks is then no fault to park (db_a moved the row on; a copy of the
    /// parent's table may have left the old parent out), and the later change follows.
    pub(super) async fn moved_on(&self, change: &Change, err: &sqlx::Error) -> bool {
        if error::number(err) != Some(code::NO_REFERENCED_ROW_2) {
            return false;
        }
        let record = match change.spec.has_integer_key() {
            true => match change.record.parse() {
                Ok(id) => queue::RecordRef::Id(id),
                Err(_) => return false,
            },
            false => queue::RecordRef::Key(&change.record),
        };
        let Ok(mut local) = self.local.acquire().await else {
            return false;
        };
        let later =
            queue::later_pending_change(&mut local, &change.spec.name, record, change.queue_id);
        matches!(later.await, Ok(true))
    }
}
