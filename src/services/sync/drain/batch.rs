//! One batch against db_b: applied in one transaction, split on failure as the error policy
//! says until each fault is one change, which is then held back, rejected or ends the run.

use std::collections::{HashSet, VecDeque};

use sqlx::mysql::MySqlConnection;

use super::Drain;
use super::holds::{self, Holds};
use crate::db::error::{self, Kind};
use crate::db::{ledger, replica};
use crate::services::sync::apply::apply_changes;
use crate::services::sync::change::{Change, RecordKey};
use crate::services::sync::policy::{self, BatchAction, ChangeAction};
use crate::services::sync::report::central_failed;
use crate::services::sync::superseded::CheckFailure;

/// What applying one batch did.
#[derive(Default)]
pub(super) struct BatchResult {
    /// Queue ids committed to db_b, to be marked SYNCED.
    pub(super) done: Vec<i64>,
    /// Those of `done` db_b holds nothing of: superseded by a later change still to come.
    pub(super) passed_over: Vec<i64>,
    /// Changes db_b refused, with the reason; blamed only once late commits are ruled out.
    pub(super) rejected: Vec<(Change, String)>,
    /// Changes held back without blame (their row, or one they rely on, is busy in db_b, or
    /// a check of db_b's refusal could not be made).
    pub(super) held: Holds,
    /// Why db_b stopped the run, if it did.
    pub(super) interruption: Option<String>,
}

/// What the checks of a refused change came to.
enum Found {
    /// The change is dealt with (done or held back); the batch goes on.
    Settled,
    /// db_b failed: the run is interrupted.
    Stop,
    /// No reason not to blame it.
    Nothing,
}

