//! How an existing db_b table follows a change of db_a's: columns added, widened or
//! dropped, indexes added, unique keys dropped, foreign keys added, dropped or changed — or
//! why it cannot follow without a person's decision.

use super::shared::{
    self, column_of_others, keeping_nulls, needs_a_value, shared_definition, without_not_null,
};
use super::{
    CentralColumn, Refusal, SITE_COLUMN, central_key_of, foreign_key_definition, index_definition,
};
use crate::db::quote_ident;
use crate::db::schema::types;
use crate::domain::table::TableSpec;

/// What db_b's copy of a table has now.
pub struct CentralTable {
    pub columns: Vec<CentralColumn>,
    pub key: Vec<String>,
    pub index_names: Vec<String>,
    /// Each foreign key's name and the table it refers to.
    pub foreign_keys: Vec<(String, String)>,
}

/// What brings an existing db_b table in line with db_a's.
#[derive(Debug, Default)]
pub struct Planned {
    /// `ALTER TABLE` statements, each with when it runs.
    pub steps: Vec<(Phase, String)>,
    /// What was left as it is on purpose, in words.
    pub notes: Vec<String>,
}

/// The `ALTER TABLE` statements that bring an existing db_b table in line with db_a's
/// `live` definition, or why that cannot be done automatically. `captured` is the
/// definition `init` last recorded (to tell a column db_a dropped from one db_b has of
/// its own).
pub fn plan_changes(
    live: &TableSpec,
    captured: Option<&TableSpec>,
    central: &CentralTable,
    synced: &[String],
    site: bool,
) -> Result<Planned, Refusal> {
    let key = &central.key;
    let expected_key = central_key_of(live, site);
    let shared = key.first().map(String::as_str) == Some(SITE_COLUMN)
        && expected_key.first().map(String::as_str) != Some(SITE_COLUMN);
    if !site && shared {
        return Err(refusal(
            live,
            None,
            format!(
                "db_b's table starts its primary key with `{SITE_COLUMN}`: this db_b holds \
                 several sites' rows, and SITE_ID is not set here; set this site's SITE_ID \
                 (a new one, or the one it had) and run `dbsync init` again — do not drop \
                 db_b's table, it holds the other sites' rows"
            ),
        ));
    }
    // A single-site deployment's copy (no `site_id` in its key) under a SITE_ID: moving it
    // is `migrate-site`'s work; dropping it would lose the rows it holds.
    if site && *key != expected_key && !key.is_empty() && !key.iter().any(|k| k == SITE_COLUMN) {
        return Err(refusal(
            live,
            None,
            format!(
                "db_b's primary key ({}) is a single-site deployment's, without `{SITE_COLUMN}`: \
                 run `dbsync migrate-site` on the site whose rows it holds to move them under \
                 its SITE_ID (README, Many sites), then `dbsync init` here",
                key.join(", ")
            ),
        ));
    }
    if *key != expected_key {
        return Err(refusal(
            live,
            None,
            format!(
                "{} but db_a's is ({}); a key change is not automatic: \
                 drop db_b's table (or rename it and drop its foreign keys, whose names the new \
                 copy needs; a table others refer to, drop theirs to it first: `init` adds \
                 them back), run `dbsync init`, then `dbsync resync`{}",
                match key.is_empty() {
                    true => "db_b's table has no primary key".to_string(),
                    false => format!("db_b's primary key is ({})", key.join(", ")),
                },
                expected_key.join(", "),
                if !site {
                    ""
                } else {
                    " — db_b's table holds every site's rows: give every site's db_a the new key \
                     first, then, once the table is remade, run `init` and `resync` on each site"
                }
            ),
        ));
    }
    let (key_drops, key_adds) =
        foreign_key_changes(live, captured, &central.foreign_keys, synced, site);
    let (index_drops, index_adds) = index_changes(live, captured, &central.index_names, site);
    let mut notes = Vec::new();
    let columns = column_changes(live, captured, &central.columns, site, &mut notes)?;
    let phased = |phase: Phase, steps: Vec<String>| steps.into_iter().map(move |sql| (phase, sql));
    let steps = phased(Phase::DropKeys, key_drops)
        .chain(phased(Phase::DropIndexes, index_drops))
        .chain(phased(Phase::Columns, columns))
        .chain(phased(Phase::AddIndexes, index_adds))
        .chain(phased(Phase::AddKeys, key_adds))
        .collect();
    Ok(Planned { steps, notes })
}

/// When a step runs among every table's: foreign keys are dropped before the indexes they
/// use (a child's before its parent's unique key), indexes before the columns they cover (a
/// dropped column takes its indexes along), tables made and columns changed, then indexes
/// and keys added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    DropKeys,
    DropIndexes,
    Columns,
    AddIndexes,
    AddKeys,
}

fn refusal(live: &TableSpec, column: Option<&str>, message: String) -> Refusal {
    Refusal {
        table: live.name.clone(),
        column: column.map(str::to_string),
        message,
    }
}

