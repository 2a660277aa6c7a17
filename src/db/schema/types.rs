//! Comparing column types between db_a and db_b: the same type (integer display widths
//! aside), or a widening every value of the old type survives.

use crate::domain::table::{TableSpec, charset_of, collation_pads_spaces};

/// Integer display widths differ between servers (`int(11)` / `int`): not a difference.
fn normalize(column_type: &str) -> String {
    let t = column_type.to_ascii_lowercase();
    // A ZEROFILL integer's width is how its values read (`00042`): it stays.
    if t.contains("zerofill") {
        return t;
    }
    for int in ["tinyint", "smallint", "mediumint", "int", "bigint"] {
        if let Some(rest) = t.strip_prefix(int)
            && rest.starts_with('(')
            && let Some(close) = rest.find(')')
        {
            return format!("{int}{}", &rest[close + 1..]);
        }
    }
    t
}

pub fn same_type(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

/// Parses `name(args) rest` into (`name`, args, `rest`).
fn split_type(t: &str) -> (String, Vec<String>, String) {
    let t = normalize(t);
    match (t.find('('), t.find(')')) {
        (Some(open), Some(close)) if open < close => (
            t[..open].to_string(),
            t[open + 1..close]
                .split(',')
                .map(|s| s.trim().to_string())
                .collect(),
            t[close + 1..].trim().to_string(),
        ),
        _ => {
            let mut parts = t.splitn(2, ' ');
            let name = parts.next().unwrap_or_default().to_string();
            (
                name,
                Vec::new(),
                parts.next().unwrap_or_default().trim().to_string(),
            )
        }
    }
}

const INTS: [&str; 5] = ["tinyint", "smallint", "mediumint", "int", "bigint"];
const TEXTS: [&str; 4] = ["tinytext", "text", "mediumtext", "longtext"];
const BLOBS: [&str; 4] = ["tinyblob", "blob", "mediumblob", "longblob"];

fn rank(list: &[&str], name: &str) -> Option<usize> {
    list.iter().position(|n| *n == name)
}

/// True when every value of type `old` fits in `new` unchanged: a longer string, a larger
/// integer of the same signedness (or signed, from unsigned: `int unsigned` → `bigint`),
/// more decimal digits on both sides of the point, more fraction digits, more bits, an
/// ENUM or SET with values added at the end, FLOAT to DOUBLE.
pub fn is_widening(old: &str, new: &str) -> bool {
    let (old_name, old_args, old_rest) = split_type(old);
    let (new_name, new_args, new_rest) = split_type(new);
    let number = |args: &[String], i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    match (old_name.as_str(), new_name.as_str()) {
        (o, n) if rank(&INTS, o).is_some() && rank(&INTS, n).is_some() => {
            let padded = old_rest.contains("zerofill");
            (old_rest == new_rest
                && rank(&INTS, o) <= rank(&INTS, n)
                && (!padded || number(&old_args, 0) <= number(&new_args, 0)))
                || (old_rest == "unsigned"
                    && new_rest.is_empty()
                    && rank(&INTS, o) < rank(&INTS, n))
        }
        ("bit", "bit") => number(&old_args, 0).unwrap_or(1) <= number(&new_args, 0).unwrap_or(1),
        ("varchar" | "char", "varchar")
        | ("char", "char")
        | ("varbinary" | "binary", "varbinary") => {
            old_rest == new_rest && number(&old_args, 0) <= number(&new_args, 0)
        }
        ("varchar" | "char", n) if rank(&TEXTS, n).is_some() => old_rest == new_rest,
        (o, n) if rank(&TEXTS, o).is_some() && rank(&TEXTS, n).is_some() => {
            old_rest == new_rest && rank(&TEXTS, o) <= rank(&TEXTS, n)
        }
        ("varbinary" | "binary", n) if rank(&BLOBS, n).is_some() => true,
        (o, n) if rank(&BLOBS, o).is_some() && rank(&BLOBS, n).is_some() => {
            rank(&BLOBS, o) <= rank(&BLOBS, n)
        }
        ("decimal", "decimal") => {
            let (p0, s0) = (
                number(&old_args, 0).unwrap_or(10),
                number(&old_args, 1).unwrap_or(0),
            );
            let (p1, s1) = (
                number(&new_args, 0).unwrap_or(10),
                number(&new_args, 1).unwrap_or(0),
            );
            old_rest == new_rest && s1 >= s0 && p1.saturating_sub(s1) >= p0.saturating_sub(s0)
        }
        ("float", "double") => old_rest == new_rest,
        ("datetime", "datetime") | ("time", "time") | ("timestamp", "timestamp") => {
            number(&old_args, 0).unwrap_or(0) <= number(&new_args, 0).unwrap_or(0)
        }
        ("enum", "enum") | ("set", "set") => {
            old_rest == new_rest && new_args.starts_with(&old_args)
        }
        _ => false,
    }
}

/// True when db_b's column type `central` already takes every value of db_a's `live` one
/// and reads it back the same: db_a narrowed a column (a shorter VARCHAR, a smaller
/// integer, an ENUM's last members gone, a DECIMAL with fewer digits before the point, fewer
/// bits: a BIT value reads back as its number at any width) and db_b's may stay as it is. Not for types whose values read differently at another size
/// (DECIMAL scale, fractions of seconds, BINARY padding, FLOAT to DOUBLE).
pub fn holds_alike(central: &str, live: &str) -> bool {
    // ZEROFILL pads to the width: any other width reads back otherwise.
    if central.to_ascii_lowercase().contains("zerofill")
        || live.to_ascii_lowercase().contains("zerofill")
    {
        return same_type(central, live);
    }
    let (central_name, central_args, _) = split_type(central);
    let (live_name, live_args, _) = split_type(live);
    let scale = |args: &[String]| args.get(1).and_then(|a| a.parse::<u64>().ok()).unwrap_or(0);
    let same_scale = central_name == "decimal"
        && live_name == "decimal"
        && scale(&central_args) == scale(&live_args);
    let strings = ["char", "varchar"];
    let in_family = |family: &[&str]| {
        let member = |name: &str| rank(family, name).is_some();
        member(&central_name) && member(&live_name)
    };
    let texts: Vec<&str> = strings.iter().chain(&TEXTS).copied().collect();
    let bytes: Vec<&str> = ["varbinary"].iter().chain(&BLOBS).copied().collect();
    let alike = in_family(&INTS)
        || in_family(&texts)
        || in_family(&bytes)
        || in_family(&["enum"])
        || in_family(&["set"])
        || in_family(&["bit"])
        || same_scale;
    alike && is_widening(live, central)
}

/// Where a character set stands among those that nest (each holds every character of the
/// ones before it); `None` for one outside the chain.
fn charset_rank(charset: &str) -> Option<usize> {
    const NESTED: [&str; 5] = ["ascii", "latin1", "utf8mb3", "utf8", "utf8mb4"];
    NESTED
        .iter()
        .position(|n| *n == charset)
        .map(|i| if charset == "utf8" { 2 } else { i })
}

/// Whether character set `theirs` holds every character of `ours`.
pub fn charset_holds(theirs: &str, ours: &str) -> bool {
    match (charset_rank(ours), charset_rank(theirs)) {
        (Some(ours), Some(theirs)) => ours <= theirs,
        _ => theirs == ours || theirs == "utf8mb4",
    }
}

/// How a key of db_b compares a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// In no key or unique index.
    None,
    /// In a unique index: db_b's collation may tell apart more strings than db_a's (it
    /// then refuses nothing db_a allows).
    Unique,
    /// In the primary key: db_b's collation must be db_a's, as the key names the row an
    /// image writes (`a` and `A` one row on db_a must be one row on db_b).
    Primary,
}