impl Drain<'_> {
    /// Applies `changes` to db_b, splitting failed pieces as the error policy says until
    /// each fault is one change. Rejections are returned, not recorded (see the module doc).
    pub(super) async fn apply_batch(
        &self,
        central: &mut MySqlConnection,
        changes: Vec<Change>,
    ) -> BatchResult {
        let mut probing = false;
        let mut result = self.apply_pieces(central, changes, &mut probing).await;
        if probing
            && let Err(err) = replica::wait_for_locks(central, true).await
            && result.interruption.is_none()
        {
            result.interruption = Some(central_failed(&err));
        }
        result
    }

    /// `only`, superseded without a write to db_b, is done all the same: db_b's watermark is
    /// raised past it, as an applied change's is — else, were it the newest change marked
    /// SYNCED, the next run would find db_b's mark below it and take db_b for restored from
    /// an older backup. `Stop` when db_b failed (the run is interrupted).
    async fn superseded(
        &self,
        central: &mut MySqlConnection,
        only: &Change,
        result: &mut BatchResult,
    ) -> Found {
        let newest = Some((only.queue_id, only.fingerprint));
        match ledger::raise_watermark(central, &self.engine.site, only.queue_id, newest).await {
            Ok(()) => {
                self.engine.count_applied(std::slice::from_ref(only));
                result.done.push(only.queue_id);
                Found::Settled
            }
            Err(err) => {
                result.interruption = Some(central_failed(&err));
                Found::Stop
            }
        }
    }

    /// Whether db_b refused `only` through no fault of its own (see `sync::superseded`): it
    /// is then done — superseded, or applied as db_a holds the row now — and `Settled`.
    async fn no_fault(
        &self,
        central: &mut MySqlConnection,
        only: &Change,
        err: &sqlx::Error,
        result: &mut BatchResult,
    ) -> Result<Found, CheckFailure> {
        let (queue_id, table, record) = (only.queue_id, &only.spec.name, &only.record);
        if self.engine.overtaken(central, only, err).await? {
            tracing::info!(queue_id, %table, %record, "change superseded: the db_b row holding its unique value is already past it (a later change or the initial load put it there); the record's later change follows");
            return Ok(self.superseded(central, only, result).await);
        }
        if let Some(now) = self.engine.as_db_a_holds_it(only, err).await? {
            match apply_changes(central, &[&now], &self.engine.site, self.packet).await {
                Ok(done) => {
                    tracing::info!(queue_id, %table, %record, "change superseded: db_b lacks its parent row, and db_a changed or removed the row since (a cascade queues nothing); db_a's row as it is now applied instead");
                    self.engine.count_applied(std::slice::from_ref(only));
                    result.done.extend(done);
                    return Ok(Found::Settled);
                }
                // db_a's row as it is still lacks its parent in db_b.
                Err(again) if error::classify(&again) == Kind::Data => {}
                Err(again) => return Err(CheckFailure::Central(again)),
            }
        }
        if self.engine.moved_on(only, err).await? {
            tracing::info!(queue_id, %table, %record, "change superseded: db_b lacks its parent row, and a later change of the record is queued");
            let found = self.superseded(central, only, result).await;
            if matches!(found, Found::Settled) {
                result.passed_over.push(queue_id);
            }
            return Ok(found);
        }
        Ok(Found::Nothing)
    }

    /// What becomes of `only` when a check of db_b's refusal could not be made: db_b lost
    /// (or a table gone) ends the run, a lock in db_b or a db_a error holds the change back
    /// for this run — nobody blamed for a connection's trouble — and any other error leaves
    /// the refusal to be blamed as it is.
    fn unchecked(&self, only: &Change, failure: CheckFailure, result: &mut BatchResult) -> Found {
        let (queue_id, table, record) = (only.queue_id, &only.spec.name, &only.record);
        let (err, central) = match &failure {
            CheckFailure::Central(err) => (err, true),
            CheckFailure::Local(err) => (err, false),
        };
        match (central, error::classify(err)) {
            (true, Kind::Connection | Kind::Schema) => {
                result.interruption = Some(central_failed(err));
                return Found::Stop;
            }
            (false, _) | (_, Kind::Conflict | Kind::LockWait) => {}
            _ => {
                tracing::warn!(queue_id, %table, %record, error = %error::describe(err), "could not tell whether a later change supersedes a change db_b refused; it is rejected as refused");
                return Found::Nothing;
            }
        }
        let on = if central { "db_b" } else { "db_a" };
        tracing::warn!(queue_id, %table, %record, error = %error::describe(err), "change held back: {on} failed while checking why db_b refused it");
        result.held.add(only.clone(), self.tables);
        Found::Settled
    }

    /// [`Drain::apply_batch`]'s work. Once a piece waited out a row lock, the pieces it is
    /// split into do not wait for locks at all (`probing`): the lock is known to be held
    /// longer than a wait, and each wait at each level of the split cost a second per
    /// locked row (a batch of rows left locked by an abandoned session took over an hour).
    async fn apply_pieces(
        &self,
        central: &mut MySqlConnection,
        changes: Vec<Change>,
        probing: &mut bool,
    ) -> BatchResult {
        let mut result = BatchResult::default();
        let mut blocked: HashSet<RecordKey> = HashSet::new();
        let changes = self
            .set_apart_too_big(central, changes, &mut result, &mut blocked)
            .await;
        let mut pieces: VecDeque<(Vec<Change>, u32)> = VecDeque::from([(changes, 0)]);
        while let Some((piece, retries)) = pieces.pop_front() {
            let mut ready: Vec<Change> = Vec::with_capacity(piece.len());
            for change in piece {
                let key = change.key();
                if blocked.contains(&key) || self.waiting.contains(&key) {
                    if self.holds.holds_record(&key) || result.held.holds_record(&key) {
                        result.held.add(change, self.tables);
                    }
                    continue;
                }
                if holds::any_must_wait([&self.holds, &result.held], &change) {
                    tracing::warn!(queue_id = change.queue_id, table = %change.spec.name, record = %change.record, "change held back: applied now, it would overtake a change held back in this run");
                    blocked.insert(change.key());
                    result.held.add(change, self.tables);
                    continue;
                }
                ready.push(change);
            }
            if ready.is_empty() {
                continue;
            }
            let refs: Vec<&Change> = ready.iter().collect();
            // A db_b that stops answering is the run's watchdog's to cut off.
            let attempt = apply_changes(central, &refs, &self.engine.site, self.packet).await;
            self.watchdog.tick();
            let err = match attempt {
                Ok(done) => {
                    self.engine.count_applied(&ready);
                    result.done.extend(done);
                    continue;
                }
                Err(err) => err,
            };
            let kind = error::classify(&err);
            if let [only] = ready.as_slice() {
                let Some(action) = policy::on_change_error(kind, retries) else {
                    tokio::time::sleep(policy::retry_pause(retries + 1)).await;
                    pieces.push_front((ready, retries + 1));
                    continue;
                };
                let explained = |holds: &Holds| holds.explain(only, &err, self.tables);
                if action == ChangeAction::Reject
                    && (explained(&self.holds) || explained(&result.held))
                {
                    tracing::warn!(queue_id = only.queue_id, table = %only.spec.name, record = %only.record, error = %error::describe(&err), "change held back: it depends on a change held back in this run");
                    result.held.add(only.clone(), self.tables);
                    blocked.insert(only.key());
                    continue;
                }
                if action == ChangeAction::Reject {
                    let found = self.no_fault(central, only, &err, &mut result).await;
                    match found.unwrap_or_else(|failure| self.unchecked(only, failure, &mut result))
                    {
                        Found::Stop => return result,
                        Found::Settled => continue,
                        Found::Nothing => {}
                    }
                }
                if !self.settle(central, only, &err, action, &mut result).await {
                    return result;
                }
                blocked.insert(only.key());
                continue;
            }
            match policy::on_batch_error(kind, retries) {
                BatchAction::Interrupt => {
                    result.interruption = Some(central_failed(&err));
                    return result;
                }
                BatchAction::RetryInPlace => {
                    tokio::time::sleep(policy::retry_pause(retries + 1)).await;
                    pieces.push_front((ready, retries + 1));
                }
                BatchAction::Halve | BatchAction::Split => {
                    if kind == Kind::LockWait && !*probing {
                        if let Err(err) = replica::wait_for_locks(central, false).await {
                            result.interruption = Some(central_failed(&err));
                            return result;
                        }
                        *probing = true;
                    }
                    let mut first = ready;
                    let second = first.split_off(first.len() / 2);
                    pieces.push_front((second, 0));
                    pieces.push_front((first, 0));
                }
            }
        }
        result
    }

    /// `changes` without those no statement db_b takes can carry: sent, such a row would make
    /// db_b drop the connection and stop every run at this batch. One db_b's ledger shows
    /// superseded (the load copied its record later) is done; the others are rejected
    /// (retried, then FAILED, until db_b's limit is raised) and their record's later changes
    /// wait.
    async fn set_apart_too_big(
        &self,
        central: &mut MySqlConnection,
        changes: Vec<Change>,
        result: &mut BatchResult,
        blocked: &mut HashSet<RecordKey>,
    ) -> Vec<Change> {
        let mut fitting = Vec::with_capacity(changes.len());
        for change in changes {
            if blocked.contains(&change.key()) {
                continue;
            }
            let Some(reason) = change.too_big(self.packet) else {
                fitting.push(change);
                continue;
            };
            let (site, table) = (self.engine.site.as_str(), change.spec.name.as_str());
            match ledger::ledger_entry(central, site, table, &change.record).await {
                Ok(Some(applied)) if applied >= change.queue_id => {
                    self.engine.count_applied(std::slice::from_ref(&change));
                    result.done.push(change.queue_id);
                }
                Ok(_) => {
                    blocked.insert(change.key());
                    result.rejected.push((change, reason));
                }
                Err(err) => {
                    result.interruption = Some(central_failed(&err));
                    return Vec::new();
                }
            }
        }
        fitting
    }

    /// What becomes of one change db_b refused, as the policy says: held back, rejected
    /// (decided after the batch), or the run interrupted (`false`).
    async fn settle(
        &self,
        central: &mut MySqlConnection,
        change: &Change,
        err: &sqlx::Error,
        action: ChangeAction,
        result: &mut BatchResult,
    ) -> bool {
        match action {
            ChangeAction::Interrupt => {
                result.interruption = Some(central_failed(err));
                return false;
            }
            ChangeAction::HoldBack => {
                tracing::warn!(queue_id = change.queue_id, table = %change.spec.name, record = %change.record, error = %error::describe(err), "change held back: its row is busy in db_b");
                result.held.add(change.clone(), self.tables);
            }
            ChangeAction::Reject => {
                let reason = self.engine.rejection_reason(central, change, err).await;
                result.rejected.push((change.clone(), reason));
            }
            ChangeAction::RejectIfDbBHealthy => {
                if replica::ping(central).await.is_err() {
                    result.interruption = Some(central_failed(err));
                    return false;
                }
                result.rejected.push((change.clone(), error::describe(err)));
            }
        }
        true
    }
}
