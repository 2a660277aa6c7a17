//! What a column of db_b takes when many sites share it: db_b's copy holds every site's
//! rows, so a change one site's db_a makes must not narrow what the others need.

use super::CentralColumn;
use crate::db::quote_ident;
use crate::db::schema::types::{self, KeyUse};
use crate::domain::table::{ColumnSpec, charset_of, collation_pads_spaces};

/// The definition db_b's text column takes for `column` (db_a's, being added or changed)
/// beside `central` (db_b's now): db_a's, but in the wider of the two character sets
/// (another site may need db_b's; utf8mb4 where neither holds the other), and — in a unique
/// key, where db_b's collation does not tell apart what db_a's does — in that set's binary
/// collation, which tells apart every site's values. `None` where db_a's definition is what
/// db_b takes: no text, the same character set and a collation that holds, or the primary
/// key (which must compare as db_a does: it names the row).
pub fn shared_definition(
    column: &ColumnSpec,
    central: &CentralColumn,
    key: KeyUse,
) -> Option<String> {
    if key == KeyUse::Primary {
        return None;
    }
    let (ours, theirs) = (column.collation.as_deref()?, central.collation.as_deref()?);
    let (our_set, their_set) = (charset_of(ours), charset_of(theirs));
    // Two sets neither of which holds the other (latin1 and cp1251): utf8mb4 holds both.
    let wider = match (
        types::charset_holds(their_set, our_set),
        types::charset_holds(our_set, their_set),
    ) {
        (true, _) => their_set,
        (false, true) => our_set,
        (false, false) => "utf8mb4",
    };
    let holds = |collation: &str| {
        types::holds_text(
            (&column.column_type, Some(collation)),
            (&column.column_type, Some(ours)),
            key,
        )
    };
    let collation = if their_set == wider && holds(theirs) {
        theirs.to_string()
    } else if key == KeyUse::Unique {
        match collation_pads_spaces(ours) {
            true => format!("{wider}_bin"),
            false => format!("{wider}_nopad_bin"),
        }
    } else if our_set == wider {
        ours.to_string()
    } else if their_set == wider {
        theirs.to_string()
    } else {
        format!("{wider}_general_ci")
    };
    if collation == ours {
        return None;
    }
    let column_type = roomier_text(column, central, &collation, key);
    column.definition_as(&column_type, wider, &collation)
}

/// db_a's TEXT type, or a larger one where `collation`'s set spends more bytes a character
/// than db_a's (65 535 cp1251 characters take up to 262 140 bytes in utf8mb4): the smallest
/// that holds every value of db_a's, and not smaller than db_b's. Other types as they are.
fn roomier_text(
    column: &ColumnSpec,
    central: &CentralColumn,
    collation: &str,
    key: KeyUse,
) -> String {
    const SIZES: [&str; 4] = ["tinytext", "text", "mediumtext", "longtext"];
    let size = |t: &str| SIZES.iter().position(|s| s.eq_ignore_ascii_case(t));
    let (Some(ours), Some(ours_collation)) = (size(&column.column_type), &column.collation) else {
        return column.column_type.clone();
    };
    let from = size(&central.column_type).unwrap_or(0).max(ours);
    SIZES[from..]
        .iter()
        .find(|t| {
            types::holds_text(
                (t, Some(collation)),
                (&column.column_type, Some(ours_collation)),
                key,
            )
        })
        .map_or_else(|| column.column_type.clone(), |t| t.to_string())
}

/// `definition` (db_a's `column`, for db_b's shared column) nullable where db_b's column
/// is: other sites' rows may hold NULLs there that this site's `NOT NULL` would refuse (or,
/// in a permissive session, turn into `0` or `''`). `SHOW CREATE TABLE` prints `NOT NULL`
/// before any default or comment, and only for a column that is not nullable.
pub fn keeping_nulls(definition: &str, column: &ColumnSpec, central: &CentralColumn) -> String {
    if column.nullable || column.generated || !central.nullable {
        return definition.to_string();
    }
    without_not_null(definition)
}

