//! Setting up the initial load for the next run: `dbsync resync`, and `dbsync rebase` after
//! the queue went backwards.

use std::sync::Arc;

use sqlx::Connection;

use super::checks::{self, CheckError, Claim};
use super::report::RunError;
use super::{SyncEngine, tables};
use crate::db::load::{self as load_state, LoadState};
use crate::db::{self, Role, ledger, nodes, runs};
use crate::services::load;

/// What [`SyncEngine::prepare`] sets up for the next run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preparation {
    /// Copy every row of db_a to db_b (and remove rows only db_b has): of the tables in
    /// `only`, or of every synced table when it is empty.
    Resync { only: Vec<String> },
    /// Forget db_b's ledger and watermark of this site, then copy every row.
    Rebase,
}

/// What [`SyncEngine::prepare`] found of an earlier load.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Tables copied beside the ones asked for: linked to them by foreign keys that
    /// cascade (see [`load::linked_tables`]).
    pub linked: Vec<load::Linked>,
    /// The unfinished load of the tables to copy that the new copy replaces, if there was
    /// one (with those tables' finished copies beside it).
    pub replaced: Option<Vec<LoadState>>,
    /// Unfinished copies of other tables (with `resync --table`): the run carries them on
    /// from their last chunk, as any run does.
    pub carried_on: Vec<LoadState>,
    /// Synced tables not copied that have a foreign key to a table copied, or the other
    /// way round, as `(child, parent)`: the copy does not check those references.
    pub unchecked_references: Vec<(String, String)>,
}

impl SyncEngine {
    /// Under the run lock: makes the next run copy every row of db_a to db_b (`resync`), or
    /// first forgets what db_b knows of this site's queue (`rebase`, after the queue went
    /// backwards). The copy itself happens in the next run.
    ///
    /// A load cut short is carried on by any run; `resync` always copies every row of the
    /// tables it copies, because it is also how db_b is repaired, and a repair must not
    /// skip the rows an old load had reached.
    pub async fn prepare(self: &Arc<Self>, preparation: Preparation) -> Result<Prepared, RunError> {
        let _slot = self
            .slot
            .clone()
            .try_lock_owned()
            .map_err(|_| RunError::AlreadyRunning)?;
        let mut conn = db::connect_one(Role::Local, &self.local_target).await?;
        if !runs::try_lock(&mut conn).await? {
            return Err(RunError::AlreadyRunning);
        }
        let tables = match tables::load_checked(&mut conn, &self.settings.tables).await {
            Ok(tables) => tables,
            Err(
                problem
                @ (tables::SchemaProblem::Changed(_) | tables::SchemaProblem::Uncaptured(_)),
            ) => {
                return Err(RunError::Refused(problem.to_string()));
            }
            Err(tables::SchemaProblem::Database(err)) => return Err(err.into()),
        };
        // A db_b that does not match this site is refused before anything is set up; an
        // unreachable one only for a rebase (a resync waits for db_b like any run).
        // A db_b that does not answer holds a connect until it times out: a stop goes first.
        let central = tokio::select! {
            central = nodes::connect_ready(&self.central_target, &self.central_nodes) => central,
            () = self.shutdown.cancelled() => return Err(RunError::Stopped),
        };
        let mut central = match (central, &preparation) {
            (Ok((central, _)), _) => Some(central),
            (Err(err), Preparation::Rebase) => return Err(err.into()),
            (Err(_), Preparation::Resync { .. }) => None,
        };
        if let Some(central) = central.as_mut() {
            let checked = async {
                match checks::central_refusal(&mut conn, central, &tables, &self.site, Claim::Take)
                    .await
                {
                    Ok(None) => {}
                    Ok(Some(refusal)) => {
                        return Err(RunError::Refused(refusal.reason().to_string()));
                    }
                    Err(CheckError::Local(err)) => return Err(err.into()),
                    Err(CheckError::Central(err)) => return Err(RunError::Central(err)),
                }
                if preparation == Preparation::Rebase {
                    ledger::forget_site_queue(central, &self.site)
                        .await
                        .map_err(RunError::Central)?;
                }
                Ok(())
            };
            // A db_b gone silent after the connect would hold the set-up for as long.
            tokio::time::timeout(self.settings.stall_timeout, checked)
                .await
                .unwrap_or_else(|_| Err(RunError::Central(db::error::no_answer_in_time())))?;
        }
        if let Some(central) = central {
            let _ = central.close().await;
        }
        let asked = match &preparation {
            Preparation::Resync { only } => only.as_slice(),
            Preparation::Rebase => &[],
        };
        let linked = load::linked_tables(&tables.specs(), asked);
        let only: Vec<String> = asked
            .iter()
            .cloned()
            .chain(linked.iter().map(|l| l.table.clone()))
            .collect();
        let copied = |table: &str| load::copies(&only, table);
        // A copy of some tables replaces only their own unfinished copies.
        let (earlier, others): (Vec<LoadState>, Vec<LoadState>) = load_state::states(&mut conn)
            .await?
            .into_iter()
            .partition(|s| copied(&s.table_name));
        let replaced = earlier
            .iter()
            .any(|s| s.finished_at.is_none())
            .then_some(earlier);
        let carried_on = others
            .into_iter()
            .filter(|s| s.finished_at.is_none())
            .collect();
        // Foreign keys among synced tables only: db_b holds no others.
        let mut unchecked_references: Vec<(String, String)> = tables
            .iter()
            .flat_map(|child| {
                child
                    .foreign_keys
                    .iter()
                    .map(move |fk| (child.name.clone(), fk.parent_table.clone()))
            })
            .filter(|(child, parent)| {
                tables.find(parent).is_some() && copied(child) != copied(parent)
            })
            .collect();
        unchecked_references.sort();
        unchecked_references.dedup();
        load::start(&mut conn, &self.local, &tables, &only).await?;
        let _ = runs::unlock(&mut conn).await;
        let _ = conn.close().await;
        Ok(Prepared {
            linked,
            replaced,
            carried_on,
            unchecked_references,
        })
    }
}
