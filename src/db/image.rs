//! The SQL that writes a row image (in capture triggers, snapshots and `verify`) and the
//! placeholders that put an image's values back (in db_b). Both sides follow one table of
//! [`ValueClass`] encodings, so a value makes the round trip bit-exactly:
//!
//! | class | in the image | back in db_b |
//! | --- | --- | --- |
//! | Integer | JSON number | `?` |
//! | Decimal, Double, CastText (JSON, LONGTEXT, YEAR, INET6…) | `CAST(x AS CHAR)` | `?` |
//! | Float | `CAST(CAST(x AS DOUBLE) AS CHAR)` | `?` |
//! | Temporal (DATE, DATETIME, TIME), Text | `x` (a JSON string) | `?` |
//! | Timestamp | `CAST(UNIX_TIMESTAMP(x) AS CHAR)` | `?` bound as UTC text, zero kept zero |
//! | Binary (BLOB, VARBINARY, GEOMETRY…) | `HEX(x)` | `?` bound as the bytes (`UNHEX(?)` for odd text) |
//! | Bit | `HEX(x)` | `CAST(CONV(?, 16, 10) AS UNSIGNED)` |
//!
//! Text in a character set whose values do not all survive a trip through utf8mb4
//! ([`ColumnSpec::bytes_charset`]: sjis, cp1251, ascii…) travels as its bytes, named with
//! their set: `{"cp1251": "D0B8"}` in the image (`JSON_OBJECT('cp1251', HEX(x))`), hex inside
//! dbsync, `CONVERT(? USING cp1251)` with the bytes bound in db_b. An image says which set
//! its bytes are in, so bytes captured before the column moved to another set are never
//! read as that set's.

use std::borrow::Cow;

use chrono::{Datelike, Timelike};

use crate::db::{quote_ident, quote_literal};
use crate::domain::fits;
use crate::domain::table::{ColumnSpec, TableSpec, ValueClass, charset_of};

/// Whose values an expression reads: a trigger's `NEW`/`OLD` row, or the table's own
/// columns (in a `SELECT`).
#[derive(Debug, Clone, Copy)]
pub enum RowRef {
    New,
    Old,
    Stored,
}

/// How a trigger or a `SELECT` names `column` of `row`.
pub(crate) fn column_ref(row: RowRef, column: &str) -> String {
    match row {
        RowRef::New => format!("NEW.{}", quote_ident(column)),
        RowRef::Old => format!("OLD.{}", quote_ident(column)),
        RowRef::Stored => quote_ident(column),
    }
}

/// The column as an image spells it: text in utf8mb4 (`JSON_OBJECT` refuses to mix two
/// character sets that do not nest, say two ENUMs in sjis and cp1251, and every write of the
/// table would fail); an ENUM with an `''` member spells its error value apart from that
/// member ([`fits::ENUM_ERROR_SPELLING`]), a SET with one its values as numbers.
fn spelled_ref(column: &ColumnSpec, row: RowRef) -> String {
    let x = column_ref(row, &column.name);
    let utf8 = matches!(
        column.charset(),
        None | Some("utf8mb4" | "utf8mb3" | "utf8")
    );
    let text = if column.class == ValueClass::Text && !utf8 {
        format!("CONVERT({x} USING utf8mb4)")
    } else {
        x.clone()
    };
    if fits::spells_enum_error(&column.column_type) {
        format!("IF({x} + 0 = 0, CHAR(0 USING utf8mb4), {text})")
    } else if fits::spells_set_by_number(&column.column_type) {
        format!("CAST({x} + 0 AS CHAR)")
    } else {
        text
    }
}

/// The image text of one column's value.
pub fn value_expr(column: &ColumnSpec, row: RowRef) -> String {
    if let Some(charset) = column.bytes_charset() {
        let x = column_ref(row, &column.name);
        return format!("JSON_OBJECT({}, HEX({x}))", quote_literal(charset));
    }
    let x = spelled_ref(column, row);
    match column.class {
        ValueClass::Integer | ValueClass::Temporal { .. } | ValueClass::Text => x,
        ValueClass::Decimal { .. } | ValueClass::Double | ValueClass::CastText => {
            format!("CAST({x} AS CHAR)")
        }
        ValueClass::Float => format!("CAST(CAST({x} AS DOUBLE) AS CHAR)"),
        // Inside a trigger UNIX_TIMESTAMP of the zero TIMESTAMP is NULL: spell it 0.
        ValueClass::Timestamp { .. } => {
            format!("IF({x} = 0, '0', CAST(UNIX_TIMESTAMP({x}) AS CHAR))")
        }
        ValueClass::Binary | ValueClass::Bit => format!("HEX({x})"),
    }
}

