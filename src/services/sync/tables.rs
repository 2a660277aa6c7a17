//! The synced tables a run works with, and the check that they are still what `dbsync init`
//! captured: a column added, widened or dropped on db_a since then (or a table added to or
//! removed from `SYNC_TABLES`) stops the run as `schema_changed` before anything is applied.

use std::sync::Arc;

use sqlx::mysql::MySqlConnection;

use super::change::ImageReader;
use crate::db::catalog::{self, CatalogError};
use crate::db::schema::{self, triggers};
use crate::domain::table::TableSpec;

/// The captured definitions of the synced tables, looked up by name.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    specs: Vec<Arc<TableSpec>>,
    /// Aligned with `specs`.
    readers: Vec<ImageReader>,
}

impl Tables {
    pub fn new(specs: Vec<TableSpec>) -> Self {
        Tables {
            readers: specs.iter().map(ImageReader::new).collect(),
            specs: specs.into_iter().map(Arc::new).collect(),
        }
    }

    /// How to read the images of the table at `index` (from [`Tables::find`]).
    pub fn reader(&self, index: usize) -> &ImageReader {
        &self.readers[index]
    }

    /// Index and spec of a table by its name in a queue row.
    pub fn find(&self, name: &str) -> Option<(usize, &Arc<TableSpec>)> {
        self.specs.iter().enumerate().find(|(_, s)| s.name == name)
    }

