//! The tables a copy of some tables takes along. db_a's foreign keys that cascade (or set
//! NULL, or a default) change the rows of the other side without firing a trigger: db_b
//! repeats that when it replays the parent's delete, but a copy replays no change. A copy
//! of one side alone would leave the other side different — children of a parent the copy
//! removed, or children the copy placed that a parent's older delete, still queued,
//! cascades away afterwards — while the runs say `synced`. So a copy takes every synced
//! table linked to it by such keys, directly or through others, and copies parents before
//! their children.

use std::collections::VecDeque;

use crate::domain::table::{ForeignKeySpec, TableSpec};

/// A table copied because a copied table is linked to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub table: String,
    /// The copied table it is linked to.
    pub to: String,
}

/// Whether db_a changes the child's rows itself when a parent row goes or its key changes.
fn changes_children(fk: &ForeignKeySpec) -> bool {
    [&fk.on_delete, &fk.on_update]
        .into_iter()
        .any(|rule| !matches!(rule.as_str(), "RESTRICT" | "NO ACTION"))
}

/// The synced tables (`specs`) a copy of `only` takes along, each with the table that
/// brought it in, in the order they were found. None when `only` is empty (every table).
pub fn linked_tables(specs: &[&TableSpec], only: &[String]) -> Vec<Linked> {
    let mut copied: Vec<&str> = only.iter().map(String::as_str).collect();
    let mut todo: VecDeque<&str> = copied.iter().copied().collect();
    let mut linked = Vec::new();
    while let Some(table) = todo.pop_front() {
        for spec in specs {
            for fk in spec.foreign_keys.iter().filter(|fk| changes_children(fk)) {
                let other = if spec.name == table {
                    fk.parent_table.as_str()
                } else if fk.parent_table == table {
                    spec.name.as_str()
                } else {
                    continue;
                };
                let synced = specs.iter().any(|s| s.name == other);
                if synced && !copied.contains(&other) {
                    copied.push(other);
                    todo.push_back(other);
                    linked.push(Linked {
                        table: other.to_string(),
                        to: table.to_string(),
                    });
                }
            }
        }
    }
    linked
}

/// Keys of synced tables that cascade or set NULL from a table not synced, as (table,
/// key, parent): db_a changes those rows when the parent's go, queuing nothing, and db_b,
/// which has no copy of the parent, does not follow.
pub fn cascades_from_unsynced<'a>(specs: &[&'a TableSpec]) -> Vec<(&'a str, &'a str, &'a str)> {
    specs
        .iter()
        .flat_map(|spec| spec.foreign_keys.iter().map(move |fk| (spec, fk)))
        .filter(|(_, fk)| changes_children(fk) && !specs.iter().any(|s| s.name == fk.parent_table))
        .map(|(spec, fk)| {
            (
                spec.name.as_str(),
                fk.name.as_str(),
                fk.parent_table.as_str(),
            )
        })
        .collect()
}

/// The order a load copies `specs` in: each table after the synced tables it refers to,
/// otherwise as configured (a cycle of keys is broken in configured order). A parent's
/// copy then reads db_a before its children's: a parent deleted in between has its
/// children removed by their own copy, not left behind by a parent's copy that came after.
pub fn parents_first<'a>(specs: &[&'a TableSpec]) -> Vec<&'a str> {
    let mut placed: Vec<&str> = Vec::with_capacity(specs.len());
    while placed.len() < specs.len() {
        let unplaced = || specs.iter().filter(|s| !placed.contains(&s.name.as_str()));
        let ready = unplaced().find(|spec| {
            spec.foreign_keys.iter().all(|fk| {
                fk.parent_table == spec.name
                    || placed.contains(&fk.parent_table.as_str())
                    || !specs.iter().any(|s| s.name == fk.parent_table)
            })
        });
        match ready.or_else(|| unplaced().next()) {
            Some(spec) => placed.push(spec.name.as_str()),
            None => break,
        }
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, parents: &[(&str, &str)]) -> TableSpec {
        TableSpec {
            name: name.into(),
            columns: Vec::new(),
            key: vec!["id".into()],
            indexes: Vec::new(),
            foreign_keys: parents
                .iter()
                .map(|(parent, rule)| ForeignKeySpec {
                    name: format!("{name}_{parent}"),
                    columns: vec!["parent".into()],
                    parent_table: (*parent).into(),
                    parent_columns: vec!["id".into()],
                    on_delete: (*rule).into(),
                    on_update: "RESTRICT".into(),
                })
                .collect(),
            table_options: String::new(),
        }
    }

    fn names(linked: &[Linked]) -> Vec<(&str, &str)> {
        linked
            .iter()
            .map(|l| (l.table.as_str(), l.to.as_str()))
            .collect()
    }

    #[test]
    fn cascades_are_followed_both_ways_and_through_other_tables() {
        let users = table("users", &[]);
        let orders = table("orders", &[("users", "RESTRICT")]);
        let carts = table("carts", &[("users", "CASCADE")]);
        let items = table("items", &[("carts", "CASCADE")]);
        let notes = table("notes", &[("items", "SET NULL")]);
        let specs = [&users, &orders, &carts, &items, &notes];
        let only = |t: &str| vec![t.to_string()];
        assert_eq!(
            names(&linked_tables(&specs, &only("items"))),
            [("carts", "items"), ("notes", "items"), ("users", "carts")]
        );
        assert_eq!(
            names(&linked_tables(&specs, &only("users"))),
            [("carts", "users"), ("items", "carts"), ("notes", "items")]
        );
        // RESTRICT refuses instead of changing the children: nothing to take along.
        assert!(linked_tables(&specs, &only("orders")).is_empty());
        assert!(linked_tables(&specs, &[]).is_empty());
    }

    #[test]
    fn parents_are_copied_before_their_children() {
        let items = table("items", &[("carts", "CASCADE"), ("items", "CASCADE")]);
        let carts = table("carts", &[("users", "RESTRICT")]);
        let users = table("users", &[]);
        let lone = table("lone", &[("elsewhere", "CASCADE")]);
        assert_eq!(
            parents_first(&[&items, &lone, &carts, &users]),
            ["lone", "users", "carts", "items"]
        );
        // A cycle is broken in configured order.
        let a = table("a", &[("b", "CASCADE")]);
        let b = table("b", &[("a", "CASCADE")]);
        assert_eq!(parents_first(&[&b, &a]), ["b", "a"]);
        assert_eq!(
            cascades_from_unsynced(&[&lone, &carts]),
            [("lone", "lone_elsewhere", "elsewhere")]
        );
    }

    #[test]
    fn a_parent_outside_the_synced_tables_is_not_taken() {
        let items = table("items", &[("carts", "CASCADE")]);
        assert!(linked_tables(&[&items], &["items".to_string()]).is_empty());
    }

    #[test]
    fn a_key_that_cascades_on_update_links_too() {
        let carts = table("carts", &[]);
        let mut items = table("items", &[("carts", "RESTRICT")]);
        items.foreign_keys[0].on_update = "CASCADE".into();
        assert_eq!(
            names(&linked_tables(&[&carts, &items], &["carts".to_string()])),
            [("items", "carts")]
        );
    }
}
