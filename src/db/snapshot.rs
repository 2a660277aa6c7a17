//! Reading a synced table in key order, a range at a time, on either database: the rows'
//! identities and image values (for the initial load) or digests of their images (for
//! `verify`). Keys are compared by the server in the column's own order and collation, so
//! both databases agree on what a range holds.

use sqlx::mysql::{MySql, MySqlConnection, MySqlRow};
use sqlx::{QueryBuilder, Row};

use crate::db::image::{self, RowRef};
use crate::db::packet::{statement_budget, statement_chunks, values_bytes};
use crate::db::replica::{Values, push_key_match, push_value};
use crate::db::schema::central::SITE_COLUMN;
use crate::db::{quote_ident, row_size};
use crate::domain::table::{ColumnSpec, TableSpec, ValueClass};

/// One row: its identity (the queue's record key text), its key values and either its
/// image values or its image digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRow {
    pub identity: String,
    pub key: Vec<Option<String>>,
    pub body: RowBody,
}

impl KeyedRow {
    /// A key as a person reads it: the number of a one-integer key, else a JSON array of the
    /// values (the queue's `record_key` may hold a hash for a case-insensitive text key).
    pub fn shown_key(&self, spec: &TableSpec) -> String {
        let values: Vec<serde_json::Value> = spec
            .key_columns()
            .zip(&self.key)
            .map(|(column, value)| match value {
                None => serde_json::Value::Null,
                Some(text) if column.class == ValueClass::Integer => text
                    .parse::<serde_json::Number>()
                    .map(serde_json::Value::Number)
                    .unwrap_or_else(|_| serde_json::Value::String(text.clone())),
                Some(text) => serde_json::Value::String(text.clone()),
            })
            .collect();
        match values.as_slice() {
            [one @ serde_json::Value::Number(_)] => one.to_string(),
            _ => serde_json::Value::Array(values).to_string(),
        }
    }

