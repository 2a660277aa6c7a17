//! One image value checked against its column and turned into the text bound in db_b: a
//! value the server would round, clamp or misread is refused here instead.

use serde_json::Value;

use super::short;
use crate::domain::fits::Fit;
use crate::domain::table::{ColumnSpec, ValueClass};

/// One image value as the text bound in db_b, checked against its column.
pub(super) fn json_value(
    value: Value,
    column: &ColumnSpec,
    fit: &Fit,
) -> Result<Option<String>, String> {
    // Only integer columns are written as JSON numbers by the triggers; every other value
    // is a JSON string (its exact text), so a number there means a hand-made image.
    let text = match value {
        Value::Null if !column.nullable => {
            return Err(format!(
                "unreadable payload: {} is NULL but the column is NOT NULL",
                column.name
            ));
        }
        Value::Null => return Ok(None),
        Value::Object(map) if column.bytes_charset().is_some() => {
            return bytes_value(map, column, fit);
        }
        Value::String(_) if column.bytes_charset().is_some() => {
            return Err(format!(
                "unreadable payload: {} holds text, where a trigger of this version writes its bytes; the change was captured by an older version's trigger: copy the table again (`dbsync resync --table …`)",
                column.name
            ));
        }
        Value::Object(map) => return Err(moved_charset(&map, column)),
        Value::String(s) => s,
        Value::Number(n) if column.class == ValueClass::Integer && (n.is_i64() || n.is_u64()) => {
            n.to_string()
        }
        other => {
            let expected = if column.class == ValueClass::Integer {
                "an integer"
            } else {
                "a JSON string"
            };
            return Err(format!(
                "unreadable payload: {} holds {}, not {expected}",
                column.name,
                short(&other.to_string())
            ));
        }
    };
    check_value(&text, column)?;
    fit.check(&text).map_err(|takes| {
        format!(
            "unreadable payload: {} {:?} does not fit (the column takes {takes})",
            column.name,
            short(&text)
        )
    })?;
    Ok(Some(text))
}

/// A text value a trigger wrote as its bytes in its character set (`{"cp1251": "D0B8"}`):
/// the hex, when the set is still the column's.
fn bytes_value(
    map: serde_json::Map<String, Value>,
    column: &ColumnSpec,
    fit: &Fit,
) -> Result<Option<String>, String> {
    if map.len() != 1
        || !map
            .keys()
            .all(|set| Some(set.as_str()) == column.bytes_charset())
    {
        return Err(moved_charset(&map, column));
    }
    let hex = match map
        .into_iter()
        .next()
        .map_or(Value::Null, |(_, value)| value)
    {
        Value::String(hex) => hex,
        Value::Null if column.nullable => return Ok(None),
        Value::Null => {
            return Err(format!(
                "unreadable payload: {} is NULL but the column is NOT NULL",
                column.name
            ));
        }
        other => {
            return Err(format!(
                "unreadable payload: {} holds {}, not hex bytes",
                column.name,
                short(&other.to_string())
            ));
        }
    };
    if !crate::db::image::is_hex_bytes(&hex) {
        return Err(format!(
            "unreadable payload: {} {:?} is not hex bytes",
            column.name,
            short(&hex)
        ));
    }
    fit.check(&hex).map_err(|takes| {
        format!(
            "unreadable payload: {} does not fit (the column takes {takes})",
            column.name
        )
    })?;
    Ok(Some(hex))
}

/// Why an image's bytes in one character set cannot be applied to `column`: it is in
/// another set now (its changes captured before that are not readable as the new set's).
fn moved_charset(map: &serde_json::Map<String, Value>, column: &ColumnSpec) -> String {
    let sets: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
    format!(
        "unreadable payload: {} holds bytes in {}, but the column is in {} now; a change captured before the column changed cannot be applied: copy the table again (`dbsync resync --table …`)",
        column.name,
        short(&sets.join(", ")),
        column.charset().unwrap_or("no character set")
    )
}

/// Refuses a value the server would round or misread instead of rejecting: decimals with
/// too many digits, text where a number or hex bytes belong.
fn check_value(text: &str, column: &ColumnSpec) -> Result<(), String> {
    let bad = |what: &str| {
        Err(format!(
            "unreadable payload: {} {:?} is not {what}",
            column.name,
            short(text)
        ))
    };
    match column.class {
        ValueClass::Integer => {
            if text.parse::<i128>().is_err() {
                return bad("an integer");
            }
        }
        ValueClass::Decimal { precision, scale } => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
            let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if whole.is_empty() || !numeric(whole) || !numeric(fraction) {
                return bad("a decimal number");
            }
            let whole_digits = whole.trim_start_matches('0').len() as u32;
            if fraction.len() as u32 > scale || whole_digits > precision.saturating_sub(scale) {
                return bad(&format!(
                    "a DECIMAL({precision},{scale}) value (it would be rounded)"
                ));
            }
        }
        ValueClass::Binary | ValueClass::Bit => {
            if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad("hex bytes");
            }
        }
        ValueClass::Timestamp { .. } => {
            let ok =
                text.split_once('.')
                    .map_or(text.bytes().all(|b| b.is_ascii_digit()), |(s, f)| {
                        s.bytes().all(|b| b.is_ascii_digit())
                            && f.bytes().all(|b| b.is_ascii_digit())
                    });
            if text.is_empty() || !ok {
                return bad("epoch seconds");
            }
        }
        ValueClass::Temporal { fraction_digits } => {
            if let Some((_, fraction)) = text.rsplit_once('.')
                && fraction.len() as u32 > fraction_digits
                && fraction.trim_end_matches('0').len() as u32 > fraction_digits
            {
                return bad("a time with that many fraction digits (it would be rounded)");
            }
            // db_b's permissive session would store a zero date for anything else.
            let shaped = text.bytes().any(|b| b.is_ascii_digit())
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b" -:.".contains(&b));
            if !shaped {
                return bad("a date or time");
            }
        }
        ValueClass::Float | ValueClass::Double => {
            if !text.parse::<f64>().is_ok_and(f64::is_finite) {
                return bad("a number");
            }
        }
        ValueClass::Text | ValueClass::CastText => {}
    }
    Ok(())
}