impl KeyUse {
    pub fn of(spec: &TableSpec, column: &str) -> KeyUse {
        if spec.is_key_column(column) {
            KeyUse::Primary
        } else if spec.in_unique_key(column) {
            KeyUse::Unique
        } else {
            KeyUse::None
        }
    }
}

/// Whether collation `theirs` (db_b's) tells apart every two strings `ours` (db_a's) does,
/// so a unique key in db_b refuses nothing db_a's allows: a binary collation that pads
/// with spaces where `ours` does too, or one that does not pad at all.
fn tells_apart_all(theirs: &str, ours: &str) -> bool {
    let pads = collation_pads_spaces;
    theirs.ends_with("_bin") && (!pads(theirs) || pads(ours))
}

/// Whether db_b's text column takes every value of db_a's: the same collation for a column
/// of the primary key, one telling apart at least as much for one of a unique index (it
/// decides which values are equal), a character set holding
/// db_a's (ascii < latin1 < utf8mb3 < utf8mb4, or the same), and — for a TEXT type in db_b —
/// bytes enough for the longest value once re-encoded.
///
/// Each side is (column type, collation); `None` for a column that holds no text.
pub fn holds_text(
    (their_type, their_collation): (&str, Option<&str>),
    (our_type, our_collation): (&str, Option<&str>),
    key: KeyUse,
) -> bool {
    let (Some(their_collation), Some(our_collation)) = (their_collation, our_collation) else {
        return true;
    };
    // `utf8_…` and `utf8mb3_…` name the same collation on different server versions.
    let same_collation =
        their_collation.replace("utf8mb3_", "utf8_") == our_collation.replace("utf8mb3_", "utf8_");
    let compared_alike =
        same_collation || key == KeyUse::Unique && tells_apart_all(their_collation, our_collation);
    if key != KeyUse::None && !compared_alike {
        return false;
    }
    let (theirs, ours) = (charset_of(their_collation), charset_of(our_collation));
    if !charset_holds(theirs, ours) {
        return false;
    }
    let text_limit = |t: &str| match t {
        "tinytext" => Some(255usize),
        "text" => Some(65_535),
        "mediumtext" => Some(16_777_215),
        _ => None,
    };
    let their_type = their_type.to_ascii_lowercase();
    let our_type = our_type.to_ascii_lowercase();
    let Some(limit) = text_limit(&their_type) else {
        return true;
    };
    // Bytes a character takes at most and at least in a character set.
    let bytes = |cs: &str| -> (usize, usize) {
        match cs {
            "utf8mb4" | "utf16" | "utf16le" => (4, if cs == "utf8mb4" { 1 } else { 2 }),
            "utf8mb3" | "utf8" => (3, 1),
            "ucs2" => (2, 2),
            "utf32" => (4, 4),
            _ => (1, 1),
        }
    };
    // TEXT to TEXT where every byte string of db_a's set is as long in db_b's (the same set,
    // ascii into an ASCII-compatible one, utf8mb3 into utf8mb4) or at most three times as
    // long (latin1 into UTF-8): the byte limits compare directly.
    let growth = match (ours, theirs) {
        (a, b) if a == b => Some(1),
        ("ascii", "latin1" | "utf8mb3" | "utf8" | "utf8mb4") => Some(1),
        ("utf8mb3" | "utf8", "utf8mb4") => Some(1),
        ("latin1", "utf8mb3" | "utf8" | "utf8mb4") => Some(3),
        _ => None,
    };
    if let (Some(growth), Some(our_limit)) = (growth, text_limit(&our_type)) {
        return our_limit * growth <= limit;
    }
    // The most characters db_a's column holds, each as long as it can be in db_b's set.
    let chars = crate::domain::fits::declared_width(&our_type).or_else(|| {
        let our_limit = text_limit(&our_type)?;
        Some(our_limit / bytes(ours).1)
    });
    chars.is_some_and(|chars| chars * bytes(theirs).0 <= limit)
}

#[cfg(test)]
mod tests;