/// `JSON_OBJECT('col', value, …)` over every column an image carries.
pub fn image_expr(spec: &TableSpec, row: RowRef) -> String {
    let pairs: Vec<String> = spec
        .image_columns()
        .map(|c| format!("{}, {}", quote_literal(&c.name), value_expr(c, row)))
        .collect();
    format!("JSON_OBJECT({})", pairs.join(", "))
}

/// A stored text column's value as utf8mb4 text; `None` for a column that holds no text.
/// CONVERT, not CAST: `CAST(… AS CHAR)` of a text whose utf8mb4 spelling passes
/// `max_allowed_packet` (a latin1 text of accented letters takes twice its size) is NULL.
pub fn text_of(column: &ColumnSpec) -> Option<String> {
    let text = matches!(column.class, ValueClass::Text | ValueClass::CastText)
        && column.collation.is_some()
        && column.bytes_charset().is_none();
    text.then(|| {
        format!(
            "CONVERT({} USING utf8mb4)",
            spelled_ref(column, RowRef::Stored)
        )
    })
}

/// `bytes` in upper-case hex, as the server's `HEX()` spells them in an image.
pub fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Whether an image's text of a binary value spells whole bytes in hex (an even number of
/// hex digits): such a value goes to db_b as its bytes, any other as text.
pub fn is_hex_bytes(text: &str) -> bool {
    text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The bytes an image's hex spells; `None` unless [`is_hex_bytes`] (the server's `UNHEX`
/// then decides).
pub fn bytes_of_hex(hex: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| char::from(b).to_digit(16);
    if !is_hex_bytes(hex) {
        return None;
    }
    hex.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some((digit(pair[0])? << 4 | digit(pair[1])?) as u8))
        .collect()
}

/// `MD5` of a stored row's image, the same on db_a and db_b for the same row. Text, JSON
/// and bytes enter as their own MD5: an image with a few MiB of them (JSON spells a control
/// character in six bytes) could pass `max_allowed_packet` (db_b's may be smaller than
/// db_a's), and the server would make it NULL — two different rows alike, or one row
/// different from itself.
pub fn digest_expr(spec: &TableSpec) -> String {
    let pairs: Vec<String> = spec
        .image_columns()
        .map(|c| {
            let x = column_ref(RowRef::Stored, &c.name);
            let value = match (c.class, text_of(c), c.bytes_charset()) {
                (ValueClass::Binary, _, _) => format!("MD5({x})"),
                // The bytes in db_a's set: db_b's column may be in a wider one (utf8mb4,
                // shared with other sites), whose value converted back must be the same.
                (_, _, Some(charset)) => format!("MD5(CONVERT({x} USING {charset}))"),
                (_, Some(text), _) => format!("MD5({text})"),
                (ValueClass::CastText, None, _) => {
                    format!("MD5({})", value_expr(c, RowRef::Stored))
                }
                _ => value_expr(c, RowRef::Stored),
            };
            format!("{}, {value}", quote_literal(&c.name))
        })
        .collect();
    format!("MD5(JSON_OBJECT({}))", pairs.join(", "))
}

/// `(record_id, record_key)` expressions for a queue row: an integer key is `record_id`,
/// any other key shape is the JSON array of its values in `record_key`.
pub fn key_exprs(spec: &TableSpec, row: RowRef) -> (String, String) {
    if spec.has_integer_key() {
        let id = spec
            .key_columns()
            .next()
            .map(|c| column_ref(row, &c.name))
            .unwrap_or_else(|| "NULL".to_string());
        (id, "NULL".to_string())
    } else {
        ("NULL".to_string(), key_array_expr(spec, row))
    }
}

/// `JSON_ARRAY(…)` of the key columns: the record's identity as text. A text column whose
/// collation calls different strings equal (`a`, `A`, `á `) contributes a SHA-256 of its
/// collation weight, so every spelling of one key is one record and a long key still fits
/// `record_key`; other columns their value.
pub fn key_array_expr(spec: &TableSpec, row: RowRef) -> String {
    let values: Vec<String> = spec
        .key_columns()
        .map(|c| identity_component(c, row))
        .collect();
    format!("JSON_ARRAY({})", values.join(", "))
}

fn identity_component(column: &ColumnSpec, row: RowRef) -> String {
    let x = column_ref(row, &column.name);
    // An ENUM with an `''` member holds two values whose text and weight are `''` (that
    // member, and the error value): its index tells them apart, and only them.
    if fits::spells_enum_error(&column.column_type) {
        return format!("CAST({x} + 0 AS CHAR)");
    }
    if column.compares_loosely() {
        let weight = format!("WEIGHT_STRING({x})");
        // PAD SPACE compares as if the shorter string had spaces added: trailing weights of
        // a space go (the weight, not the character: in a Unicode collation a no-break
        // space or an ideographic space weighs the same as a space).
        let weight = match column.collation.as_deref().and_then(space_weight) {
            Some(space) if column.pads_spaces() => format!("TRIM(TRAILING {space} FROM {weight})"),
            _ => weight,
        };
        format!("SHA2({weight}, 256)")
    } else if column.class == ValueClass::Text && column.bytes_charset().is_none() {
        // JSON_ARRAY keeps a latin1 value's bytes; the identity is UTF-8 text.
        format!("CONVERT({x} USING utf8mb4)")
    } else {
        value_expr(column, row)
    }
}