/// `definition` with its own `NOT NULL` made `NULL`.
pub fn without_not_null(definition: &str) -> String {
    match definition.to_ascii_uppercase().find(" NOT NULL") {
        Some(at) => format!("{}{}", &definition[..at], &definition[at + " NOT".len()..]),
        None => definition.to_string(),
    }
}

/// Whether `column` is NOT NULL without a default: a row that does not give it a value gets
/// an implicit `0` or `''`. (`SHOW CREATE TABLE` prints `DEFAULT` for any default.)
pub fn needs_a_value(column: &ColumnSpec) -> bool {
    !column.nullable
        && !column.generated
        && !column.definition.to_ascii_uppercase().contains(" DEFAULT ")
}

/// With many sites, db_b's copy holds every site's rows, and a column this site's db_a
/// lacks (dropped, or never had: another site added it) may hold other sites' values: it
/// stays. Rows of this site leave it out, so one NOT NULL without a default is made
/// nullable (an implicit 0 or '' would look like a value).
pub fn column_of_others(table: &str, central: &CentralColumn) -> Option<String> {
    if central.nullable || central.has_default {
        return None;
    }
    let collate = central
        .collation
        .as_deref()
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        .map(|c| format!(" COLLATE {c}"))
        .unwrap_or_default();
    Some(format!(
        "ALTER TABLE {} MODIFY COLUMN {} {}{collate} NULL",
        quote_ident(table),
        quote_ident(&central.name),
        central.column_type
    ))
}

/// Why `init` refuses, with many sites, a db_b column that cannot hold this site's values
/// as they read (another site widened it — more decimals, fractions of seconds — or has it
/// otherwise, ZEROFILL; or this site narrowed its own): db_b's is not changed under the
/// other sites' rows.
pub fn held_for_other_sites(table: &str, column: &ColumnSpec, central: &CentralColumn) -> String {
    format!(
        "db_b has {} and this site's db_a has {}, whose values would not read back alike \
         there; db_b's copy holds every site's rows, so it is not changed: give db_a's column \
         db_b's type (ALTER TABLE {table} MODIFY COLUMN {} {} …), or, if no other site's rows \
         need db_b's, change db_b's column by hand; then run `dbsync init` again",
        central.column_type,
        column.column_type,
        quote_ident(&column.name),
        central.column_type
    )
}

/// Why `init` refuses a primary key column compared another way on this site than in db_b:
/// every site's rows are keyed by it.
pub fn key_compared_otherwise(table: &str, column: &ColumnSpec, central: &CentralColumn) -> String {
    let theirs = central.collation.as_deref().unwrap_or_default();
    format!(
        "db_b's primary key compares it as {theirs} (every site's rows are keyed so) and this \
         site's db_a as {}; give db_a's column db_b's collation (ALTER TABLE {table} MODIFY \
         COLUMN {} … COLLATE {theirs}) and run `dbsync init` again — or, while no other site \
         has rows in the table, change db_b's column by hand and run `dbsync init`",
        column.collation.as_deref().unwrap_or_default(),
        quote_ident(&column.name),
    )
}

#[cfg(test)]
mod tests {
    use super::{CentralColumn, keeping_nulls};
    use crate::domain::table::{ColumnSpec, ValueClass};

    #[test]
    fn only_the_columns_own_not_null_is_loosened() {
        let central = CentralColumn {
            name: "note".into(),
            column_type: "varchar(40)".into(),
            nullable: true,
            has_default: false,
            collation: Some("utf8mb4_bin".into()),
        };
        let mut column = ColumnSpec::plain("note", "varchar(40)", ValueClass::Text);
        column.nullable = false;
        let strict = "varchar(40) NOT NULL DEFAULT 'd'";
        assert_eq!(
            keeping_nulls(strict, &column, &central),
            "varchar(40) NULL DEFAULT 'd'"
        );
        column.nullable = true;
        let loose = "varchar(40) DEFAULT 'is NOT NULL here'";
        assert_eq!(keeping_nulls(loose, &column, &central), loose);
    }
}