    /// About the bytes its values take.
    pub fn bytes(&self) -> usize {
        match &self.body {
            RowBody::Values(values) => crate::db::packet::values_bytes(values),
            RowBody::Digest(_) => 16,
            RowBody::KeyOnly | RowBody::Size(_) => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowBody {
    /// Image values aligned with [`TableSpec::image_columns`].
    Values(Vec<Option<String>>),
    /// MD5 of the row image.
    Digest(Option<String>),
    /// Nothing but the key was read.
    KeyOnly,
    /// The row's [`row_size::size_expr`]: characters of its text and bytes of its binary values, in
    /// the columns that can be wide.
    Size(u64),
}

/// What to read of each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Values,
    Digest,
    /// The identity and the key alone.
    Keys,
    /// The identity, the key and the row's size ([`RowBody::Size`]).
    Sizes,
}

/// A key range read.
pub struct Range<'a> {
    pub spec: &'a TableSpec,
    /// Rows with a key above this one (all from the start when `None`).
    pub after: Option<&'a Values>,
    /// Rows with a key at or below this one (to the end when `None`).
    pub up_to: Option<&'a Values>,
    /// At most this many rows (all when `None`).
    pub limit: Option<u32>,
    /// Only this site's rows (db_b with `SITE_ID`).
    pub site: Option<&'a str>,
    pub read: Read,
    /// `LOCK IN SHARE MODE`: wait for writers of these rows to commit, and keep them from
    /// changing until the reading transaction ends.
    pub lock: bool,
}

/// The identity text of a stored row: the integer key, or the JSON array of the key values
/// (the same text the capture triggers write as `record_key`).
pub fn identity_expr(spec: &TableSpec) -> String {
    if spec.has_integer_key() {
        let key = spec
            .key_columns()
            .next()
            .map(|c| quote_ident(&c.name))
            .unwrap_or_default();
        format!("CAST({key} AS CHAR)")
    } else {
        image::key_array_expr(spec, RowRef::Stored)
    }
}

fn text_expr(column: &ColumnSpec) -> String {
    if let Some(charset) = column.bytes_charset() {
        return format!(
            "HEX(CONVERT({} USING {charset}))",
            quote_ident(&column.name)
        );
    }
    image::text_of(column).unwrap_or_else(|| {
        format!(
            "CAST({} AS CHAR)",
            image::value_expr(column, RowRef::Stored)
        )
    })
}

/// `AND key > bound` in the key's order: `(k1 > ?) OR (k1 = ? AND k2 > ?) OR …`; `above =
/// false` gives `AND key <= bound` as `NOT (key > bound)`.
pub fn push_key_bound(
    query: &mut QueryBuilder<MySql>,
    key_columns: &[&ColumnSpec],
    bound: &Values,
    above: bool,
) {
    query.push(if above { " AND (" } else { " AND NOT (" });
    for i in 0..key_columns.len() {
        query.push(if i == 0 { "(" } else { " OR (" });
        for (j, column) in key_columns.iter().enumerate().take(i + 1) {
            if j > 0 {
                query.push(" AND ");
            }
            query.push(quote_ident(&column.name));
            query.push(if j == i { " > " } else { " = " });
            if let Some(value) = bound.get(j) {
                push_value(query, column, value);
            }
        }
        query.push(")");
    }
    query.push(")");
}

/// Reads a key range in key order.
pub async fn read_range(
    conn: &mut MySqlConnection,
    range: &Range<'_>,
) -> Result<Vec<KeyedRow>, sqlx::Error> {
    let spec = range.spec;
    let key_columns: Vec<&ColumnSpec> = spec.key_columns().collect();
    let (mut query, raw) = select_rows(spec, range.read, range.site);
    if let Some(after) = range.after {
        push_key_bound(&mut query, &key_columns, after, true);
    }
    if let Some(up_to) = range.up_to {
        push_key_bound(&mut query, &key_columns, up_to, false);
    }
    let order: Vec<String> = key_columns.iter().map(|c| quote_ident(&c.name)).collect();
    query.push(" ORDER BY ").push(order.join(", "));
    if let Some(limit) = range.limit {
        query.push(" LIMIT ").push_bind(limit);
    }
    if range.lock {
        query.push(" LOCK IN SHARE MODE");
    }
    let rows = query.build().fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| keyed_row(row, spec, range.read, &raw))
        .collect()
}

/// The image values of the rows with these keys (in no particular order), in statements
/// within db_b's `packet` limit.
pub async fn read_keys(
    conn: &mut MySqlConnection,
    spec: &TableSpec,
    keys: &[&Values],
    site: Option<&str>,
    packet: usize,
) -> Result<Vec<KeyedRow>, sqlx::Error> {
    let key_columns: Vec<&ColumnSpec> = spec.key_columns().collect();
    let mut rows = Vec::with_capacity(keys.len());
    let budget = statement_budget(packet);
    for part in statement_chunks(keys, KEYS_PER_READ, budget, |key| values_bytes(key)) {
        let (mut query, raw) = select_rows(spec, Read::Values, site);
        query.push(" AND ");
        push_key_match(&mut query, &key_columns, part);
        for row in query.build().fetch_all(&mut *conn).await? {
            rows.push(keyed_row(&row, spec, Read::Values, &raw)?);
        }
    }
    Ok(rows)
}

/// Keys one [`read_keys`] statement looks up at most.
const KEYS_PER_READ: usize = 1000;

