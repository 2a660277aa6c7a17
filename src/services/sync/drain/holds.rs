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

/// A table and some of its columns (lower case: column names compare without case).
type Columns = (String, Vec<String>);

/// Changes held back so far (by the run before this batch, or by this batch), with the
/// values later changes are matched against.
#[derive(Default)]
pub(super) struct Holds {
    changes: Vec<Change>,
    tables: HashSet<String>,
    /// Values of held records that later changes may refer to (the columns a foreign key
    /// references) or take (a unique key's columns), normalized (see [`normalized`]).
    values: HashMap<Columns, HashSet<Vec<String>>>,
    /// Tables with a held record whose referenced values are not known (a delete, when a
    /// foreign key references other columns than its key): any reference to them waits.
    unknown: HashSet<String>,
    /// Values held changes refer to by a foreign key, by the parent table and columns: a
    /// later delete of such a parent must wait (else the held change finds no parent, or
    /// the delete's cascade misses the row the held change moves under it).
    referred: HashMap<Columns, HashSet<Vec<String>>>,
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
                Some(values) => self.remember(spec, columns, &values),
                None => {
                    self.unknown.insert(spec.name.clone());
                }
            }
        }
        if let Action::Upsert { values, present } = &change.action {
            let image = Image {
                spec,
                values,
                present,
            };
            for index in spec.indexes.iter().filter(|i| i.unique) {
                let columns: Vec<String> = index.columns.iter().map(|(c, _)| c.clone()).collect();
                if let Some(values) = image.values_of(&columns) {
                    self.remember(spec, &columns, &values);
                }
            }
            for fk in &spec.foreign_keys {
                if let Some(values) = image.values_of(&fk.columns) {
                    self.referred
                        .entry(columns_of(&fk.parent_table, &fk.parent_columns))
                        .or_default()
                        .insert(normalized(&values));
                }
            }
        }
        self.records.insert(change.key());
        self.tables.insert(spec.name.clone());
        self.changes.push(change);
    }

    fn remember(&mut self, spec: &TableSpec, columns: &[String], values: &[&str]) {
        self.values
            .entry(columns_of(&spec.name, columns))
            .or_default()
            .insert(normalized(values));
    }

    fn holds(&self, table: &str, columns: &[String], values: &[&str]) -> bool {
        self.values
            .get(&columns_of(table, columns))
            .is_some_and(|held| held.contains(&normalized(values)))
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
        let (values, present) = match &change.action {
            Action::Upsert { values, present } => (values, present),
            Action::Delete { key } => return self.is_referred(&change.spec, key),
        };
        if self.referred_by_other_columns(&change.spec) {
            return true;
        }
        let image = Image {
            spec: &change.spec,
            values,
            present,
        };
        let refers = change.spec.foreign_keys.iter().any(|fk| {
            image.values_of(&fk.columns).is_some_and(|mine| {
                self.unknown.contains(&fk.parent_table)
                    || self.holds(&fk.parent_table, &fk.parent_columns, &mine)
            })
        });
        refers
            || change
                .spec
                .indexes
                .iter()
                .filter(|i| i.unique)
                .any(|index| {
                    let columns: Vec<String> =
                        index.columns.iter().map(|(c, _)| c.clone()).collect();
                    image
                        .values_of(&columns)
                        .is_some_and(|mine| self.holds(&change.spec.name, &columns, &mine))
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
            .is_some_and(|held| held.contains(&normalized(&key)))
    }

    /// Whether a held change refers to rows of `spec` by other columns than its key (a
    /// foreign key to a unique column). Any upsert of the table may change such a value
    /// (and db_b's `ON UPDATE CASCADE` then miss the held row), and no delete's key can be
    /// matched against it: every later change of the table waits.
    fn referred_by_other_columns(&self, spec: &TableSpec) -> bool {
        let key_columns = columns_of(&spec.name, &spec.key).1;
        self.referred.iter().any(|((table, columns), held)| {
            *table == spec.name && *columns != key_columns && !held.is_empty()
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

fn columns_of(table: &str, columns: &[String]) -> Columns {
    (
        table.to_string(),
        columns.iter().map(|c| c.to_lowercase()).collect(),
    )
}

/// Values as db_b might compare them equal: text collations may ignore case and trailing
/// spaces, so those are ignored here too (holding back one change too many is harmless).
fn normalized(values: &[&str]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim_end_matches(' ').to_lowercase())
        .collect()
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
        Action::Upsert { values, present } => Image {
            spec: &held.spec,
            values,
            present,
        }
        .values_of(columns),
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
mod tests {
    use super::*;
    use crate::domain::Operation;
    use crate::domain::table::{ColumnSpec, ForeignKeySpec, IndexSpec, ValueClass};
    use std::sync::Arc;

    fn spec(name: &str, columns: &[&str], unique: &[&str], parent: Option<&str>) -> TableSpec {
        TableSpec {
            name: name.into(),
            columns: columns
                .iter()
                .map(|c| ColumnSpec {
                    name: (*c).into(),
                    column_type: String::new(),
                    definition: String::new(),
                    class: ValueClass::Text,
                    nullable: true,
                    generated: false,
                    on_update_now: false,
                    collation: None,
                })
                .collect(),
            key: vec![columns[0].into()],
            indexes: unique
                .iter()
                .map(|c| IndexSpec {
                    name: format!("{c}_unique"),
                    unique: true,
                    columns: vec![((*c).into(), None)],
                })
                .collect(),
            foreign_keys: parent
                .iter()
                .map(|p| ForeignKeySpec {
                    name: format!("{name}_{p}"),
                    columns: vec![columns[1].into()],
                    parent_table: (*p).into(),
                    parent_columns: vec!["id".into()],
                    on_delete: "CASCADE".into(),
                    on_update: "RESTRICT".into(),
                })
                .collect(),
            table_options: String::new(),
        }
    }

    fn change(table: usize, spec: &Arc<TableSpec>, values: &[Option<&str>]) -> Change {
        let values: Vec<Option<String>> = values.iter().map(|v| v.map(String::from)).collect();
        Change {
            queue_id: 1,
            table,
            spec: spec.clone(),
            record: values[0].clone().unwrap_or_default(),
            operation: Operation::Update,
            retry_count: 0,
            action: Action::Upsert {
                present: vec![true; values.len()],
                values,
            },
            fingerprint: 0,
        }
    }

    fn delete(table: usize, spec: &Arc<TableSpec>, key: &str) -> Change {
        Change {
            operation: Operation::Delete,
            action: Action::Delete {
                key: vec![Some(key.into())],
            },
            ..change(table, spec, &[Some(key)])
        }
    }

    #[test]
    fn a_change_waits_for_the_held_record_it_refers_to_or_the_value_it_takes() {
        let tables = Tables::new(vec![
            spec("users", &["id", "email"], &["email"], None),
            spec("orders", &["id", "user_id"], &[], Some("users")),
        ]);
        let (users, orders) = (tables.get(0).unwrap(), tables.get(1).unwrap());
        let mut holds = Holds::default();
        holds.add(delete(0, users, "4"), &tables);
        holds.add(change(0, users, &[Some("5"), Some("Tmp@x.io ")]), &tables);
        assert!(holds.must_wait(&change(1, orders, &[Some("21"), Some("4")])));
        assert!(!holds.must_wait(&change(1, orders, &[Some("22"), Some("3")])));
        assert!(
            !holds.must_wait(&change(1, orders, &[Some("23"), None])),
            "NULL refers to nothing"
        );
        assert!(holds.must_wait(&change(0, users, &[Some("6"), Some("tmp@x.io")])));
        assert!(!holds.must_wait(&change(0, users, &[Some("7"), Some("other@x.io")])));
        assert!(
            !holds.must_wait(&delete(1, orders, "21")),
            "a delete relies on no parent"
        );
        assert!(!holds.must_wait(&delete(0, users, "6")));
        holds.add(change(1, orders, &[Some("11"), Some("6")]), &tables);
        assert!(
            holds.must_wait(&delete(0, users, "6")),
            "a held order refers to user 6"
        );
        assert!(!holds.must_wait(&delete(0, users, "3")));
        assert!(holds.holds_record(&(1, "11".into())));
    }

    #[test]
    fn a_reference_by_a_unique_column_makes_every_change_of_its_table_wait() {
        let mut by_email = spec("orders", &["id", "user_email"], &[], Some("users"));
        by_email.foreign_keys[0].parent_columns = vec!["email".into()];
        let tables = Tables::new(vec![
            spec("users", &["id", "email"], &["email"], None),
            by_email,
        ]);
        let (users, orders) = (tables.get(0).unwrap(), tables.get(1).unwrap());
        let mut holds = Holds::default();
        holds.add(change(1, orders, &[Some("10"), Some("a@x.io")]), &tables);
        assert!(holds.must_wait(&change(0, users, &[Some("1"), Some("z@x.io")])));
        assert!(holds.must_wait(&delete(0, users, "2")));
        assert!(!holds.must_wait(&change(1, orders, &[Some("11"), None])));
    }

    #[test]
    fn a_delete_is_refused_for_rows_down_any_chain_of_references() {
        let tables = Tables::new(vec![
            spec("customers", &["id"], &[], None),
            spec("invoices", &["id", "customer_id"], &[], Some("customers")),
            spec("items", &["id", "invoice_id"], &[], Some("invoices")),
            spec("notes", &["id"], &[], None),
        ]);
        let mut found = referencing("customers", &tables);
        found.sort();
        assert_eq!(found, ["invoices", "items"]);
        assert!(referencing("notes", &tables).is_empty());
    }
}