/// `WEIGHT_STRING` of a space in `collation`, as SQL; `None` for a name that is not a plain
/// collation identifier (it is pasted into the trigger).
fn space_weight(collation: &str) -> Option<String> {
    let plain = !collation.is_empty()
        && collation
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    let charset = charset_of(collation);
    plain.then(|| format!("WEIGHT_STRING(CONVERT(' ' USING {charset}) COLLATE {collation})"))
}

/// The SQL that turns one image value back into the column's value as text (in db_b, or in
/// a key bound on db_a), how many times it binds the value, and the value to bind. Binary
/// values in even hex go as bytes instead (`replica::push_value`).
pub fn placeholder<'v>(
    column: &ColumnSpec,
    value: Option<&'v str>,
) -> (&'static str, usize, Option<Cow<'v, str>>) {
    match column.class {
        ValueClass::Binary => ("UNHEX(?)", 1, value.map(Cow::Borrowed)),
        ValueClass::Bit => (
            "CAST(CONV(?, 16, 10) AS UNSIGNED)",
            1,
            value.map(Cow::Borrowed),
        ),
        // Epoch seconds, written as UTC text here: both pools' sessions are UTC, and the
        // server converting it per row (CAST … DECIMAL, FROM_UNIXTIME) cost as much as the
        // rest of a 12-column row. Text that is no epoch is left to the server as before.
        ValueClass::Timestamp { .. } => match value.map(utc_text_of_epoch) {
            Some(None) => (
                "IF(CAST(? AS DECIMAL(24,6)) = 0, '0000-00-00 00:00:00', FROM_UNIXTIME(CAST(? AS DECIMAL(24,6))))",
                2,
                value.map(Cow::Borrowed),
            ),
            Some(Some(text)) => ("?", 1, Some(Cow::Owned(text))),
            None => ("?", 1, None),
        },
        _ => ("?", 1, value.map(Cow::Borrowed)),
    }
}

/// `1735734000.123` → `2025-01-01 12:20:00.123` (UTC), the fraction kept digit for digit;
/// `0` (the zero TIMESTAMP, which FROM_UNIXTIME cannot produce) → `0000-00-00 00:00:00`.
/// `None` for anything else.
fn utc_text_of_epoch(epoch: &str) -> Option<String> {
    let (seconds, fraction) = match epoch.split_once('.') {
        Some((seconds, fraction)) => (seconds, Some(fraction)),
        None => (epoch, None),
    };
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(seconds, 12) || fraction.is_some_and(|f| !digits(f, 6)) {
        return None;
    }
    let seconds: i64 = seconds.parse().ok()?;
    let mut text = if seconds == 0 {
        if fraction.is_some_and(|f| f.bytes().any(|b| b != b'0')) {
            return None;
        }
        "0000-00-00 00:00:00".to_string()
    } else {
        let at = chrono::DateTime::from_timestamp(seconds, 0)?;
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        )
    };
    if let Some(fraction) = fraction {
        text.push('.');
        text.push_str(fraction);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::{bytes_of_hex, hex_upper, utc_text_of_epoch};

    #[test]
    fn image_hex_reads_back_as_its_bytes() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(bytes_of_hex(&hex_upper(&bytes)), Some(bytes));
        assert_eq!(bytes_of_hex("00ff"), Some(vec![0, 255]));
        assert_eq!(bytes_of_hex(""), Some(vec![]));
        // Left to the server's UNHEX, as before.
        assert_eq!(bytes_of_hex("ABC"), None);
        assert_eq!(bytes_of_hex("0G"), None);
    }

    #[test]
    fn epochs_become_utc_text_digit_for_digit() {
        let cases = [
            ("1735734000", Some("2025-01-01 12:20:00")),
            ("1735734000.123", Some("2025-01-01 12:20:00.123")),
            ("1.000001", Some("1970-01-01 00:00:01.000001")),
            ("2147483647.999999", Some("2038-01-19 03:14:07.999999")),
            ("0", Some("0000-00-00 00:00:00")),
            ("0.000", Some("0000-00-00 00:00:00.000")),
            ("0.5", None),
            ("", None),
            ("-1", None),
            ("1e9", None),
            ("12.", None),
            (".5", None),
            ("1.1234567", None),
            ("99999999999999", None),
        ];
        for (epoch, text) in cases {
            assert_eq!(utc_text_of_epoch(epoch).as_deref(), text, "{epoch:?}");
        }
    }
}
