//! Whether db_b's copies of the synced tables still take db_a's rows as they are, checked
//! before each run (and by verify, resync and rebase): changed by hand in db_b, or laid
//! out for another `SITE_ID`, they would cut, coerce or mix rows instead of refusing them.

use sqlx::mysql::MySqlConnection;

use super::central::{CentralColumn, SITE_COLUMN, central_columns, central_key, central_key_of};
use super::types;
use crate::domain::table::TableSpec;

/// `Some(reason)` when db_b's copies cannot take db_a's rows as they are, checked before
/// each run:
/// - they disagree with this site's `SITE_ID` about the site column: writing without it
///   into a many-site central would mix this site's rows with (and a load would remove)
///   other sites' rows; writing with it into a one-site central fails on every row;
/// - a column is missing, narrower than db_a's, of another type, or NOT NULL where db_a's
///   is nullable (changed in db_b by hand): db_b's permissive session would cut or coerce
///   values instead of refusing them;
/// - the primary key is another (remade for another site's key): upserts would overwrite
///   other records.
pub async fn central_mismatch(
    conn: &mut MySqlConnection,
    specs: &[&TableSpec],
    site: bool,
) -> Result<Option<String>, sqlx::Error> {
    let mut with_site = Vec::new();
    let mut existing = Vec::new();
    for spec in specs {
        let table = spec.name.as_str();
        let columns = central_columns(conn, table).await?;
        if columns.is_empty() {
            continue;
        }
        existing.push(table);
        if columns.iter().any(|c| c.name == SITE_COLUMN) {
            with_site.push(table);
        }
        if let Some(reason) = column_mismatch(spec, &columns) {
            return Ok(Some(reason));
        }
        // Upserts find their rows by db_b's key: another one would overwrite other records.
        let site_first = columns.iter().any(|c| c.name == SITE_COLUMN);
        let expected = central_key_of(spec, site_first);
        let key = central_key(conn, table).await?;
        if key != expected {
            return Ok(Some(format!(
                "db_b's `{table}` has the primary key ({}) but db_a's is ({}): its rows would be \
                 found by another key. Where db_a's key changed, run `dbsync init`; where db_b's \
                 table was remade for another site's new key, every site's db_a needs that key",
                key.join(", "),
                expected.join(", ")
            )));
        }
    }
    let lacking: Vec<&str> = existing
        .iter()
        .filter(|t| !with_site.contains(t))
        .copied()
        .collect();
    Ok(if site && !lacking.is_empty() {
        Some(format!(
            "SITE_ID is set but db_b's {} has no {SITE_COLUMN} column (a one-site central): \
             run `dbsync migrate-site` on the site whose rows it holds to make it a many-site central",
            lacking.join(", ")
        ))
    } else if !site && !with_site.is_empty() {
        Some(format!(
            "db_b's {} has a {SITE_COLUMN} column (a many-site central) but SITE_ID is not \
             set: set SITE_ID to this site's id",
            with_site.join(", ")
        ))
    } else {
        None
    })
}

/// The first image column db_b's copy of `spec` cannot hold every value of.
fn column_mismatch(spec: &TableSpec, columns: &[CentralColumn]) -> Option<String> {
    spec.image_columns().find_map(|column| {
        let problem = match columns.iter().find(|c| c.name == column.name) {
            None => "is missing in db_b".to_string(),
            Some(central)
                if !(types::same_type(&central.column_type, &column.column_type)
                    || types::is_widening(&column.column_type, &central.column_type)) =>
            {
                format!(
                    "is {} in db_b but {} in db_a: db_b could not hold every value",
                    central.column_type, column.column_type
                )
            }
            Some(central) if column.nullable && !central.nullable => {
                "is NOT NULL in db_b but nullable in db_a".to_string()
            }
            Some(central)
                if !types::holds_text(
                    (&central.column_type, central.collation.as_deref()),
                    (&column.column_type, column.collation.as_deref()),
                    types::KeyUse::of(spec, &column.name),
                ) =>
            {
                // `init` compares types, not character sets: this one is for a person.
                return Some(format!(
                    "column `{}` of `{}` is {} {} in db_b but {} {} in db_a: db_b could not \
                     hold every value; run `dbsync init`, or change db_b's column by hand \
                     (ALTER TABLE … MODIFY to db_a's definition: {})",
                    column.name,
                    spec.name,
                    central.column_type,
                    central.collation.as_deref().unwrap_or_default(),
                    column.column_type,
                    column.collation.as_deref().unwrap_or_default(),
                    column.explicit_definition(),
                ));
            }
            Some(_) => return None,
        };
        Some(format!(
            "column `{}` of `{}` {problem}: run `dbsync init` to bring db_b's table in line \
             (or change it back by hand)",
            column.name, spec.name
        ))
    })
}
