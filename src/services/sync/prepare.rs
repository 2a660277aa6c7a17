//! Setting up the initial load for the next run: `dbsync resync`, and `dbsync rebase` after
//! the queue went backwards.

use std::sync::Arc;

use sqlx::Connection;

use super::report::RunError;
use super::{SyncEngine, tables};
use crate::db::{self, Role, ledger, nodes, runs};
use crate::services::load;

/// What [`SyncEngine::prepare`] sets up for the next run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preparation {
    /// Copy every row of db_a to db_b (and remove rows only db_b has).
    Resync,
    /// Forget db_b's ledger and watermark of this site, then copy every row.
    Rebase,
}

impl SyncEngine {
    /// Under the run lock: makes the next run copy every row of db_a to db_b (`resync`), or
    /// first forgets what db_b knows of this site's queue (`rebase`, after the queue went
    /// backwards). The copy itself happens in the next run.
    pub async fn prepare(self: &Arc<Self>, preparation: Preparation) -> Result<(), RunError> {
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
            Err(tables::SchemaProblem::Changed(reason)) => return Err(RunError::Refused(reason)),
            Err(tables::SchemaProblem::Database(err)) => return Err(err.into()),
        };
        if preparation == Preparation::Rebase {
            let (mut central, _) =
                nodes::connect_ready(&self.central_target, &self.central_nodes).await?;
            ledger::forget_site_queue(&mut central, &self.site)
                .await
                .map_err(RunError::Central)?;
            let _ = central.close().await;
        }
        load::start(&mut conn, &self.local, &tables).await?;
        let _ = runs::unlock(&mut conn).await;
        let _ = conn.close().await;
        Ok(())
    }
}
