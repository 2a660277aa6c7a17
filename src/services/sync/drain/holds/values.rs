//! The values of held changes that later changes are matched against, and how: as db_b's
//! collations may compare them (case and trailing spaces within printable ASCII; beyond it,
//! any value of a collated column), and a unique key by the part of each column it
//! compares.

use std::collections::{HashMap, HashSet};

use super::Image;
use crate::domain::table::{TableSpec, ValueClass};

/// A table and some of its columns (lower case: column names compare without case).
pub(super) type Columns = (String, Vec<String>);

/// Held values of some columns of a table, which later changes are matched against.
#[derive(Default)]
pub(super) struct HeldValues {
    /// The values, folded (see [`normalized`]).
    pub(super) folded: HashSet<Vec<String>>,
    /// Which of the columns compare by a collation's rules (text not in a `_bin` one).
    by_collation: Vec<bool>,
    /// Whether a held value of such a column has a character beyond printable ASCII. There
    /// collations part ways with folding and with each other (`ø` is `o` in one, `ü` is
    /// `y` or `ue` in others, `unicode_ci` weighs every emoji alike, some marks weigh
    /// nothing): any value of those columns may then equal it.
    unsure: bool,
}

impl HeldValues {
    pub(super) fn matches(&self, values: &[&str]) -> bool {
        !self.folded.is_empty()
            && (self.unsure || self.is_unsure(values) || self.folded.contains(&normalized(values)))
    }

    /// Whether a value of a column compared by collation has a character beyond printable
    /// ASCII (see [`HeldValues::unsure`]).
    fn is_unsure(&self, values: &[&str]) -> bool {
        values
            .iter()
            .zip(&self.by_collation)
            .any(|(value, collated)| {
                *collated && !value.bytes().all(|b| (b' '..=b'~').contains(&b))
            })
    }
}

/// How held values of some columns compare: which columns by a collation's rules, and
/// whether one holds text as its bytes in hex (sjis, cp1251…), which no folding of the hex
/// matches as db_b compares it: any value of those columns may then equal a held one.
pub(super) struct Comparison {
    pub(super) by_collation: Vec<bool>,
    pub(super) opaque: bool,
}

impl Comparison {
    pub(super) fn of<'c>(spec: &TableSpec, columns: impl IntoIterator<Item = &'c String>) -> Self {
        let columns: Vec<&String> = columns.into_iter().collect();
        Comparison {
            by_collation: by_collation(spec, columns.iter().copied()),
            opaque: columns.iter().any(|name| {
                spec.column(name)
                    .is_some_and(|c| c.bytes_charset().is_some())
            }),
        }
    }
}

/// Records `values` of `columns` of `table` in `map`, compared as `comparison` says.
pub(super) fn remember(
    map: &mut HashMap<Columns, HeldValues>,
    table: &str,
    columns: &[String],
    values: &[&str],
    comparison: Comparison,
) {
    let held = map.entry(columns_of(table, columns)).or_default();
    held.by_collation = comparison.by_collation;
    held.unsure |= comparison.opaque || held.is_unsure(values);
    held.folded.insert(normalized(values));
}

/// Which of `columns` of `spec` compare by a collation's rules beyond bytes and trailing
/// spaces: text in a collation that is not `_bin`.
pub(super) fn by_collation<'c>(
    spec: &TableSpec,
    columns: impl IntoIterator<Item = &'c String>,
) -> Vec<bool> {
    columns
        .into_iter()
        .map(|name| {
            spec.column(name).is_some_and(|c| {
                matches!(c.class, ValueClass::Text | ValueClass::CastText)
                    && c.collation
                        .as_deref()
                        .is_some_and(|co| !co.ends_with("_bin"))
            })
        })
        .collect()
}

/// One of a table's unique keys: its columns, and how much of each it compares.
pub(super) struct UniqueKey<'s> {
    spec: &'s TableSpec,
    /// Column name and prefix length (`UNIQUE (url(10))`: the first 10 characters, or
    /// bytes of a binary column).
    pub(super) parts: &'s [(String, Option<u32>)],
    /// The columns as [`super::Holds`] keeps their values: a prefix as `url(10)`, apart from the
    /// whole column that a foreign key may reference.
    pub(super) label: Vec<String>,
}

impl UniqueKey<'_> {
    /// Whether one of its columns is not in row images (a virtual generated column).
    pub(super) fn beyond_images(&self) -> bool {
        self.parts.iter().any(|(name, _)| {
            !self
                .spec
                .image_columns()
                .any(|c| c.name.eq_ignore_ascii_case(name))
        })
    }

    /// The part of each of its columns' values in `image` that the key compares.
    pub(super) fn values_in<'a>(&self, image: &Image<'a>) -> Option<Vec<&'a str>> {
        let names = self.parts.iter().map(|(name, _)| name);
        let values = image.values_of(names)?;
        Some(
            values
                .into_iter()
                .zip(self.parts)
                .map(|(value, (name, prefix))| match prefix {
                    None => value,
                    Some(length) => {
                        let binary = self.spec.column(name).is_some_and(|c| {
                            matches!(c.class, ValueClass::Binary | ValueClass::Bit)
                        });
                        prefix_of(value, *length, binary)
                    }
                })
                .collect(),
        )
    }
}

/// `spec`'s unique keys.
pub(super) fn unique_keys(spec: &TableSpec) -> impl Iterator<Item = UniqueKey<'_>> {
    spec.indexes
        .iter()
        .filter(|i| i.unique)
        .map(move |i| UniqueKey {
            spec,
            parts: &i.columns,
            label: i
                .columns
                .iter()
                .map(|(name, prefix)| match prefix {
                    Some(length) => format!("{name}({length})"),
                    None => name.clone(),
                })
                .collect(),
        })
}

/// The first `length` characters of `value`, or of the bytes a binary column's value
/// spells in hex (two digits a byte).
pub(super) fn prefix_of(value: &str, length: u32, binary: bool) -> &str {
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    let end = if binary {
        length.saturating_mul(2).min(value.len())
    } else {
        value
            .char_indices()
            .nth(length)
            .map_or(value.len(), |(at, _)| at)
    };
    value.get(..end).unwrap_or(value)
}

pub(super) fn columns_of(table: &str, columns: &[String]) -> Columns {
    (
        table.to_string(),
        columns.iter().map(|c| c.to_lowercase()).collect(),
    )
}

/// Values as db_b might compare them equal within printable ASCII: text collations may
/// ignore case and trailing spaces, so those are ignored here too (holding back one change
/// too many is harmless; too few lets a change take a value before the held one, which
/// then clashes). Beyond printable ASCII, see [`HeldValues::unsure`].
pub(super) fn normalized(values: &[&str]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim_end_matches(' ').to_lowercase())
        .collect()
}