/// Columns added, widened, made nullable or dropped on db_a. With many sites, a column
/// db_a dropped stays in db_b (see [`column_of_others`]); why goes to `notes`.
fn column_changes(
    live: &TableSpec,
    captured: Option<&TableSpec>,
    columns: &[CentralColumn],
    site: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<String>, Refusal> {
    let table = quote_ident(&live.name);
    let mut changes = Vec::new();
    // An added column goes where db_a has it (after the column before it, or first — after
    // `site_id` in a many-sites db_b), so `SELECT *` reads alike on both.
    let mut previous: Option<&str> = site.then_some(SITE_COLUMN);
    for column in &live.columns {
        let definition = format!(
            "{} {}",
            quote_ident(&column.name),
            column.explicit_definition()
        );
        let place = previous.map_or_else(
            || " FIRST".to_string(),
            |before| format!(" AFTER {}", quote_ident(before)),
        );
        previous = Some(&column.name);
        let key = types::KeyUse::of(live, &column.name);
        // db_b's column takes db_a's NULLs and characters (with its collation, in a key).
        let keeps_values = |central: &CentralColumn| {
            (central.nullable || !column.nullable)
                && types::holds_text(
                    (&central.column_type, central.collation.as_deref()),
                    (&column.column_type, column.collation.as_deref()),
                    key,
                )
        };
        // With many sites, a text column keeps what the other sites need (see `shared`).
        let modify = |central: &CentralColumn| {
            if !site {
                return format!("ALTER TABLE {table} MODIFY COLUMN {definition}");
            }
            let shared = shared_definition(column, central, key)
                .map(|shared| format!("{} {shared}", quote_ident(&column.name)));
            let shared = shared.as_deref().unwrap_or(&definition);
            format!(
                "ALTER TABLE {table} MODIFY COLUMN {}",
                keeping_nulls(shared, column, central)
            )
        };
        match columns.iter().find(|c| c.name == column.name) {
            // With many sites, the other sites' rows have no value for it: NULL, not the
            // implicit 0 or '' a NOT NULL column without a default would give them.
            None if site && needs_a_value(column) => {
                let nullable = format!(
                    "{} {}",
                    quote_ident(&column.name),
                    without_not_null(&column.explicit_definition())
                );
                changes.push(format!("ALTER TABLE {table} ADD COLUMN {nullable}{place}"));
            }
            None => changes.push(format!(
                "ALTER TABLE {table} ADD COLUMN {definition}{place}"
            )),
            Some(central) if types::same_type(&central.column_type, &column.column_type) => {
                // Made nullable, moved to another character set or collation, or (for a
                // generated column) computed another way, on db_a.
                let before = captured.and_then(|c| c.column(&column.name));
                let recomputed = column.generated
                    && before.is_some_and(|old| old.definition != column.definition);
                // Made an ordinary column: images carry its values now, which db_b's
                // generated column would refuse to store.
                let made_plain = !column.generated && before.is_some_and(|old| old.generated);
                if recomputed && site && keeps_values(central) {
                    // Every site's rows in db_b are computed by one expression.
                    notes.push(format!(
                        "`{}`.`{}` keeps db_b's expression: db_b computes it for every site's \
                         rows; once every site's db_a has the new one, change db_b's by hand \
                         (ALTER TABLE … MODIFY COLUMN {definition})",
                        live.name, column.name
                    ));
                } else if site
                    && key == types::KeyUse::Primary
                    && central.collation != column.collation
                    && !keeps_values(central)
                {
                    // Every site's rows are keyed by it: compared another way, they would
                    // name other rows (or clash) under the sites already syncing.
                    let message = shared::key_compared_otherwise(&table, column, central);
                    return Err(refusal(live, Some(&column.name), message));
                } else if !keeps_values(central) || recomputed || made_plain {
                    changes.push(modify(central));
                }
            }
            Some(central) if types::is_widening(&central.column_type, &column.column_type) => {
                changes.push(modify(central));
            }
            // Narrowed on db_a: db_b's column still takes, and reads back, every value (and
            // its NULLs and characters: else a person decides, below).
            Some(central)
                if types::holds_alike(&central.column_type, &column.column_type)
                    && keeps_values(central) => {}
            // Another site widened it (more decimals, fractions of seconds), or has it
            // otherwise (ZEROFILL): db_b's column holds their rows, and is not changed here.
            Some(central) if site => {
                let message = shared::held_for_other_sites(&table, column, central);
                return Err(refusal(live, Some(&column.name), message));
            }
            Some(central) => {
                return Err(refusal(
                    live,
                    Some(&column.name),
                    format!(
                        "db_b has {} and db_a has {}, which is not a widening; change db_b's \
                         column by hand (ALTER TABLE … MODIFY) and run `dbsync init` again",
                        central.column_type, column.column_type
                    ),
                ));
            }
        }
    }
    for central in columns {
        if central.name == SITE_COLUMN && site || live.column(&central.name).is_some() {
            continue;
        }
        let dropped_from_a = captured.is_some_and(|c| c.column(&central.name).is_some());
        if site {
            changes.extend(column_of_others(&live.name, central));
            if dropped_from_a {
                notes.push(format!(
                    "`{}`.`{}` kept: db_a dropped it, but other sites' rows in db_b may hold \
                     values in it (this site's rows keep what they hold there until a copy of \
                     the table rewrites them, new ones leave it empty); drop it by hand once \
                     no site's db_a has it",
                    live.name, central.name
                ));
            }
            continue;
        }
        if dropped_from_a {
            // Drops first: a column db_a dropped may depend on one another change alters
            // (a generated column over it), as MariaDB made db_a do both in one statement.
            changes.insert(
                0,
                format!(
                    "ALTER TABLE {table} DROP COLUMN {}",
                    quote_ident(&central.name)
                ),
            );
        } else if !central.nullable && !central.has_default {
            return Err(refusal(
                live,
                Some(&central.name),
                "db_b has this NOT NULL column without a default and db_a does not have it, \
                 so no row from db_a could be written; give it a default or drop it"
                    .to_string(),
            ));
        }
    }
    Ok(changes)
}

/// Whether `sql` (a statement of [`plan_changes`]) adds a unique key: db_b's rows may not
/// hold to it until the changes queued before it are applied.
pub fn adds_unique_key(sql: &str) -> bool {
    sql.starts_with("ALTER TABLE ") && sql.contains(" ADD UNIQUE KEY ")
}

/// Indexes db_a dropped (dropped here), redefined under their name (dropped and added in
/// one statement: a foreign key may need the index all along, as db_a's own ALTER did), and
/// those db_b lacks (added): `(drops, adds)`. A unique key db_b kept would refuse rows db_a
/// allows; an index db_b kept under a name db_a gave another may hold up a foreign key's
/// own index of that name.
fn index_changes(
    live: &TableSpec,
    captured: Option<&TableSpec>,
    index_names: &[String],
    site: bool,
) -> (Vec<String>, Vec<String>) {
    let table = quote_ident(&live.name);
    let present = |name: &str| index_names.iter().any(|n| n == name);
    let mut drops = Vec::new();
    let mut redefined = Vec::new();
    for old in captured.iter().flat_map(|c| &c.indexes) {
        if live.indexes.contains(old) || !present(&old.name) {
            continue;
        }
        match live.indexes.iter().any(|i| i.name == old.name) {
            true => redefined.push(old.name.as_str()),
            false => drops.push(format!(
                "ALTER TABLE {table} DROP INDEX {}",
                quote_ident(&old.name)
            )),
        }
    }
    let adds = live
        .indexes
        .iter()
        .filter(|index| redefined.contains(&index.name.as_str()) || !present(&index.name))
        .map(|index| {
            let drop = match redefined.contains(&index.name.as_str()) {
                true => format!("DROP INDEX {}, ", quote_ident(&index.name)),
                false => String::new(),
            };
            format!(
                "ALTER TABLE {table} {drop}ADD {}",
                index_definition(index, site)
            )
        })
        .collect();
    (drops, adds)
}

/// Foreign keys among synced tables db_a added, dropped or changed (dropped, then added as
/// db_a has it now): `(drops, adds)`. `init`'s db_b session adds them without checking
/// db_b's rows: db_a checked its own, and db_b's follow as the queued changes are applied.
fn foreign_key_changes(
    live: &TableSpec,
    captured: Option<&TableSpec>,
    central: &[(String, String)],
    synced: &[String],
    site: bool,
) -> (Vec<String>, Vec<String>) {
    let table = quote_ident(&live.name);
    let wanted: Vec<_> = live
        .foreign_keys
        .iter()
        .filter(|fk| synced.contains(&fk.parent_table))
        .collect();
    let mut present: Vec<&str> = central.iter().map(|(name, _)| name.as_str()).collect();
    let mut drops = Vec::new();
    // A key of db_b's that refers to another table than db_a's of its name does (its parent
    // renamed away in db_b, say) is dropped and made again.
    let elsewhere = central.iter().filter(|(name, parent)| {
        wanted
            .iter()
            .any(|fk| fk.name == *name && fk.parent_table != *parent)
    });
    for (name, _) in elsewhere {
        drops.push(format!(
            "ALTER TABLE {table} DROP FOREIGN KEY {}",
            quote_ident(name)
        ));
        present.retain(|n| n != name);
    }
    for old in captured.iter().flat_map(|c| &c.foreign_keys) {
        let kept = wanted.contains(&old);
        if !kept && present.contains(&old.name.as_str()) {
            drops.push(format!(
                "ALTER TABLE {table} DROP FOREIGN KEY {}",
                quote_ident(&old.name)
            ));
            present.retain(|name| *name != old.name);
        }
    }
    let adds = wanted
        .into_iter()
        .filter(|fk| !present.contains(&fk.name.as_str()))
        .map(|fk| {
            format!(
                "ALTER TABLE {table} ADD {}",
                foreign_key_definition(fk, site)
            )
        })
        .collect();
    (drops, adds)
}
