//! FAILED changes a later change of their record overtakes. A row image is the whole row:
//! once a later change of a record is in db_b, an earlier FAILED insert or update has
//! nothing left to carry (requeued, the ledger would skip it), so it is closed rather than
//! left asking an operator for a fix no longer needed. (A delete's cascade in db_b is more
//! than its row: a FAILED delete stays.)

use std::collections::HashMap;

use sqlx::mysql::MySqlConnection;

use super::super::change::{RecordKey, record_key_of};
use super::super::tables::Tables;
use crate::db::queue;

#[derive(Default)]
pub(super) struct Overtaken {
    /// FAILED changes by record.
    failed: HashMap<RecordKey, Vec<i64>>,
    /// This run's changes of records in `failed`, by queue id.
    watched: HashMap<i64, RecordKey>,
}

impl Overtaken {
    /// The FAILED changes of db_a's queue (a bounded number of the oldest).
    pub(super) async fn load(
        conn: &mut MySqlConnection,
        tables: &Tables,
    ) -> Result<Self, sqlx::Error> {
        let mut overtaken = Overtaken::default();
        for row in queue::failed_records(conn).await? {
            if let Some(key) = record_key_of(&row, tables) {
                overtaken.failed(key, row.id);
            }
        }
        Ok(overtaken)
    }

    /// Change `id` of record `key` (an insert or update) was parked as FAILED.
    pub(super) fn failed(&mut self, key: RecordKey, id: i64) {
        self.failed.entry(key).or_default().push(id);
    }

    /// Change `id` of record `key` goes to db_b: watched when its record has FAILED changes.
    pub(super) fn watch(&mut self, key: &RecordKey, id: i64) {
        // Most runs have no FAILED change at all: nothing is hashed for them.
        if !self.failed.is_empty() && self.failed.contains_key(key) {
            self.watched.insert(id, key.clone());
        }
    }

    /// Changes `ids` were marked done without reaching db_b (a later change of their record
    /// carries them): they overtake nothing.
    pub(super) fn unwatch(&mut self, ids: &[i64]) {
        for id in ids {
            self.watched.remove(id);
        }
    }

    /// The FAILED changes that the changes `done` (now in db_b) overtake: those of the
    /// same record with a lower id. They are forgotten here; the caller closes them.
    pub(super) fn overtaken_by(&mut self, done: &[i64]) -> Vec<i64> {
        if self.watched.is_empty() {
            return Vec::new();
        }
        let mut closed = Vec::new();
        for id in done {
            let Some(key) = self.watched.remove(id) else {
                continue;
            };
            if let Some(failed) = self.failed.get_mut(&key) {
                failed.retain(|f| {
                    let before = f < id;
                    if before {
                        closed.push(*f);
                    }
                    !before
                });
                if failed.is_empty() {
                    self.failed.remove(&key);
                }
            }
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_earlier_failed_changes_of_the_same_record_are_overtaken() {
        let mut overtaken = Overtaken::default();
        let (a, b) = ((0, "1".to_string()), (0, "2".to_string()));
        overtaken.failed(a.clone(), 5);
        overtaken.failed(a.clone(), 9);
        overtaken.failed(b.clone(), 6);
        overtaken.watch(&a, 7);
        overtaken.watch(&(1, "1".to_string()), 8);
        assert_eq!(overtaken.overtaken_by(&[8, 7]), vec![5]);
        // Already closed: a later change of the record closes only what is left.
        overtaken.watch(&a, 12);
        assert_eq!(overtaken.overtaken_by(&[12]), vec![9]);
        assert!(overtaken.overtaken_by(&[12]).is_empty());
        assert_eq!(overtaken.failed.len(), 1);
    }
}
