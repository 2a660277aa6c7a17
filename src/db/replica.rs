//! SQL on db_b: writing row images (multi-row upserts and deletes of any synced table); the
//! ledger and watermark written beside them are [`super::ledger`]'s. Table and column names
//! come from a [`TableSpec`] (read from `information_schema`) and are quoted; every value is
//! bound.

use sqlx::mysql::{MySql, MySqlArguments, MySqlConnection};
use sqlx::{Arguments, QueryBuilder};

use crate::db::image::{self, placeholder};
use crate::db::packet::{image_bytes, statement_budget, statement_chunks, values_bytes};
use crate::db::schema::central::SITE_COLUMN;
use crate::db::{quote_ident, snapshot};
use crate::domain::fits;
use crate::domain::table::{ColumnSpec, TableSpec, ValueClass};

/// Image values of one row, aligned with [`TableSpec::image_columns`]; `None` is SQL NULL.
pub type Values = [Option<String>];

/// MySQL allows 65 535 placeholders a statement; stay well below.
const MAX_PLACEHOLDERS: usize = 30_000;

pub fn push_value(query: &mut QueryBuilder<MySql>, column: &ColumnSpec, value: &Option<String>) {
    // An ENUM's error value as the number 0: as text, any string a collation ignores (NUL,
    // under `unicode_ci`) would match the `''` member instead.
    if value.as_deref() == Some(fits::ENUM_ERROR_SPELLING)
        && fits::spells_enum_error(&column.column_type)
    {
        query.push_bind(0_i64);
        return;
    }
    // A SET's number (one with an `''` member, see `fits::spells_set_by_number`).
    if fits::spells_set_by_number(&column.column_type)
        && let Some(number) = value.as_deref().and_then(|v| v.parse::<u64>().ok())
    {
        query.push_bind(number);
        return;
    }
    // Bytes are bound as bytes: the server's UNHEX of text twice as long cost more.
    if column.class == ValueClass::Binary
        && let Some(bytes) = value.as_deref().and_then(image::bytes_of_hex)
    {
        query.push_bind(bytes);
        return;
    }
    // Text in a set whose values do not survive utf8mb4: its bytes, read as that set's (db_b's
    // column may be in a wider set, which then gets them converted).
    // NULL too goes through CONVERT: one statement text for every row of a batch (a new text
    // is a new prepare on db_b, and rows with and without NULLs alternate).
    if let Some(charset) = column.bytes_charset() {
        match value.as_deref().map(image::bytes_of_hex) {
            // Not hex: checked away before; left to the text path below.
            Some(None) => {}
            bytes => {
                query.push("CONVERT(");
                query.push_bind(bytes.flatten());
                query.push(format!(" USING {charset})"));
                return;
            }
        }
    }
    let (sql, binds, bound) = placeholder(column, value.as_deref());
    if sql == "?" {
        query.push_bind(bound);
        return;
    }
    let mut parts = sql.split('?');
    if let Some(head) = parts.next() {
        query.push(head);
    }
    for (i, part) in parts.enumerate() {
        if i < binds {
            query.push_bind(bound.as_deref());
        }
        query.push(part);
    }
}

/// Inserts or overwrites rows with exactly these images (the columns marked in `present`),
/// in order. When the table has unique keys besides the primary key, the first assignment
/// of `ON DUPLICATE KEY UPDATE` is a guard: a row that collides with a *different* row on
/// a unique key (another user's email) evaluates a subquery returning two rows, an error
/// in any `sql_mode` (1242) — a clash is reported instead of silently overwriting the other
/// row. `VALUES()` is deprecated in MySQL 8.0.20+ but works there and on MariaDB.
/// Statements stay within `packet` (see [`crate::db::packet::packet_limit`]); a row too
/// big for any is the caller's to set apart (see [`crate::db::packet::too_big`]).
pub async fn upsert_rows(
    conn: &mut MySqlConnection,
    spec: &TableSpec,
    present: &[bool],
    rows: &[&Values],
    site: Option<&str>,
    packet: usize,
) -> Result<(), sqlx::Error> {
    write_rows(conn, spec, present, rows, site, Write::Upsert, packet).await
}

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `INSERT … ON DUPLICATE KEY UPDATE` with the clash guard (replaying changes).
    Upsert,
    /// `REPLACE`: a row holding one of the new row's unique values is removed first (the
    /// initial load, where db_a's snapshot is the truth for every unique value).
    Replace,
}

