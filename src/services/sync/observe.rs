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
use crate::db::{identity, ledger, nodes, replica, sites};
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
            // A second db_a configured with this site's SITE_ID is refused its runs; its
            // line would stand in for the site's real one.
            let mut local = self.local.acquire().await.map_err(|e| e.to_string())?;
            let token = identity::token(&mut local)
                .await
                .map_err(|e| e.to_string())?;
            drop(local);
            let owner = identity::owner(&mut central, &self.site)
                .await
                .map_err(|e| e.to_string())?;
            if owner.is_some_and(|owner| owner != token) {
                return Err(identity::refusal(&self.site));
            }
            let (counts, oldest) = super::status::queue_depth(&self.local)
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
                failed_changes: counts.failed,
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

    pub(super) fn count_applied(&self, changes: &[Change]) {
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
}
