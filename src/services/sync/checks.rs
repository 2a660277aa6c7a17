//! The checks before a run applies anything: db_b's tables match this site, the site is
//! this db_a's, the queue did not go back, db_b did not go back (a lost load is started
//! again instead), and whether an initial load is due first.

use sqlx::mysql::MySqlConnection;

use super::SyncEngine;
use super::report::Tally;
use super::{rewind, tables};
use crate::db::error;
use crate::db::schema::drift;
use crate::db::{self, ledger};
use crate::domain::Outcome;
use crate::domain::table::TableSpec;
use crate::services::load;

impl SyncEngine {
    /// The checks that refuse a run before anything is applied: `Err` with the outcome
    /// and why; `Ok(true)` when an initial load is due first — including the tables whose
    /// copy db_b lost, queued again here (with a note in `tally`).
    pub(super) async fn refusal(
        &self,
        conn: &mut MySqlConnection,
        central: &mut MySqlConnection,
        tables: &tables::Tables,
        tally: &mut Tally,
    ) -> Result<Result<bool, (Outcome, Option<String>)>, sqlx::Error> {
        let interrupted = |err: sqlx::Error| {
            Err((
                Outcome::Interrupted,
                Some(format!("db_b: {}", error::describe(&err))),
            ))
        };
        let specs: Vec<&TableSpec> = tables.iter().map(|spec| spec.as_ref()).collect();
        match drift::central_mismatch(central, &specs, !self.site.is_empty()).await {
            Ok(None) => {}
            Ok(Some(reason)) => {
                tracing::error!(%reason, "sync run refused: db_b's tables do not match");
                let reason = format!("{reason}; nothing was applied");
                return Ok(Err((Outcome::SchemaChanged, Some(reason))));
            }
            Err(err) => return Ok(interrupted(err)),
        }
        let token = db::identity::token(conn).await?;
        match db::identity::claim(central, &self.site, &token).await {
            Ok(None) => {}
            Ok(Some(_)) => {
                let reason = db::identity::refusal(&self.site);
                tracing::error!(%reason, "sync run refused: the site belongs to another db_a");
                return Ok(Err((Outcome::SchemaChanged, Some(reason))));
            }
            Err(err) => return Ok(interrupted(err)),
        }
        let mark = match ledger::read_watermark(central, &self.site).await {
            Ok(mark) => mark,
            Err(err) => return Ok(interrupted(err)),
        };
        if let Some(reason) = rewind::check(conn, mark).await? {
            let advice = rewind::advice(&reason);
            tracing::error!(reason = %advice, "sync run refused: the queue went backwards");
            return Ok(Err((Outcome::Rewound, Some(advice))));
        }
        let marks = match db::load::central_marks(central, &self.site).await {
            Ok(marks) => marks,
            Err(err) => return Ok(interrupted(err)),
        };
        let lost = load::restart_lost_copies(conn, &marks, tables).await?;
        if !lost.is_empty() {
            let note = format!(
                "db_b no longer holds what the initial load copied of {} (restored from an \
                 older backup, or recreated): copying every table again",
                lost.join(", ")
            );
            tracing::warn!(%note, "initial load restarted");
            tally.note = Some(note);
        }
        let loading = load::unfinished(conn).await?;
        if !loading && let Some(reason) = rewind::central_behind(conn, mark).await? {
            let advice = rewind::central_advice(&reason);
            tracing::error!(reason = %advice, "sync run refused: db_b lost changes it had applied");
            return Ok(Err((Outcome::Rewound, Some(advice))));
        }
        Ok(Ok(loading))
    }
}
