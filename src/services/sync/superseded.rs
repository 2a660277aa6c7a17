//! Why a change db_b refused is no fault to blame: another change supersedes it. Each
//! check runs only on the rejection path, for one change. A check that could not be made
//! says which database failed it: a connection lost on the way is never the change's fault.

use sqlx::mysql::MySqlConnection;

use super::SyncEngine;
use super::change::{Action, Change};
use crate::db::error::{self, code};
use crate::db::snapshot::RowBody;
use crate::db::{ledger, queue, replica, snapshot};

/// A check that could not be made, by the database that failed it.
pub(super) enum CheckFailure {
    Central(sqlx::Error),
    Local(sqlx::Error),
}

impl SyncEngine {
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
    ) -> Result<bool, CheckFailure> {
        if !matches!(
            error::number(err),
            Some(code::SUBQUERY_NO_1_ROW | code::DUP_ENTRY)
        ) {
            return Ok(false);
        }
        let Action::Upsert { values, present } = &change.action else {
            return Ok(false);
        };
        let site = (!self.site.is_empty()).then_some(self.site.as_str());
        let clash =
            replica::find_clash(central, &change.spec, &change.record, values, present, site)
                .await
                .map_err(CheckFailure::Central)?;
        let Some(clash) = clash else {
            return Ok(false);
        };
        let position = ledger::ledger_entry(central, &self.site, &change.spec.name, &clash.holder)
            .await
            .map_err(CheckFailure::Central)?;
        Ok(position.is_some_and(|position| position > change.queue_id))
    }

    /// When db_b refused `change` for a parent row it lacks: the change as db_a's state of
    /// the record now — the delete of its row where db_a no longer holds it, else db_a's row
    /// as it is. db_a may have changed the row since without queuing anything (a cascade
    /// removed it or set its reference NULL) while a copy of the parent's table left that
    /// parent out, or a writer without foreign key checks removed the parent first. A later
    /// change of the record, if one is queued, follows. A row db_a holds as it was still
    /// lacks its parent in db_b: applying it fails again, and the change is rejected.
    pub(super) async fn as_db_a_holds_it(
        &self,
        change: &Change,
        err: &sqlx::Error,
    ) -> Result<Option<Change>, CheckFailure> {
        if error::number(err) != Some(code::NO_REFERENCED_ROW_2) || change.is_delete() {
            return Ok(None);
        }
        let key = change.key_values();
        let mut local = self.local.acquire().await.map_err(CheckFailure::Local)?;
        let rows = snapshot::read_keys(&mut local, &change.spec, &[&key], None, usize::MAX)
            .await
            .map_err(CheckFailure::Local)?;
        let action = match rows.into_iter().next().map(|row| row.body) {
            None => Action::Delete { key },
            Some(RowBody::Values(values)) => Action::Upsert {
                present: vec![true; values.len()],
                values,
            },
            Some(_) => return Ok(None),
        };
        Ok(Some(Change {
            action,
            ..change.clone()
        }))
    }

    /// Whether a later change of `change`'s record is queued: db_b refusing this one for a
    /// parent it lacks is then no fault to park (db_a moved the row on; a copy of the
    /// parent's table may have left the old parent out), and the later change follows.
    pub(super) async fn moved_on(
        &self,
        change: &Change,
        err: &sqlx::Error,
    ) -> Result<bool, CheckFailure> {
        if error::number(err) != Some(code::NO_REFERENCED_ROW_2) {
            return Ok(false);
        }
        let record = match change.spec.has_integer_key() {
            true => match change.record.parse() {
                Ok(id) => queue::RecordRef::Id(id),
                Err(_) => return Ok(false),
            },
            false => queue::RecordRef::Key(&change.record),
        };
        let mut local = self.local.acquire().await.map_err(CheckFailure::Local)?;
        queue::later_pending_change(&mut local, &change.spec.name, record, change.queue_id)
            .await
            .map_err(CheckFailure::Local)
    }
}
