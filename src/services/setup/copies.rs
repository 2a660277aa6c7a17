//! Which tables `init` has copied anew, and why: a change of the definition leaves changes
//! queued before it unreadable (they name their record or spell a value as the old
//! definition did, and the new one reads them otherwise, or not at all: replaced by the
//! copy), or db_a's rows changed without a trigger (lost triggers, an ALTER that converted
//! values), or the images lacked a column added since.

use crate::db::image::{self, RowRef};
use crate::db::schema::types;
use crate::domain::table::TableSpec;
use crate::services::load::{Linked, linked_tables};

/// Why a table is copied anew.
pub(super) struct Copy {
    pub why: String,
    /// Whether the changes queued before are replaced by the copy (they cannot be applied).
    pub supersedes: bool,
}

/// Whether `live`, captured as `captured` by the last `init`, is copied anew; its triggers
/// were `missing`.
pub(super) fn copy_needed(captured: &TableSpec, live: &TableSpec, missing: bool) -> Option<Copy> {
    let copy = |why: String, supersedes| Some(Copy { why, supersedes });
    if let Some(why) = why_unreadable(captured, live) {
        return copy(why, true);
    }
    if missing {
        let why = "its capture triggers were missing (dropped, or the table swapped for a copy): writes made without them were not captured";
        return copy(why.into(), false);
    }
    if let Some(why) = why_rewritten(captured, live) {
        return copy(why, false);
    }
    // Rows written before the new triggers carried the new column's value in no image. (A
    // generated column is in no image: db_b computes its own.)
    let added = live
        .image_columns()
        .any(|column| captured.column(&column.name).is_none());
    added.then(|| Copy {
        why: "columns were added".into(),
        supersedes: false,
    })
}

/// The tables copied along with `copied` (each with why): the children of a table copied
/// anew under its new key (`rekeyed`: it starts empty in db_b, and rows referring to it
/// that db_a's cascades removed meanwhile are removed by their copy), and the tables db_a's
/// cascades link to a copied one (see `linked_tables`).
pub(super) fn taken_along(
    specs: &[TableSpec],
    rekeyed: &[&str],
    copied: &[(String, String)],
) -> Vec<(String, String)> {
    let mut along: Vec<(String, String)> = Vec::new();
    for child in specs {
        let refers = child
            .foreign_keys
            .iter()
            .any(|fk| rekeyed.contains(&fk.parent_table.as_str()));
        if refers && !copied.iter().any(|(t, _)| *t == child.name) {
            let why = "a table it refers to is copied anew under its new key";
            along.push((child.name.clone(), why.into()));
        }
    }
    let reloaded: Vec<String> = copied
        .iter()
        .chain(&along)
        .map(|(t, _)| t.clone())
        .collect();
    let all: Vec<&TableSpec> = specs.iter().collect();
    for Linked { table, to } in linked_tables(&all, &reloaded) {
        let why = format!(
            "it is linked to `{to}`, copied anew, by a foreign key that cascades or sets NULL"
        );
        along.push((table, why));
    }
    along
}

/// Why db_a's rows of `live` may have changed in the ALTER itself, without a trigger: a
/// column moved to a character set that does not hold the old one (MariaDB turns what it
/// cannot hold into `?` under a permissive `sql_mode`).
fn why_rewritten(captured: &TableSpec, live: &TableSpec) -> Option<String> {
    live.image_columns().find_map(|column| {
        let before = captured.column(&column.name)?;
        let (old, new) = (before.charset()?, column.charset()?);
        (!types::charset_holds(new, old)).then(|| {
            format!(
                "`{}` moved from character set {old} to {new}, which does not hold every value of it: the ALTER may have changed db_a's rows without a trigger",
                column.name
            )
        })
    })
}

/// Why changes of `live` queued under `captured` (its definition at the last `init`) can no
/// longer be applied as they are; `None` when every one still reads as it meant.
fn why_unreadable(captured: &TableSpec, live: &TableSpec) -> Option<String> {
    if captured.key != live.key {
        return Some("its primary key changed".into());
    }
    // An integer key named in `record_id` becomes one named in `record_key` (BIGINT
    // UNSIGNED), a weight becomes a value (a collation that told fewer strings apart)…
    if image::key_exprs(captured, RowRef::New) != image::key_exprs(live, RowRef::New) {
        return Some("its key names rows another way now (a new type or collation)".into());
    }
    for column in live.image_columns() {
        let Some(before) = captured.column(&column.name) else {
            continue;
        };
        if before.bytes_charset() != column.bytes_charset() {
            return Some(format!(
                "`{}` moved from character set {} to {}, and queued values of it are spelled in the old one",
                column.name,
                before.charset().unwrap_or("none"),
                column.charset().unwrap_or("none")
            ));
        }
        let changed = !types::same_type(&before.column_type, &column.column_type);
        // A key column whose values now read otherwise (a ZEROFILL width, more decimals,
        // fractions of seconds): queued changes name their rows by the old spelling.
        if changed
            && live.key.contains(&column.name)
            && !types::holds_alike(&column.column_type, &before.column_type)
        {
            return Some(format!(
                "its key names rows another way now (`{}` reads otherwise as {} than as {})",
                column.name, column.column_type, before.column_type
            ));
        }
        if changed && !types::is_widening(&before.column_type, &column.column_type) {
            return Some(format!(
                "`{}` was narrowed ({} to {}): values queued before may not fit it",
                column.name, before.column_type, column.column_type
            ));
        }
    }
    None
}
