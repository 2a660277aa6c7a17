//! The one place that decides what a run does about a database error from db_b: stop the
//! run without blaming anyone, try the same batch again, make the batch smaller, or split
//! it to find the change at fault — and, once a single change is isolated, whether it is
//! rejected (its `retry_count` moves) or only held back for this run.
//!
//! | error kind (`db::error::Kind`) | whole batch | one change |
//! | --- | --- | --- |
//! | Connection (gone, shutdown, read-only, Galera non-Primary 1047) | interrupt | interrupt |
//! | Schema (missing table or column, access denied) | interrupt | interrupt |
//! | Conflict (deadlock / certification conflict 1213) | retry in place, then split | hold back |
//! | LockWait (1205: a row locked in db_b) | split (the pieces do not wait for locks) | hold back |
//! | Capacity (writeset or packet too large: 1180, 1105, 1153) | halve | reject |
//! | Data (clash, foreign key, out of range…) | split | reject; held back when it depends on a change held back (see [`dependency`]) |
//! | Other | split | reject if db_b still answers a query, else interrupt |
//!
//! Only a change db_b refuses for its data moves `retry_count`.

use std::time::Duration;

use crate::db::error::{Kind, code};

/// Retries of one batch in place after a deadlock or certification conflict.
pub const MAX_RETRIES_IN_PLACE: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAction {
    /// Stop the run; the open transaction rolled back; nobody is blamed.
    Interrupt,
    /// Apply the same changes again after a short, jittered pause.
    RetryInPlace,
    /// Apply the two halves separately, no change being suspected (the batch was too big).
    Halve,
    /// Apply the two halves separately to find the change(s) at fault.
    Split,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    /// db_b refuses this change's data: count a retry, back off, FAILED at the limit.
    Reject,
    /// Not this change's fault (its row is locked, say): leave it PENDING, untouched, and
    /// hold its record back for the rest of the run.
    HoldBack,
    /// Stop the run.
    Interrupt,
    /// Reject if db_b still answers a trivial query, else interrupt.
    RejectIfDbBHealthy,
}

/// What to do when a batch of more than one change failed with `kind`, after `retries`
/// retries in place.
pub fn on_batch_error(kind: Kind, retries: u32) -> BatchAction {
    match kind {
        Kind::Connection | Kind::Schema => BatchAction::Interrupt,
        Kind::Conflict if retries < MAX_RETRIES_IN_PLACE => BatchAction::RetryInPlace,
        Kind::Capacity => BatchAction::Halve,
        Kind::Conflict | Kind::LockWait | Kind::Data | Kind::Other => BatchAction::Split,
    }
}

/// What to do when a single change failed with `kind`, after `retries` retries in place.
pub fn on_change_error(kind: Kind, retries: u32) -> Option<ChangeAction> {
    Some(match kind {
        Kind::Connection | Kind::Schema => ChangeAction::Interrupt,
        Kind::Conflict if retries < MAX_RETRIES_IN_PLACE => return None,
        Kind::Conflict | Kind::LockWait => ChangeAction::HoldBack,
        Kind::Capacity | Kind::Data => ChangeAction::Reject,
        Kind::Other => ChangeAction::RejectIfDbBHealthy,
    })
}

/// Where the cause of a data error may lie, when it is not in the refused change itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    /// The parent row is missing (1452): a change of a table it references.
    Parent,
    /// A child row is still there (1451): a change of a table referencing it.
    Child,
    /// A unique value is still taken (1062, or the clash guard's 1242): a change of its
    /// own table that frees it.
    SameTable,
}

/// The dependency error `number` points at. A change refused so while the run holds back
/// a change where it points is held back too: the refusal is the lock's doing.
pub fn dependency(number: Option<u16>) -> Option<Dependency> {
    match number? {
        code::NO_REFERENCED_ROW_2 => Some(Dependency::Parent),
        code::ROW_IS_REFERENCED_2 => Some(Dependency::Child),
        code::DUP_ENTRY | code::SUBQUERY_NO_1_ROW => Some(Dependency::SameTable),
        _ => None,
    }
}

/// The pause before retry `attempt` (1, 2, …) in place: 20 ms doubling, with up to half of
/// it again at random so two sites that collided do not collide again in step.
pub fn retry_pause(attempt: u32) -> Duration {
    let base = 20u64.saturating_mul(1 << attempt.min(6));
    let jitter = rand::random_range(0..=base / 2);
    Duration::from_millis(base + jitter)
}

/// Longest wait between retries of a rejected change.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How long a rejected change waits before its next attempt: `first` doubled per earlier
/// failure, capped at an hour.
pub fn backoff(first: Duration, earlier_failures: i32) -> Duration {
    let factor = 2u32.saturating_pow(earlier_failures.clamp(0, 20) as u32);
    first.saturating_mul(factor).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_data_blames_a_change() {
        for kind in [
            Kind::Connection,
            Kind::Schema,
            Kind::Conflict,
            Kind::LockWait,
        ] {
            let action = on_change_error(kind, MAX_RETRIES_IN_PLACE);
            assert_ne!(action, Some(ChangeAction::Reject), "{kind:?}");
        }
        assert_eq!(on_change_error(Kind::Data, 0), Some(ChangeAction::Reject));
        assert_eq!(on_batch_error(Kind::Conflict, 0), BatchAction::RetryInPlace);
        assert_eq!(
            on_batch_error(Kind::Conflict, MAX_RETRIES_IN_PLACE),
            BatchAction::Split
        );
        assert_eq!(on_batch_error(Kind::Capacity, 0), BatchAction::Halve);
        assert_eq!(on_batch_error(Kind::Connection, 0), BatchAction::Interrupt);
    }

    #[test]
    fn dependency_errors_point_at_parent_child_or_own_table() {
        assert_eq!(dependency(Some(1452)), Some(Dependency::Parent));
        assert_eq!(dependency(Some(1451)), Some(Dependency::Child));
        assert_eq!(dependency(Some(1062)), Some(Dependency::SameTable));
        assert_eq!(dependency(Some(1242)), Some(Dependency::SameTable));
        assert_eq!(
            dependency(Some(1264)),
            None,
            "out of range is the change's own"
        );
        assert_eq!(dependency(None), None);
    }
}