/// Writes rows as `mode` says; see [`upsert_rows`].
pub async fn write_rows(
    conn: &mut MySqlConnection,
    spec: &TableSpec,
    present: &[bool],
    rows: &[&Values],
    site: Option<&str>,
    mode: Write,
    packet: usize,
) -> Result<(), sqlx::Error> {
    let columns: Vec<(usize, &ColumnSpec)> = spec
        .image_columns()
        .enumerate()
        .filter(|(i, _)| present.get(*i).copied().unwrap_or(false))
        .collect();
    let per_row = columns.len() * 2 + 1;
    let budget = statement_budget(packet);
    let sized: Vec<(&&Values, usize)> = rows
        .iter()
        .map(|row| (row, image_bytes(spec, row)))
        .collect();
    for chunk in statement_chunks(&sized, MAX_PLACEHOLDERS / per_row, budget, |(_, size)| {
        *size
    }) {
        let verb = match mode {
            Write::Upsert => "INSERT INTO",
            Write::Replace => "REPLACE INTO",
        };
        // Sized up front: grown value by value, the buffers were copied again and again.
        let values = chunk.len() * (columns.len() + usize::from(site.is_some()));
        let mut arguments = MySqlArguments::default();
        arguments.reserve(values, chunk.iter().map(|(_, size)| size).sum());
        let mut sql = String::with_capacity(256 + columns.len() * 48 + values * 3);
        sql.push_str(&format!("{verb} {} (", quote_ident(&spec.name)));
        let mut query = QueryBuilder::<MySql>::with_arguments(sql, arguments);
        let mut names: Vec<String> = site.iter().map(|_| quote_ident(SITE_COLUMN)).collect();
        names.extend(columns.iter().map(|(_, c)| quote_ident(&c.name)));
        query.push(names.join(", ")).push(") VALUES ");
        for (r, (row, _)) in chunk.iter().enumerate() {
            query.push(if r == 0 { "(" } else { ", (" });
            if let Some(site) = site {
                query.push_bind(site).push(", ");
            }
            for (n, (i, column)) in columns.iter().enumerate() {
                if n > 0 {
                    query.push(", ");
                }
                match row.get(*i) {
                    Some(value) => push_value(&mut query, column, value),
                    None => {
                        query.push("NULL");
                    }
                }
            }
            query.push(")");
        }
        if mode == Write::Replace {
            query.build().execute(&mut *conn).await?;
            continue;
        }
        query.push(" ON DUPLICATE KEY UPDATE ");
        let mut assignments: Vec<String> = Vec::new();
        if spec.has_unique_secondary_key() {
            let mut key: Vec<String> = site.iter().map(|_| SITE_COLUMN.to_string()).collect();
            key.extend(spec.key.iter().cloned());
            let guard = quote_ident(&key[0]);
            let same: Vec<String> = key
                .iter()
                .map(|k| format!("{0} <=> VALUES({0})", quote_ident(k)))
                .collect();
            assignments.push(format!(
                "{guard} = IF({}, {guard}, (SELECT 1 UNION ALL SELECT 2))",
                same.join(" AND ")
            ));
        }
        for (_, column) in columns.iter().filter(|(_, c)| !spec.is_key_column(&c.name)) {
            let name = quote_ident(&column.name);
            assignments.push(format!("{name} = VALUES({name})"));
        }
        if assignments.is_empty() {
            let first = quote_ident(&spec.key[0]);
            assignments.push(format!("{first} = {first}"));
        }
        query.push(assignments.join(", "));
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes rows by key (`keys[i]` holds the key column values in key order); keys already
/// missing are fine (a replayed delete). Statements stay within db_b's `packet` limit.
pub async fn delete_rows(
    conn: &mut MySqlConnection,
    spec: &TableSpec,
    keys: &[&Values],
    site: Option<&str>,
    packet: usize,
) -> Result<(), sqlx::Error> {
    let key_columns: Vec<&ColumnSpec> = spec.key_columns().collect();
    let per_row = key_columns.len() * 2;
    let max_rows = MAX_PLACEHOLDERS / per_row.max(1);
    let budget = statement_budget(packet);
    for chunk in statement_chunks(keys, max_rows, budget, |key| values_bytes(key)) {
        let mut query =
            QueryBuilder::<MySql>::new(format!("DELETE FROM {} WHERE ", quote_ident(&spec.name)));
        if let Some(site) = site {
            query
                .push(quote_ident(SITE_COLUMN))
                .push(" = ")
                .push_bind(site)
                .push(" AND ");
        }
        push_key_match(&mut query, &key_columns, chunk);
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// `(k IN (…))` for a one-column key, `((k1 = … AND k2 = …) OR …)` for a composite one.
pub fn push_key_match(
    query: &mut QueryBuilder<MySql>,
    key_columns: &[&ColumnSpec],
    keys: &[&Values],
) {
    if let [column] = key_columns {
        query
            .push("(")
            .push(quote_ident(&column.name))
            .push(" IN (");
        for (n, key) in keys.iter().enumerate() {
            if n > 0 {
                query.push(", ");
            }
            if let Some(value) = key.first() {
                push_value(query, column, value);
            }
        }
        query.push("))");
        return;
    }
    query.push("(");
    for (n, key) in keys.iter().enumerate() {
        query.push(if n == 0 { "(" } else { " OR (" });
        for (i, column) in key_columns.iter().enumerate() {
            if i > 0 {
                query.push(" AND ");
            }
            query.push(quote_ident(&column.name)).push(" = ");
            if let Some(value) = key.get(i) {
                push_value(query, column, value);
            }
        }
        query.push(")");
    }
    query.push(")");
}

/// A db_b row holding one of an image's unique values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    /// Which unique key, which value, which row, as a sentence (`email 'a@x.io' is
    /// already used by users row id=999 in db_b`).
    pub sentence: String,
    /// The holding row's record identity, as the ledger keys it.
    pub holder: String,
}

/// For an image of record `record` db_b refused with a unique-key clash: the first unique
/// key whose value another db_b row holds. `None` when no other row holds any of the
/// image's unique values.
pub async fn find_clash(
    conn: &mut MySqlConnection,
    spec: &TableSpec,
    record: &str,
    values: &Values,
    present: &[bool],
    site: Option<&str>,
) -> Result<Option<Clash>, sqlx::Error> {
    let columns: Vec<&ColumnSpec> = spec.image_columns().collect();
    let value_of = |name: &str| {
        let at = columns.iter().position(|c| c.name == name)?;
        if !present.get(at).copied().unwrap_or(false) {
            return None;
        }
        values.get(at).cloned().flatten().map(|v| (columns[at], v))
    };
    for index in spec.indexes.iter().filter(|i| i.unique) {
        // A unique key with a NULL in it never clashes.
        let parts: Option<Vec<(&ColumnSpec, String)>> = index
            .columns
            .iter()
            .map(|(name, _)| value_of(name))
            .collect();
        let Some(parts) = parts else { continue };
        let Some((holder, shown_key)) = holder_of(conn, spec, &parts, site).await? else {
            continue;
        };
        if holder == record {
            continue;
        }
        let shown: Vec<String> = parts
            .iter()
            .map(|(c, v)| format!("{} {:?}", c.name, v.chars().take(100).collect::<String>()))
            .collect();
        return Ok(Some(Clash {
            sentence: format!(
                "clashes on unique key {}: {} is already used by {} row {shown_key} in db_b",
                index.name,
                shown.join(", "),
                spec.name,
            ),
            holder,
        }));
    }
    Ok(None)
}

/// The record identity and the key (`id=999`) of the db_b row holding these unique values,
/// if one does.
async fn holder_of(
    conn: &mut MySqlConnection,
    spec: &TableSpec,
    parts: &[(&ColumnSpec, String)],
    site: Option<&str>,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let key_text: Vec<String> = std::iter::once(snapshot::identity_expr(spec))
        .chain(spec.key_columns().map(|c| {
            format!(
                "CAST({} AS CHAR)",
                image::value_expr(c, image::RowRef::Stored)
            )
        }))
        .collect();
    let mut query = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM {} WHERE TRUE",
        key_text.join(", "),
        quote_ident(&spec.name)
    ));
    if let Some(site) = site {
        query
            .push(" AND ")
            .push(quote_ident(SITE_COLUMN))
            .push(" = ")
            .push_bind(site);
    }
    let bound: Vec<Option<String>> = parts.iter().map(|(_, v)| Some(v.clone())).collect();
    for ((column, _), value) in parts.iter().zip(&bound) {
        query
            .push(" AND ")
            .push(quote_ident(&column.name))
            .push(" = ");
        push_value(&mut query, column, value);
    }
    query.push(" LIMIT 1");
    let Some(row) = query.build().fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let identity: Option<String> = sqlx::Row::try_get(&row, 0)?;
    let mut key = Vec::new();
    for (i, column) in spec.key_columns().enumerate() {
        let value: Option<String> = sqlx::Row::try_get(&row, i + 1)?;
        key.push(format!(
            "{}={}",
            column.name,
            value.unwrap_or_else(|| "NULL".into())
        ));
    }
    Ok(Some((identity.unwrap_or_default(), key.join(", "))))
}

/// Whether this session fails at once on a lock someone else holds — a row's, or a whole
/// table's (`LOCK TABLES`, an `ALTER`) — or waits as db_b sessions do
/// ([`super::CENTRAL_LOCK_WAIT_SECONDS`], [`super::CENTRAL_TABLE_LOCK_WAIT_SECONDS`]).
pub async fn wait_for_locks(conn: &mut MySqlConnection, wait: bool) -> Result<(), sqlx::Error> {
    let (row, table) = match wait {
        true => (
            super::CENTRAL_LOCK_WAIT_SECONDS,
            super::CENTRAL_TABLE_LOCK_WAIT_SECONDS,
        ),
        false => (0, 0),
    };
    super::set_lock_waits(conn, row, table).await
}

/// Checks that db_b answers a query.
pub async fn ping(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(conn).await?;
    Ok(())
}