    pub fn get(&self, index: usize) -> Option<&Arc<TableSpec>> {
        self.specs.get(index)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<TableSpec>> {
        self.specs.iter()
    }

    /// The definitions, borrowed, for code that takes `&[&TableSpec]`.
    pub fn specs(&self) -> Vec<&TableSpec> {
        self.specs.iter().map(|spec| &**spec).collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.specs.iter().map(|s| s.name.clone()).collect()
    }
}

/// Why a run must not apply anything until `dbsync init` has run again.
#[derive(Debug, thiserror::Error)]
pub enum SchemaProblem {
    /// A synced table is not as `init` left it; the words say what to run.
    #[error("{0}")]
    Changed(String),
    /// Capture triggers gone: writes went unqueued (the words say what to run).
    #[error("{0}")]
    Uncaptured(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl SchemaProblem {
    /// A change `init` follows: what changed, and to run it.
    fn changed(what: impl std::fmt::Display) -> Self {
        SchemaProblem::Changed(format!(
            "{what}; run `dbsync init` to update the capture triggers and db_b"
        ))
    }
}

/// What changed between a captured definition and the live one, in words; empty when the
/// capture is still right. Columns and key shape the images; indexes and foreign keys
/// decide which updates the trigger checks against the stored row (`UPDATE IGNORE`).
pub fn differences(captured: &TableSpec, live: &TableSpec) -> Vec<String> {
    let mut found = Vec::new();
    for column in &live.columns {
        match captured.column(&column.name) {
            None => found.push(format!("column `{}` was added", column.name)),
            Some(old) if old.column_type != column.column_type => found.push(format!(
                "column `{}` changed from {} to {}",
                column.name, old.column_type, column.column_type
            )),
            Some(old)
                if old.generated != column.generated
                    || old.on_update_now != column.on_update_now
                    || old.generated && old.definition != column.definition =>
            {
                found.push(format!("column `{}` changed its definition", column.name))
            }
            // A collation decides which keys are equal (and how identities are made).
            // Captures made before collations were recorded have none: not a change.
            Some(old) if old.collation.is_some() && old.collation != column.collation => found
                .push(format!(
                    "column `{}` changed its collation from {} to {}",
                    column.name,
                    old.collation.as_deref().unwrap_or_default(),
                    column.collation.as_deref().unwrap_or_default()
                )),
            Some(_) => {}
        }
    }
    for column in &captured.columns {
        if live.column(&column.name).is_none() {
            found.push(format!("column `{}` was dropped", column.name));
        }
    }
    if captured.key != live.key {
        found.push(format!(
            "the primary key changed from ({}) to ({})",
            captured.key.join(", "),
            live.key.join(", ")
        ));
    }
    let indexes = |spec: &TableSpec| {
        let mut all: Vec<String> = spec
            .indexes
            .iter()
            .map(|i| format!("{}{:?}{}", i.name, i.columns, i.unique))
            .chain(
                // Rules and parent too: db_b's copy of the key cascades or refuses by them.
                spec.foreign_keys.iter().map(|f| format!("{f:?}")),
            )
            .collect();
        all.sort();
        all
    };
    if indexes(captured) != indexes(live) {
        found.push("its indexes or foreign keys changed".to_string());
    }
    found
}

/// `names` that are not in `synced` (`SYNC_TABLES`), as words for the caller's refusal:
/// `"nope", "users " are not synced tables (SYNC_TABLES is users,orders)`.
pub fn not_synced<'a>(
    synced: &[String],
    names: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let unknown: Vec<String> = names
        .into_iter()
        .filter(|name| !synced.iter().any(|s| s == name))
        .map(|name| format!("{name:?}"))
        .collect();
    let verb = if unknown.len() == 1 {
        "is not a synced table"
    } else {
        "are not synced tables"
    };
    (!unknown.is_empty()).then(|| {
        format!(
            "{} {verb} (SYNC_TABLES is {})",
            unknown.join(", "),
            synced.join(",")
        )
    })
}

/// The captured definitions of `configured` tables, after checking that db_a still has
/// them as captured.
pub async fn load_checked(
    conn: &mut MySqlConnection,
    configured: &[String],
) -> Result<Tables, SchemaProblem> {
    let captured = schema::captured_specs(conn)
        .await?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|unreadable| SchemaProblem::changed(unreadable.to_string()))?;
    let captured_names: Vec<&str> = captured.iter().map(|s| s.name.as_str()).collect();
    for name in configured {
        if !captured_names.contains(&name.as_str()) {
            return Err(SchemaProblem::changed(format!(
                "SYNC_TABLES lists `{name}`, which `dbsync init` has not set up"
            )));
        }
    }
    // Its triggers still queue every change of it, and the run would park each one.
    if let Some(dropped) = captured.iter().find(|s| !configured.contains(&s.name)) {
        return Err(SchemaProblem::changed(format!(
            "`{}` is no longer in SYNC_TABLES, but `dbsync init` set it up and its triggers \
             still capture its changes",
            dropped.name
        )));
    }
    let names: Vec<&str> = captured.iter().map(|s| s.name.as_str()).collect();
    // A table renamed or dropped took its triggers along: say that, not "triggers missing".
    let existing = catalog::table_names(conn).await?;
    if let Some(gone) = names.iter().find(|n| !existing.iter().any(|e| e == *n)) {
        return Err(SchemaProblem::changed(format!(
            "table `{gone}` no longer exists on db_a (renamed or dropped): put it back, or take \
             it out of SYNC_TABLES"
        )));
    }
    let uncaptured = triggers::missing(conn, &names).await?;
    if !uncaptured.is_empty() {
        let list = uncaptured
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let resync: String = uncaptured.iter().map(|t| format!(" --table {t}")).collect();
        return Err(SchemaProblem::Uncaptured(format!(
            "the capture triggers of {list} are missing on db_a (a dump restored without \
             triggers, a trigger dropped — or DB_USER lacks the TRIGGER privilege to see \
             them): writes since then were not queued. Run `dbsync init` to put them back, \
             then `dbsync resync{resync}` to copy what they missed"
        )));
    }
    let mut specs = Vec::with_capacity(configured.len());
    for spec in captured {
        let live = match catalog::table_spec(conn, &spec.name).await {
            Ok(live) => live,
            Err(CatalogError::Database(err)) => return Err(err.into()),
            // `init` would refuse it as it is now, naming why.
            Err(other) => {
                return Err(SchemaProblem::Changed(format!(
                    "{other}; change the table back, or take it out of SYNC_TABLES and run `dbsync init`"
                )));
            }
        };
        let changes = differences(&spec, &live);
        if !changes.is_empty() {
            return Err(SchemaProblem::changed(format!(
                "table `{}` changed on db_a since `dbsync init`: {}",
                spec.name,
                changes.join("; ")
            )));
        }
        specs.push(spec);
    }
    // Keep SYNC_TABLES order: parents are usually listed before their children.
    specs.sort_by_key(|s| configured.iter().position(|c| *c == s.name));
    Ok(Tables::new(specs))
}

/// After a run's copy: whether a table's definition changed while it was copied (say a
/// column widened): its rows may have been written cut to the old definition, db_b taking
/// them in a permissive mode. Such tables' copies start over, to run once `init` has
/// followed the change; `Some(why the run stops)`.
pub async fn changed_while_copied(
    conn: &mut MySqlConnection,
    configured: &[String],
    tables: &Tables,
) -> Result<Option<String>, sqlx::Error> {
    let problem = match load_checked(conn, configured).await {
        Ok(_) => return Ok(None),
        Err(SchemaProblem::Database(err)) => return Err(err),
        Err(problem) => problem,
    };
    let mut restarted = Vec::new();
    for spec in tables.specs() {
        match catalog::table_spec(conn, &spec.name).await {
            Ok(live) if differences(spec, &live).is_empty() => {}
            Err(CatalogError::Database(err)) => return Err(err),
            _ => {
                let estimate = crate::db::snapshot::estimated_rows(conn, &spec.name).await?;
                crate::db::load::restart_table(conn, &spec.name, estimate).await?;
                restarted.push(format!("`{}`", spec.name));
            }
        }
    }
    let again = if restarted.is_empty() {
        String::new()
    } else {
        format!(
            "; the copy of {} starts over after it, as the change came while it was copied",
            restarted.join(", ")
        )
    };
    Ok(Some(format!("{problem}{again}; nothing was applied")))
}
