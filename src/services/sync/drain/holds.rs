//! The changes a run held back (a row locked in db_b) and the later changes that must wait
//! for them. Holding one change back reorders it behind changes of other records; a later
//! change that relies on it having happened would land in db_b first and leave db_b
//! different from db_a once the held change goes through (a re-created user's new order
//! deleted by the user's delayed cascading delete, a product's new line blocking the
//! product's delayed delete, a unique value taken before the held change takes it) — and a
//! later delete of a parent the held change refers to would leave it without one. Such a
//! change is held back too, and so are the ones relying on it in turn; so are the later
//! changes of a held record, whose values count as well.
//!
//! Holds are rare and last one run, so they are matched by value where the images allow
//! it and by table where they do not: holding back too much costs a run's delay, too
//! little a db_b that never converges.

use std::collections::{HashMap, HashSet};

use super::super::change::{Action, Change, RecordKey};
use super::super::policy::{self, Dependency};
use super::super::tables::Tables;
use crate::db::error;
use crate::domain::table::TableSpec;

mod values;

use values::{Columns, Comparison, HeldValues, columns_of, remember, unique_keys};

/// Changes held back so far (by the run before this batch, or by this batch), with the
/// values later changes are matched against.
#[derive(Default)]
pub(super) struct Holds {
    changes: Vec<Change>,
    tables: HashSet<String>,
    /// Values of held records that later changes may refer to (the columns a foreign key
    /// references) or take (a unique key's columns), normalized (see [`values::normalized`]).
    values: HashMap<Columns, HeldValues>,
    /// Tables with a held record whose referenced values are not known (a delete, when a
    /// foreign key references other columns than its key): any reference to them waits.
    unknown: HashSet<String>,
    /// Values held changes refer to by a foreign key, by the parent table and columns: a
    /// later delete of such a parent must wait (else the held change finds no parent, or
    /// the delete's cascade misses the row the held change moves under it).
    referred: HashMap<Columns, HeldValues>,
    /// The records held.
    records: HashSet<RecordKey>,
}

impl Holds {
    pub(super) fn add(&mut self, change: Change, tables: &Tables) {
        let spec = &change.spec;
        let referenced = tables
            .iter()
            .flat_map(|t| t.foreign_keys.iter())
            .filter(|fk| fk.parent_table == spec.name)
            .map(|fk| &fk.parent_columns);
        for columns in referenced {
            match held_values(&change, columns) {
                Some(values) => {
                    let comparison = Comparison::of(spec, columns);
                    remember(&mut self.values, &spec.name, columns, &values, comparison);
                }
                None => {
                    self.unknown.insert(spec.name.clone());
                }
            }
        }
        if let Some(image) = Image::of(&change) {
            for key in unique_keys(spec) {
                if let Some(values) = key.values_in(&image) {
                    let comparison = Comparison::of(spec, key.parts.iter().map(|(c, _)| c));
                    remember(
                        &mut self.values,
                        &spec.name,
                        &key.label,
                        &values,
                        comparison,
                    );
                }
            }
            for fk in &spec.foreign_keys {
                if let Some(values) = image.values_of(&fk.columns) {
                    let (table, columns) = (&fk.parent_table, &fk.parent_columns);
                    // Text foreign key columns share their parent's collation.
                    let comparison = Comparison::of(spec, &fk.columns);
                    remember(&mut self.referred, table, columns, &values, comparison);
                }
            }
        }
        self.records.insert(change.key());
        self.tables.insert(spec.name.clone());
        self.changes.push(change);
    }

    fn holds(&self, table: &str, columns: &[String], values: &[&str]) -> bool {
        self.values
            .get(&columns_of(table, columns))
            .is_some_and(|held| held.matches(values))
    }

