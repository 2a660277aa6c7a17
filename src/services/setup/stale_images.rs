//! Whether a change of a table's definition leaves changes queued before it unreadable:
//! they name their record or spell a value as the old definition did, and the new one
//! reads them otherwise (or not at all). Such changes are replaced by a copy of the table.

use crate::db::image::{self, RowRef};
use crate::db::schema::types;
use crate::domain::table::TableSpec;

/// Why changes of `live` queued under `captured` (its definition at the last `init`) can no
/// longer be applied as they are; `None` when every one still reads as it meant.
pub(super) fn why_unreadable(captured: &TableSpec, live: &TableSpec) -> Option<String> {
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
        if changed && !types::is_widening(&before.column_type, &column.column_type) {
            return Some(format!(
                "`{}` was narrowed ({} to {}): values queued before may not fit it",
                column.name, before.column_type, column.column_type
            ));
        }
    }
    None
}
