//! What the load does when db_b refuses a chunk's transaction: the drain's policy for a
//! batch, in the load's terms.

use crate::db::error;
use crate::services::sync::policy::{self, BatchAction};
use crate::services::sync::report::central_failed;

/// db_b refused a chunk's transaction.
pub(super) struct Refused {
    pub err: sqlx::Error,
    /// Rows only db_b has that the transaction was removing.
    pub removing: usize,
}

impl From<sqlx::Error> for Refused {
    fn from(err: sqlx::Error) -> Self {
        Refused { err, removing: 0 }
    }
}

/// What a table's load does after db_b refused a chunk's transaction.
pub(super) enum Retry {
    /// The same chunk again, after a pause (a Galera certification conflict).
    Same,
    /// The chunk again with at most this many rows (a writeset over Galera's limit), and
    /// every later chunk as small.
    Smaller(u32),
    /// The chunk (of one row, or none) again, removing at most this many rows only db_b has
    /// in one transaction (for good).
    FewerRemovals(u32),
}

/// What to do about `err` from writing a chunk of `rows` rows that was `removing` rows only
/// db_b has, after `retries` retries in place, as the drain's policy says for a batch; `Err`
/// is why the load stops here.
pub(super) fn after_refusal(
    err: &sqlx::Error,
    retries: u32,
    rows: usize,
    removing: usize,
) -> Result<Retry, String> {
    let reason = central_failed(err);
    let half = |n: usize| u32::try_from(n / 2).unwrap_or(u32::MAX).max(1);
    match policy::on_batch_error(error::classify(err), retries) {
        BatchAction::RetryInPlace => Ok(Retry::Same),
        BatchAction::Halve if rows > 1 => Ok(Retry::Smaller(half(rows))),
        BatchAction::Halve if removing > 1 => Ok(Retry::FewerRemovals(half(removing))),
        BatchAction::Halve => Err(format!(
            "{reason} (for a single row: raise the limit on db_b)"
        )),
        BatchAction::Interrupt | BatchAction::Split => Err(reason),
    }
}
