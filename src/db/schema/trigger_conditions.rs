//! The conditions of the capture triggers: which columns changed, and whether an UPDATE
//! left the table holding what the trigger was told (`UPDATE IGNORE`). Values are compared
//! the way the image encodes them (`db::image`).

use crate::db::image::{RowRef, column_ref};
use crate::db::quote_ident;
use crate::domain::fits;
use crate::domain::table::{ColumnSpec, TableSpec, ValueClass};

/// `NOT (NEW.a <=> OLD.a AND …)` over `columns`, comparing text as bytes so a case-only
/// change counts; `FALSE` when `columns` is empty.
pub fn changed_condition<'a>(columns: impl Iterator<Item = &'a ColumnSpec>) -> String {
    let equalities: Vec<String> = columns
        .map(|c| same_value(c, RowRef::New, RowRef::Old))
        .collect();
    if equalities.is_empty() {
        "FALSE".to_string()
    } else {
        format!("NOT ({})", equalities.join(" AND "))
    }
}

/// `column` holds the same value in rows `a` and `b`, NULLs included; text compared as bytes
/// (a case-only change is a change).
fn same_value(column: &ColumnSpec, a: RowRef, b: RowRef) -> String {
    let (a, b) = (column_ref(a, &column.name), column_ref(b, &column.name));
    match column.class {
        // The error value and an `''` member read alike; their indexes differ.
        ValueClass::Text if fits::spells_enum_error(&column.column_type) => {
            format!("(BINARY {a} <=> BINARY {b} AND {a} + 0 <=> {b} + 0)")
        }
        ValueClass::Text | ValueClass::CastText => format!("BINARY {a} <=> BINARY {b}"),
        _ => format!("{a} <=> {b}"),
    }
}

/// True inside an AFTER UPDATE trigger when the table holds what the trigger was told: a
/// row with `NEW`'s key and values, and — when the key changed — no row left at `OLD`'s key.
/// `UPDATE IGNORE` fires the trigger also for a row it left as it was (the change would
/// have duplicated a key or broken a foreign key), and such a change must not be queued.
/// Values are compared as bytes; ON UPDATE CURRENT_TIMESTAMP columns are left out (`NEW`
/// shows a new time there even for a row kept as it was).
///
/// Only an update of a key, unique or foreign key column can be skipped that way (a CHECK
/// constraint skips without firing the trigger), so the stored row is read only then: when
/// a column of the key or of any index changed (a column another table's foreign key
/// points at is indexed), or of the table's own foreign keys — or always, when an index
/// holds a generated column (any column may change it).
pub fn update_applied(spec: &TableSpec) -> String {
    let in_index = |name: &str| {
        spec.indexes
            .iter()
            .any(|i| i.columns.iter().any(|(column, _)| column == name))
    };
    let indexes_generated = spec.indexes.iter().any(|i| {
        i.columns
            .iter()
            .any(|(column, _)| spec.column(column).is_some_and(|c| c.generated))
    });
    if indexes_generated {
        return stored_row_is_new(spec);
    }
    let constrained: Vec<&ColumnSpec> = spec
        .image_columns()
        .filter(|c| {
            spec.is_key_column(&c.name)
                || in_index(&c.name)
                || spec
                    .foreign_keys
                    .iter()
                    .any(|fk| fk.columns.contains(&c.name))
        })
        .collect();
    format!(
        "IF({}, {}, TRUE)",
        changed_condition(constrained.into_iter()),
        stored_row_is_new(spec)
    )
}

/// The stored row holds `NEW`, and no row is left at `OLD`'s key (when it changed).
fn stored_row_is_new(spec: &TableSpec) -> String {
    let table = quote_ident(&spec.name);
    let same = |row: RowRef, c: &ColumnSpec| same_value(c, RowRef::Stored, row);
    let new_row: Vec<String> = spec
        .image_columns()
        .filter(|c| !c.on_update_now)
        .map(|c| same(RowRef::New, c))
        .collect();
    let old_key: Vec<String> = spec.key_columns().map(|c| same(RowRef::Old, c)).collect();
    // The comparisons are in the select list, not the WHERE clause: there MariaDB finds no
    // row for a zero TIMESTAMP compared with `<=>`.
    let (new_row, old_key) = (new_row.join(" AND "), old_key.join(" AND "));
    format!(
        "COALESCE((SELECT {new_row} FROM {table} WHERE {}), FALSE) \
         AND (NOT ({}) OR NOT COALESCE((SELECT {old_key} FROM {table} WHERE {}), FALSE))",
        key_matches(spec, RowRef::New),
        changed_condition(spec.key_columns()),
        key_matches(spec, RowRef::Old),
    )
}

/// `WHERE`-ready equality of the key columns with `NEW`'s values (for reading the stored row
/// inside a trigger).
pub fn key_matches_new(spec: &TableSpec) -> String {
    key_matches(spec, RowRef::New)
}

/// The key columns equal to `row`'s, as the key's index compares them.
fn key_matches(spec: &TableSpec, row: RowRef) -> String {
    let parts: Vec<String> = spec
        .key_columns()
        .map(|c| format!("{} = {}", quote_ident(&c.name), column_ref(row, &c.name)))
        .collect();
    parts.join(" AND ")
}
