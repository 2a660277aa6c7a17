//! A run's initial-load step: the load of `services::load` driven with the run's tables,
//! site, stop and watchdog, its end turned into the run's outcome.

use sqlx::mysql::MySqlConnection;

use super::SyncEngine;
use super::report::Tally;
use super::tables;
use crate::domain::Outcome;
use crate::services::load::{LoadEnd, LoadProgress, Loader};
use crate::services::watchdog::Watchdog;

impl SyncEngine {
    /// Runs the initial load; `Some` with the outcome when it stopped short.
    pub(super) async fn load(
        &self,
        conn: &mut MySqlConnection,
        central: &mut MySqlConnection,
        tables: &tables::Tables,
        packet: usize,
        tally: &mut Tally,
        watchdog: &Watchdog,
    ) -> Result<Option<(Outcome, Option<String>)>, sqlx::Error> {
        let progress = |p: &LoadProgress| self.report_load(p);
        let loader = Loader {
            tables,
            site: &self.site,
            packet,
            shutdown: &self.shutdown,
            watchdog,
            on_progress: &progress,
        };
        match loader.run(conn, central).await? {
            LoadEnd::Finished(summary) => {
                tracing::info!(
                    checked = summary.checked,
                    copied = summary.copied,
                    removed = summary.removed,
                    refused = summary.refused,
                    "initial load finished"
                );
                tally.loaded = Some(summary);
                Ok(None)
            }
            LoadEnd::Interrupted(reason) => Ok(Some((
                Outcome::Interrupted,
                Some(format!(
                    "initial load paused: {reason}; the next run resumes it"
                )),
            ))),
        }
    }
}