    /// Whether a change of this record is held: the record's later changes are held too.
    pub(super) fn holds_record(&self, key: &RecordKey) -> bool {
        self.records.contains(key)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub(super) fn take(&mut self) -> Vec<Change> {
        let changes = std::mem::take(&mut self.changes);
        *self = Holds::default();
        changes
    }

    /// Whether `change`, which db_b may well accept, must wait for a held change: it
    /// refers (by a foreign key) to a held record, takes a unique value a held change of
    /// its table takes, deletes a row a held change refers to, or changes a table a held
    /// change refers to by other columns than its key. (A later change of a held record
    /// itself waits anyway.)
    pub(super) fn must_wait(&self, change: &Change) -> bool {
        if let Action::Delete { key } = &change.action {
            return self.is_referred(&change.spec, key);
        }
        if self.referred_by_other_columns(&change.spec) {
            return true;
        }
        let Some(image) = Image::of(change) else {
            return false;
        };
        let refers = change.spec.foreign_keys.iter().any(|fk| {
            image.values_of(&fk.columns).is_some_and(|mine| {
                self.unknown.contains(&fk.parent_table)
                    || self.holds(&fk.parent_table, &fk.parent_columns, &mine)
            })
        });
        refers
            || unique_keys(&change.spec).any(|key| match key.values_in(&image) {
                Some(mine) => self.holds(&change.spec.name, &key.label, &mine),
                // A key on a column no image carries (a virtual generated column): any held
                // change of the table may take the value.
                None => key.beyond_images() && self.tables.contains(&change.spec.name),
            })
    }

    /// Whether a held change refers to the row of `spec` with this key, or refers to rows
    /// of `spec` by other columns than its key (see [`Holds::referred_by_other_columns`]).
    fn is_referred(&self, spec: &TableSpec, key: &[Option<String>]) -> bool {
        if self.referred_by_other_columns(spec) {
            return true;
        }
        let Some(key) = key
            .iter()
            .map(|v| v.as_deref())
            .collect::<Option<Vec<&str>>>()
        else {
            return false;
        };
        self.referred
            .get(&columns_of(&spec.name, &spec.key))
            .is_some_and(|held| held.matches(&key))
    }

    /// Whether a held change refers to rows of `spec` by other columns than its key (a
    /// foreign key to a unique column). Any upsert of the table may change such a value
    /// (and db_b's `ON UPDATE CASCADE` then miss the held row), and no delete's key can be
    /// matched against it: every later change of the table waits.
    fn referred_by_other_columns(&self, spec: &TableSpec) -> bool {
        let key_columns = columns_of(&spec.name, &spec.key).1;
        self.referred.iter().any(|((table, columns), held)| {
            *table == spec.name && *columns != key_columns && !held.folded.is_empty()
        })
    }

    /// Whether db_b refused `change` for a dependency on a table with a held change: a
    /// missing parent row (a held table it references), a child row still there (a held
    /// table referencing it, directly or through other tables' cascades), a unique value
    /// still taken (a held change of its own table). See [`policy::dependency`].
    pub(super) fn explain(&self, change: &Change, err: &sqlx::Error, tables: &Tables) -> bool {
        match policy::dependency(error::number(err)) {
            Some(Dependency::Parent) => change
                .spec
                .foreign_keys
                .iter()
                .any(|fk| self.tables.contains(&fk.parent_table)),
            Some(Dependency::Child) => referencing(&change.spec.name, tables)
                .iter()
                .any(|table| self.tables.contains(table)),
            Some(Dependency::SameTable) => self.tables.contains(&change.spec.name),
            None => false,
        }
    }
}

/// Whether either of two sets of holds says `change` must wait; see [`Holds::must_wait`].
pub(super) fn any_must_wait(holds: [&Holds; 2], change: &Change) -> bool {
    holds.iter().any(|h| !h.is_empty() && h.must_wait(change))
}

/// The tables whose rows refer to `table`'s, directly or through others (a delete of its
/// row is refused for a row down any of those chains).
fn referencing(table: &str, tables: &Tables) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut next = vec![table.to_string()];
    while let Some(parent) = next.pop() {
        for child in tables.iter() {
            let refers = child
                .foreign_keys
                .iter()
                .any(|fk| fk.parent_table == parent);
            if refers && !found.contains(&child.name) {
                found.push(child.name.clone());
                next.push(child.name.clone());
            }
        }
    }
    found
}

/// An upsert's row image.
struct Image<'a> {
    spec: &'a TableSpec,
    values: &'a [Option<String>],
    present: &'a [bool],
}

impl<'a> Image<'a> {
    /// An upsert's image; `None` for a delete.
    fn of(change: &'a Change) -> Option<Self> {
        match &change.action {
            Action::Upsert { values, present } => Some(Image {
                spec: &change.spec,
                values,
                present,
            }),
            Action::Delete { .. } => None,
        }
    }

    /// The image's value of column `name`: `None` when the image lacks the column,
    /// `Some(None)` for NULL.
    fn value(&self, name: &str) -> Option<Option<&'a str>> {
        let at = self
            .spec
            .image_columns()
            .position(|c| c.name.eq_ignore_ascii_case(name))?;
        if !self.present.get(at).copied().unwrap_or(false) {
            return None;
        }
        Some(self.values.get(at)?.as_deref())
    }

    /// The values of `columns`, when the image has them all and none is NULL.
    fn values_of<'c>(&self, columns: impl IntoIterator<Item = &'c String>) -> Option<Vec<&'a str>> {
        columns
            .into_iter()
            .map(|c| self.value(c).flatten())
            .collect()
    }
}

/// `held`'s values of `columns`: from its image, or for a delete from its key when those
/// are the key columns.
fn held_values<'a>(held: &'a Change, columns: &[String]) -> Option<Vec<&'a str>> {
    match &held.action {
        Action::Upsert { .. } => Image::of(held)?.values_of(columns),
        Action::Delete { key } => {
            let by_key = columns.len() == held.spec.key.len()
                && columns
                    .iter()
                    .zip(&held.spec.key)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b));
            by_key
                .then(|| key.iter().map(|v| v.as_deref()).collect())
                .flatten()
        }
    }
}

#[cfg(test)]
mod tests;