/// `SELECT identity, key…, what `read` asks FROM table WHERE TRUE [AND site_id = ?]`, and
/// which image columns come as bytes.
fn select_rows(
    spec: &TableSpec,
    read: Read,
    site: Option<&str>,
) -> (QueryBuilder<MySql>, Vec<bool>) {
    let mut select = vec![identity_expr(spec)];
    select.extend(spec.key_columns().map(text_expr));
    // Bytes come as they are and are spelled in hex here: the server's HEX() of a value
    // over half of `max_allowed_packet` would be NULL, and the load would copy a NULL.
    // The column itself, not a CAST of it (NULL past `max_allowed_packet` too: a restored
    // BLOB bigger than that would be copied as NULL); only a GEOMETRY is CAST, to come as
    // its bytes.
    let raw: Vec<bool> = match read {
        Read::Values => spec
            .image_columns()
            .map(|c| c.class == ValueClass::Binary || c.bytes_charset().is_some())
            .collect(),
        Read::Digest | Read::Keys | Read::Sizes => Vec::new(),
    };
    match read {
        Read::Values => select.extend(spec.image_columns().zip(&raw).map(|(c, raw)| {
            // Text is sent converted to the session's utf8mb4: text that travels as bytes
            // comes as its bytes in db_a's set (db_b's column may be in a wider one).
            match (*raw, c.is_geometry(), c.bytes_charset()) {
                (true, _, Some(charset)) => format!(
                    "CAST(CONVERT({} USING {charset}) AS BINARY)",
                    quote_ident(&c.name)
                ),
                (true, true, None) => format!("CAST({} AS BINARY)", quote_ident(&c.name)),
                (true, false, None) => quote_ident(&c.name),
                (false, _, _) => text_expr(c),
            }
        })),
        Read::Digest => select.push(image::digest_expr(spec)),
        Read::Keys => {}
        Read::Sizes => select.push(row_size::size_expr(spec)),
    }
    let mut query = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM {} WHERE TRUE",
        select.join(", "),
        quote_ident(&spec.name)
    ));
    if let Some(site) = site {
        query
            .push(" AND ")
            .push(quote_ident(SITE_COLUMN))
            .push(" = ")
            .push_bind(site);
    }
    (query, raw)
}

/// A row of [`read_range`]; `raw[i]` marks the image columns read as bytes.
fn keyed_row(
    row: &MySqlRow,
    spec: &TableSpec,
    read: Read,
    raw: &[bool],
) -> Result<KeyedRow, sqlx::Error> {
    let key_len = spec.key.len();
    // The table's column read at `i` (after the identity, the key, then the image).
    let column_at = |i: usize| {
        spec.key_columns()
            .chain(spec.image_columns())
            .nth(i - 1)
            .map_or("", |c| c.name.as_str())
    };
    let identity: Option<String> = row.try_get(0)?;
    let text = |i: usize| -> Result<Option<String>, sqlx::Error> {
        let bytes: Option<Vec<u8>> = row.try_get(i)?;
        bytes.map(String::from_utf8).transpose().map_err(|_| {
            sqlx::Error::Decode(
                format!(
                    "the row {} holds in column `{}` a value that is not UTF-8 text (such as CESU-8, written by an old client), which cannot be copied; correct it in db_a",
                    identity.as_deref().unwrap_or_default(),
                    column_at(i)
                )
                .into(),
            )
        })
    };
    let key = (1..=key_len).map(text).collect::<Result<Vec<_>, _>>()?;
    let value = |i: usize, raw: bool| -> Result<Option<String>, sqlx::Error> {
        if raw {
            let bytes: Option<Vec<u8>> = row.try_get(i)?;
            Ok(bytes.map(|b| image::hex_upper(&b)))
        } else {
            text(i)
        }
    };
    let body = match read {
        Read::Values => RowBody::Values(
            (key_len + 1..row.len())
                .zip(raw.iter().copied().chain(std::iter::repeat(false)))
                .map(|(i, raw)| value(i, raw))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Read::Digest => RowBody::Digest(row.try_get(key_len + 1)?),
        Read::Keys => RowBody::KeyOnly,
        Read::Sizes => RowBody::Size(
            row.try_get::<Option<u64>, _>(key_len + 1)?
                .unwrap_or_default(),
        ),
    };
    Ok(KeyedRow {
        identity: identity.unwrap_or_default(),
        key,
        body,
    })
}

/// The server's estimate of a table's row count (for progress; may be off by a lot).
pub async fn estimated_rows(conn: &mut MySqlConnection, table: &str) -> Result<i64, sqlx::Error> {
    let rows: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(TABLE_ROWS AS SIGNED) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_optional(conn)
    .await?
    .flatten();
    Ok(rows.unwrap_or(0))
}
