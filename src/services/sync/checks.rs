//! The checks before a run applies anything: db_b's tables match this site, the site is
//! this db_a's, the queue did not go back, db_b did not go back (a lost load is started
//! again instead), and whether an initial load is due first. The first two are
//! [`central_refusal`], which `resync`, `rebase` and `verify` make too.

use sqlx::mysql::MySqlConnection;

use super::SyncEngine;
use super::report::{Tally, central_failed};
use super::{rewind, tables};
use crate::db::schema::drift;
use crate::db::{self, ledger};
use crate::domain::Outcome;
use crate::services::load;

/// Why db_b cannot take this site's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CentralRefusal {
    /// db_b's copies of the synced tables do not match db_a's (a column missing, narrowed…).
    Tables(String),
    /// The site belongs to another db_a.
    Owner(String),
}

impl std::fmt::Display for CentralRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CentralRefusal::Tables(reason) => write!(f, "{reason}; nothing was applied"),
            CentralRefusal::Owner(reason) => f.write_str(reason),
        }
    }
}

impl CentralRefusal {
    /// The reason alone, for a command that was only going to look.
    pub fn reason(&self) -> &str {
        match self {
            CentralRefusal::Tables(reason) | CentralRefusal::Owner(reason) => reason,
        }
    }
}

/// Which database a check could not read.
#[derive(Debug)]
pub enum CheckError {
    Local(sqlx::Error),
    Central(sqlx::Error),
}

/// Whether [`central_refusal`] records this db_a as the owner of a site nobody owns yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// A run or a load set-up: the site becomes this db_a's.
    Take,
    /// `verify`: only reads.
    Look,
}

/// The one check every command that writes to or compares with db_b makes first: db_b's
/// tables match this site's, and the site is this db_a's (or nobody's yet).
pub async fn central_refusal(
    local: &mut MySqlConnection,
    central: &mut MySqlConnection,
    tables: &tables::Tables,
    site: &str,
    claim: Claim,
) -> Result<Option<CentralRefusal>, CheckError> {
    let specs = tables.specs();
    if let Some(reason) = drift::central_mismatch(central, &specs, !site.is_empty())
        .await
        .map_err(CheckError::Central)?
    {
        return Ok(Some(CentralRefusal::Tables(reason)));
    }
    let token = db::identity::token(local)
        .await
        .map_err(CheckError::Local)?;
    let other = match claim {
        Claim::Take => db::identity::claim(central, site, &token).await,
        Claim::Look => db::identity::owner(central, site)
            .await
            .map(|owner| owner.filter(|owner| *owner != token)),
    }
    .map_err(CheckError::Central)?;
    Ok(other.map(|_| CentralRefusal::Owner(db::identity::refusal(site))))
}

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
        let interrupted =
            |err: sqlx::Error| Err((Outcome::Interrupted, Some(central_failed(&err))));
        match central_refusal(conn, central, tables, &self.site, Claim::Take).await {
            Ok(None) => {}
            Ok(Some(refusal)) => {
                let reason = refusal.to_string();
                tracing::error!(%reason, "sync run refused: db_b cannot take this site's changes");
                return Ok(Err((Outcome::SchemaChanged, Some(reason))));
            }
            Err(CheckError::Local(err)) => return Err(err),
            Err(CheckError::Central(err)) => return Ok(interrupted(err)),
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
